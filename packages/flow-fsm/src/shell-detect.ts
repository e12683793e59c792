import { SHELL_BINARIES as SHELL_BINARY_NAMES, SHELL_TOOL_NAMES } from '@agenttap/stream-normalizer'

/**
 * Tool names whose `{"command":"…"}` / `{"cmd":"…"}` string argument is a shell command line:
 * stream-normalizer's shell-tool vocabulary (`SHELL_TOOL_NAMES`: Claude Code `Bash`, Codex
 * `shell` / `shell_command` / `exec_command` / `local_shell`, and the common names other agents
 * use). Compared case-insensitively.
 */
export const DEFAULT_SHELL_TOOLS: readonly string[] = SHELL_TOOL_NAMES

const SHELL_BINARIES = new Set(SHELL_BINARY_NAMES)
// -c, -lc, -ic, -lic, … : the flag whose next argument is the script
const SCRIPT_FLAG = /^-[a-zA-Z]*c$/

/** How the command is laid out in the arguments. */
export type ShellForm =
  /** `{"command":"ls -la"}` / `{"cmd":"…"}`: one string. */
  | 'string'
  /** `{"command":["bash","-lc","ls -la"]}`: the script is the third element. */
  | 'shell_argv'
  /** `{"command":["ls","-la"]}`: a plain argv, shown joined by spaces. */
  | 'argv'

/** Verdict on an argument prefix. */
export type ShellDetection =
  | { state: 'undecided' }
  | { state: 'not_shell' }
  /** `pos`: index just after the opening quote of the first string to render. */
  | { state: 'shell'; form: ShellForm; pos: number; shell?: string }
  /**
   * `command` is an array starting with a shell binary (`["bash"`…): a shell command for sure,
   * but the script has not started yet. `pos` is the first element (for the plain-argv fallback).
   */
  | { state: 'likely_shell'; pos: number; shell: string }

const WS = new Set([' ', '\n', '\r', '\t'])

/** Index after the JSON string starting at `i` (a quote), or -1 when the string is incomplete. */
function stringEnd(raw: string, i: number): number {
  for (let j = i + 1; j < raw.length; j++) {
    const c = raw.charCodeAt(j)
    if (c === 0x5c) j++
    else if (c === 0x22) return j + 1
  }
  return -1
}

function readString(raw: string, i: number): { value: string; end: number } | null | undefined {
  const end = stringEnd(raw, i)
  if (end === -1) return null
  try {
    return { value: JSON.parse(raw.slice(i, end)) as string, end }
  } catch {
    return undefined
  }
}

/** Index after the JSON value starting at `i`, or -1 when it is incomplete. */
function valueEnd(raw: string, i: number): number {
  const c = raw[i]
  if (c === '"') return stringEnd(raw, i)
  if (c === '{' || c === '[') {
    let depth = 0
    for (let j = i; j < raw.length; j++) {
      const d = raw[j]
      if (d === '"') {
        const e = stringEnd(raw, j)
        if (e === -1) return -1
        j = e - 1
      } else if (d === '{' || d === '[') depth++
      else if (d === '}' || d === ']') {
        depth--
        if (depth === 0) return j + 1
      }
    }
    return -1
  }
  for (let j = i; j < raw.length; j++) {
    const d = raw[j] as string
    if (d === ',' || d === '}' || d === ']' || WS.has(d)) return j
  }
  return -1
}

/**
 * Decides from a prefix of a tool call's JSON arguments whether the call is a shell command,
 * and where the command text starts. `complete` says the prefix is the whole arguments text
 * (then nothing stays undecided). A string `command`/`cmd` counts only for shell tool names
 * (a `command` field of an arbitrary tool is not a shell line); `command: ["bash","-lc",…]` and
 * `["sh","-c",…]`, `["zsh","-lc",…]` count for any tool.
 */
export function detectShell(
  name: string,
  raw: string,
  complete: boolean,
  shellTools: ReadonlySet<string>,
): ShellDetection {
  const undecided: ShellDetection = complete ? { state: 'not_shell' } : { state: 'undecided' }
  const shellName = shellTools.has(name.toLowerCase())
  const n = raw.length
  let i = 0
  const skipWs = () => {
    while (i < n && WS.has(raw[i] as string)) i++
  }
  skipWs()
  if (i >= n) return undecided
  if (raw[i] !== '{') return { state: 'not_shell' }
  i++
  let first = true
  for (;;) {
    skipWs()
    if (i >= n) return undecided
    const c = raw[i]
    if (c === '}') return { state: 'not_shell' }
    if (c === ',') {
      i++
      continue
    }
    if (c !== '"') return { state: 'not_shell' }
    const key = readString(raw, i)
    if (key === null) return undecided
    if (key === undefined) return { state: 'not_shell' }
    i = key.end
    skipWs()
    if (i >= n) return undecided
    if (raw[i] !== ':') return { state: 'not_shell' }
    i++
    skipWs()
    if (i >= n) return undecided
    if (key.value === 'command' || key.value === 'cmd') {
      const v = raw[i]
      if (v === '"' && shellName) return { state: 'shell', form: 'string', pos: i + 1 }
      if (v === '[') {
        const arr = detectArgv(raw, i + 1, shellName)
        if (!complete) return arr
        if (arr.state === 'undecided') return { state: 'not_shell' }
        // Complete arguments whose script never started: show the argv as it is.
        if (arr.state === 'likely_shell') return { state: 'shell', form: 'argv', pos: arr.pos }
        return arr
      }
    } else if (first && !shellName) {
      // Only shell tools put their command after other keys; for anything else the first key decides.
      return { state: 'not_shell' }
    }
    first = false
    const end = valueEnd(raw, i)
    if (end === -1) return undecided
    i = end
  }
}

function detectArgv(raw: string, start: number, shellName: boolean): ShellDetection {
  const n = raw.length
  let i = start
  const skipWs = () => {
    while (i < n && WS.has(raw[i] as string)) i++
  }
  skipWs()
  if (i >= n) return { state: 'undecided' }
  if (raw[i] !== '"') return { state: 'not_shell' }
  const firstPos = i + 1
  const e0 = readString(raw, i)
  if (e0 === null) return { state: 'undecided' }
  if (e0 === undefined) return { state: 'not_shell' }
  const bin = e0.value.slice(e0.value.lastIndexOf('/') + 1)
  if (!SHELL_BINARIES.has(bin)) {
    return shellName ? { state: 'shell', form: 'argv', pos: firstPos } : { state: 'not_shell' }
  }
  const likely: ShellDetection = { state: 'likely_shell', pos: firstPos, shell: bin }
  i = e0.end
  skipWs()
  if (i >= n) return likely
  if (raw[i] !== ',') return { state: 'shell', form: 'argv', pos: firstPos }
  i++
  skipWs()
  if (i >= n) return likely
  if (raw[i] !== '"') return { state: 'shell', form: 'argv', pos: firstPos }
  const e1 = readString(raw, i)
  if (e1 === null) return likely
  if (e1 === undefined || !SCRIPT_FLAG.test(e1.value)) return { state: 'shell', form: 'argv', pos: firstPos }
  i = e1.end
  skipWs()
  if (i >= n) return likely
  if (raw[i] !== ',') return { state: 'shell', form: 'argv', pos: firstPos }
  i++
  skipWs()
  if (i >= n) return likely
  if (raw[i] !== '"') return { state: 'shell', form: 'argv', pos: firstPos }
  return { state: 'shell', form: 'shell_argv', pos: i + 1, shell: bin }
}
