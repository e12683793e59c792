import { readdirSync, statSync, type Stats } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { CAPTURE_FILES } from './types.js'

/** The capture directory under a log root: `<log root>/all-mitm-sse/`. */
export const CAPTURE_DIR = 'all-mitm-sse'

/**
 * The per-agent views under a log root, by the `client` of the flow record: each holds an
 * `sse_lines.jsonl` with the `sse` / `client_frame` records of that agent's flows.
 */
export const CLIENT_DIRS: Readonly<Record<string, string>> = { 'claude-code': 'claude', codex: 'codex' }

/**
 * The default log root: `$AGENTTAP_LOG_DIR` when set and not empty, else `~/centralized-logs`.
 *
 * @example
 * defaultLogRoot({ AGENTTAP_LOG_DIR: '/var/log/agenttap' }) // '/var/log/agenttap'
 */
export function defaultLogRoot(env: NodeJS.ProcessEnv = process.env): string {
  const d = env['AGENTTAP_LOG_DIR']
  return d !== undefined && d !== '' ? resolve(d) : join(homedir(), 'centralized-logs')
}

/** Which canonical file a name is: `sse_lines.jsonl` and its rotated copies are `lines`, … */
export type CaptureFileKind = 'flows' | 'lines' | 'ends'

/** What {@link resolveCapture} found. */
export interface CaptureLayout {
  /**
   * What the path was: `root` (a log root holding `all-mitm-sse/`, or one that does not exist
   * yet), `capture` (a directory holding the capture files directly, e.g. `all-mitm-sse/`),
   * `client` (a per-agent view such as `<root>/claude/`), `file` (a single JSONL file).
   */
  kind: 'root' | 'capture' | 'client' | 'file'
  /** The log root, when the path is or sits in one (the parent of `all-mitm-sse/` or of a client dir). */
  root: string | undefined
  /** The directory the capture files are in (`<root>/all-mitm-sse`, the client dir, or the file's directory). */
  dir: string
  /** Where the proxy appends now: `<dir>/sse_flows.jsonl`, … (whether they exist or not). */
  live: Record<CaptureFileKind, string>
  /** The body directory, `<dir>/sse_logs`. */
  rawDir: string
  /** Existing files of each kind, rotated copies first (oldest first), the live file last. */
  files: Record<CaptureFileKind, string[]>
  /** Every existing file to read, in the order a reader should take them: flows, lines, ends (each oldest first); a single file for `file`. */
  all: string[]
  /** Per-agent views that exist under the root: client dir name (`claude`, `codex`) → its `sse_lines.jsonl`. */
  clients: Record<string, string>
  /** Total bytes of `all`. */
  bytes: number
}

const BASES: Record<CaptureFileKind, string> = { flows: CAPTURE_FILES.flows, lines: CAPTURE_FILES.lines, ends: CAPTURE_FILES.flowEnds }

const STEM_RE: Record<CaptureFileKind, RegExp> = {
  flows: /^sse_flows(?:\.jsonl\.(\d+)|\.(\d+)\.jsonl)$/,
  lines: /^sse_lines(?:\.jsonl\.(\d+)|\.(\d+)\.jsonl)$/,
  ends: /^sse_flow_ends(?:\.jsonl\.(\d+)|\.(\d+)\.jsonl)$/,
}

function statOf(p: string): Stats | undefined {
  try {
    return statSync(p)
  } catch {
    return undefined
  }
}

/**
 * The kind of a capture file name: the live name (`sse_lines.jsonl`) or a rotated copy
 * (`sse_lines.jsonl.1`, `sse_lines.1.jsonl`; a higher number is older), with its rotation
 * number (0 for the live file). `undefined` for any other name.
 */
export function captureFileKind(name: string): { kind: CaptureFileKind; rotation: number } | undefined {
  for (const kind of ['flows', 'lines', 'ends'] as const) {
    if (name === BASES[kind]) return { kind, rotation: 0 }
    const m = STEM_RE[kind].exec(name)
    if (m) return { kind, rotation: Number(m[1] ?? m[2]) }
  }
  return undefined
}

