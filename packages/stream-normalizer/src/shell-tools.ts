import type { ToolCallKind } from './types.js'

/**
 * The shell-tool vocabulary: tool names whose arguments carry a shell command line. Claude Code
 * `Bash`; Codex `shell` (`{"command":["bash","-lc","…"]}`), `shell_command` (`{"command":"…"}`),
 * `exec_command` (`{"cmd":"…"}`), `local_shell` (a `local_shell_call` item's
 * `action.command`), `container.exec`; Gemini CLI `run_shell_command`; and the common names
 * other agents use. Compared case-insensitively.
 */
export const SHELL_TOOL_NAMES: readonly string[] = [
  'bash',
  'shell',
  'shell_command',
  'exec_command',
  'local_shell',
  'container.exec',
  'run_shell_command',
  'run_terminal_cmd',
  'execute_command',
]

/** Shell binaries whose `-c` (`-lc`, `-ic`, …) argument is a script: `["bash","-lc","ls"]` is the command `ls`. */
export const SHELL_BINARIES: readonly string[] = ['bash', 'sh', 'zsh', 'dash', 'ksh', 'fish']

const NAMES = new Set(SHELL_TOOL_NAMES)
const BINARIES = new Set(SHELL_BINARIES)
/** -c, -lc, -ic, -lic, …: the flag whose next argument is the script. */
const SCRIPT_FLAG = /^-[a-zA-Z]*c$/

/**
 * Whether a tool call is a shell tool: by name (see {@link SHELL_TOOL_NAMES}) or by kind
 * (`local_shell`).
 */
export function isShellTool(name: string, kind?: ToolCallKind): boolean {
  return kind === 'local_shell' || NAMES.has(name.toLowerCase())
}

/** A shell command found in a tool call's arguments. */
export interface ShellCommand {
  /** The command as a user would type it: the script of `bash -lc "…"`, a string command as is, another argv joined and quoted. */
  command: string
  /** Working directory, when the arguments give one (`workdir`, `working_directory`, `cwd`, `directory`). */
  workdir?: string
  /** The shell binary when the command came as `[shell, -c, script]`. */
  shell?: string
}

/** Quotes one argv element the way a POSIX shell would need it. */
function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * The command line of an argv: `["bash","-lc","ls -la"]` → `ls -la` (also `sh -c`, `zsh -lc`, a
 * binary given by path), any other argv joined with spaces and quoted where a shell would need it.
 * `undefined` when the argv holds no string.
 *
 * @example argvToCommand(['bash', '-lc', 'npm test']) // 'npm test'
 * @example argvToCommand(['rg', '-n', 'a b']) // "rg -n 'a b'"
 */
export function argvToCommand(argv: readonly unknown[]): { command: string; shell?: string } | undefined {
  const parts = argv.filter((x): x is string => typeof x === 'string')
  if (parts.length === 0) return undefined
  const bin = (parts[0] as string).slice((parts[0] as string).lastIndexOf('/') + 1)
  if (BINARIES.has(bin) && parts.length === 3 && SCRIPT_FLAG.test(parts[1] as string)) return { command: parts[2] as string, shell: bin }
  return { command: parts.map(shQuote).join(' ') }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/**
 * The shell command of a tool call, when it is one. `args` is the call's arguments, parsed or as
 * the JSON text the model sent (a `local_shell` call's arguments are its `action` object).
 * A string `command` / `cmd` counts only for shell tools (an arbitrary tool's `command` field is
 * not a shell line); an argv `command` starting with a shell binary and a `-c` flag counts for
 * any tool.
 *
 * @param name - tool name
 * @param kind - tool call kind (`local_shell` is a shell tool whatever its name)
 * @param args - parsed arguments, or their JSON text
 * @example
 * shellCommandOf('shell', 'function', '{"command":["bash","-lc","ls"],"workdir":"/repo"}') // { command: 'ls', workdir: '/repo', shell: 'bash' }
 * shellCommandOf('exec_command', 'function', { cmd: 'npm test' }) // { command: 'npm test' }
 */
export function shellCommandOf(name: string, kind: ToolCallKind | undefined, args: unknown): ShellCommand | undefined {
  let a = args
  if (typeof a === 'string') {
    if (a.length === 0 || a.charCodeAt(0) !== 0x7b) return undefined
    try {
      a = JSON.parse(a)
    } catch {
      return undefined
    }
  }
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return undefined
  const o = a as Record<string, unknown>
  const shellTool = isShellTool(name, kind)
  const raw = o['command'] ?? o['cmd']
  let found: { command: string; shell?: string } | undefined
  if (Array.isArray(raw)) {
    const argv = argvToCommand(raw)
    if (argv !== undefined && (shellTool || argv.shell !== undefined)) found = argv
  } else if (shellTool) {
    const s = str(raw)
    if (s !== undefined) found = { command: s }
  }
  if (found === undefined) return undefined
  const out: ShellCommand = { command: found.command }
  const workdir = str(o['workdir']) ?? str(o['working_directory']) ?? str(o['cwd']) ?? str(o['directory'])
  if (workdir !== undefined) out.workdir = workdir
  if (found.shell !== undefined) out.shell = found.shell
  return out
}