function filesIn(dir: string, only?: CaptureFileKind): Record<CaptureFileKind, string[]> {
  const out: Record<CaptureFileKind, Array<{ p: string; r: number }>> = { flows: [], lines: [], ends: [] }
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    names = []
  }
  for (const n of names) {
    const k = captureFileKind(n)
    if (!k || (only !== undefined && k.kind !== only)) continue
    const p = join(dir, n)
    if (statOf(p)?.isFile()) out[k.kind].push({ p, r: k.rotation })
  }
  const sorted = (xs: Array<{ p: string; r: number }>): string[] => xs.sort((a, b) => (a.r === 0 ? 1 : b.r === 0 ? -1 : b.r - a.r)).map((x) => x.p)
  return { flows: sorted(out.flows), lines: sorted(out.lines), ends: sorted(out.ends) }
}

function hasCaptureFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => captureFileKind(n) !== undefined)
  } catch {
    return false
  }
}

function clientsOf(root: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (root === undefined) return out
  for (const d of new Set(Object.values(CLIENT_DIRS))) {
    const f = join(root, d, CAPTURE_FILES.lines)
    if (statOf(f)?.isFile()) out[d] = f
  }
  return out
}

/**
 * Finds a capture on disk, given whatever a user points at: a log root (`~/centralized-logs`,
 * holding `all-mitm-sse/`), a capture directory (`…/all-mitm-sse/`, or any directory holding the
 * capture files), a per-agent view (`<root>/claude/`), a single file, or nothing (the default
 * log root, {@link defaultLogRoot}). Rotated copies (`sse_lines.jsonl.1`, `sse_lines.1.jsonl`)
 * are listed oldest first before the live file. A path that does not exist is a log root not
 * created yet (or, ending in `.jsonl`, a file not created yet): `live` still says where the
 * files will be, for a reader that waits for them. Nothing is opened; nothing throws.
 *
 * @example
 * const cap = resolveCapture('/home/me/centralized-logs')
 * cap.dir            // '/home/me/centralized-logs/all-mitm-sse'
 * cap.files.lines    // ['…/sse_lines.jsonl.2', '…/sse_lines.jsonl.1', '…/sse_lines.jsonl']
 * cap.live.lines     // '…/all-mitm-sse/sse_lines.jsonl' (follow this one)
 */
export function resolveCapture(pathOrRoot?: string, opts: { env?: NodeJS.ProcessEnv } = {}): CaptureLayout {
  const p = pathOrRoot === undefined || pathOrRoot === '' ? defaultLogRoot(opts.env) : resolve(pathOrRoot)
  const st = statOf(p)
  let kind: CaptureLayout['kind']
  let root: string | undefined
  let dir: string
  if (st?.isFile() || (!st && p.endsWith('.jsonl'))) {
    kind = 'file'
    dir = dirname(p)
    root = basename(dir) === CAPTURE_DIR ? dirname(dir) : undefined
  } else if (st?.isDirectory() && statOf(join(p, CAPTURE_DIR))?.isDirectory()) {
    kind = 'root'
    root = p
    dir = join(p, CAPTURE_DIR)
  } else if ((st?.isDirectory() || !st) && basename(p) === CAPTURE_DIR) {
    // Named like a capture dir: one, whether or not the proxy has created it yet (never
    // `<p>/all-mitm-sse/all-mitm-sse`).
    kind = 'capture'
    dir = p
    root = dirname(p)
  } else if (st?.isDirectory() && hasCaptureFiles(p)) {
    const parent = dirname(p)
    const client = Object.values(CLIENT_DIRS).includes(basename(p)) && !statOf(join(p, CAPTURE_FILES.flows))
    kind = client ? 'client' : 'capture'
    dir = p
    root = client ? parent : undefined
  } else {
    // An empty directory or one that does not exist yet: a log root the proxy will fill.
    kind = 'root'
    root = p
    dir = join(p, CAPTURE_DIR)
  }
  const live = { flows: join(dir, CAPTURE_FILES.flows), lines: join(dir, CAPTURE_FILES.lines), ends: join(dir, CAPTURE_FILES.flowEnds) }
  let files: Record<CaptureFileKind, string[]>
  let all: string[]
  if (kind === 'file') {
    const k = captureFileKind(basename(p))
    files = { flows: [], lines: [], ends: [] }
    if (st && k) files[k.kind] = [p]
    all = st ? [p] : []
  } else {
    files = filesIn(dir, kind === 'client' ? 'lines' : undefined)
    all = [...files.flows, ...files.lines, ...files.ends]
  }
  let bytes = 0
  for (const f of all) bytes += statOf(f)?.size ?? 0
  return { kind, root, dir, live, rawDir: join(dir, CAPTURE_FILES.rawDir), files, all, clients: clientsOf(root), bytes }
}
