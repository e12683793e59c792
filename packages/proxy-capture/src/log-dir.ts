import { accessSync, chmodSync, constants, mkdirSync, readdirSync, statSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { CLIENT_DIRS, resolveCapture } from '@agenttap/jsonl-io'
import { ProxyCaptureError } from './errors.js'

/** What {@link secureLogDir} changed. */
export interface LogDirReport {
  /** Paths whose mode was too open and was made private (`path: 0666 → 0600`). */
  fixed: string[]
}

function statOf(p: string): Stats | undefined {
  try {
    return statSync(p)
  } catch {
    return undefined
  }
}

/**
 * Checks a log directory the proxy is about to append captured traffic to, before it writes
 * anything: the log root, `all-mitm-sse/`, `sse_logs/` and the client views. A directory or
 * file owned by another user is refused (`LOG_DIR_UNSAFE`: that user could read or swap what
 * is written); directories and files other users may read or write (e.g. 0777 / 0666 left by
 * an older tool) are made private (0700 / 0600), and the report lists what was changed so the
 * caller can say so. Symbolic links are judged by what they point to.
 *
 * @example
 * const { fixed } = secureLogDir('/home/me/centralized-logs')
 * for (const f of fixed) log.warn(`made private: ${f}`)
 */
export function secureLogDir(logDir: string): LogDirReport {
  const layout = resolveCapture(logDir)
  const uid = process.getuid?.()
  const fixed: string[] = []
  const root = layout.root
  const clientDirs = root === undefined ? [] : Object.values(CLIENT_DIRS).map((d) => join(root, d))
  const dirs = [...new Set([...(root === undefined ? [] : [root]), layout.dir, layout.rawDir, ...clientDirs])]

  const check = (path: string, st: Stats, want: number): void => {
    if (uid !== undefined && st.uid !== uid) {
      throw new ProxyCaptureError(
        'LOG_DIR_UNSAFE',
        `refusing to write the capture into ${path}: it belongs to user ${st.uid}, not to you (${uid}), who could read or replace what is written; pass a --log-dir of your own (or fix its owner)`,
        { file: path },
      )
    }
    const mode = st.mode & 0o777
    if ((mode & 0o077) !== 0) {
      chmodSync(path, want)
      fixed.push(`${path}: ${mode.toString(8).padStart(4, '0')} → ${want.toString(8).padStart(4, '0')}`)
    }
  }

  for (const dir of dirs) {
    const st = statOf(dir)
    if (!st) continue
    // The log root itself may be a user's shared directory: only its owner is checked, not its mode.
    if (dir === layout.root && dir !== layout.dir) {
      if (uid !== undefined && st.uid !== uid) check(dir, st, 0o700)
      continue
    }
    check(dir, st, 0o700)
    let names: string[] = []
    try {
      names = readdirSync(dir)
    } catch {
      names = []
    }
    for (const n of names) {
      const p = join(dir, n)
      const fst = statOf(p)
      if (!fst || fst.isDirectory()) continue
      check(p, fst, 0o600)
    }
  }
  return { fixed }
}

/**
 * Makes sure the proxy can write a capture under `logDir` before it listens: the path is a
 * directory (or can be created as one), not a capture file, not a shared sticky directory such
 * as `/tmp` itself, and the capture directory can be written. Creates the capture directory
 * (0700). Throws `LOG_DIR_INVALID` (a usage mistake) saying what is wrong with the path.
 *
 * @returns the capture directory
 * @example
 * prepareLogDir('/home/me/centralized-logs') // "/home/me/centralized-logs/all-mitm-sse"
 */
export function prepareLogDir(logDir: string): string {
  const layout = resolveCapture(logDir)
  const invalid = (why: string, cause?: unknown): ProxyCaptureError =>
    new ProxyCaptureError('LOG_DIR_INVALID', `--log-dir ${logDir}: ${why}`, { file: logDir, ...(cause !== undefined ? { cause } : {}) })
  if (layout.kind === 'file') throw invalid('is a file; the proxy writes a capture into a directory (give its parent or another directory)')
  const shared = (p: string | undefined): boolean => p !== undefined && ((statOf(p)?.mode ?? 0) & 0o1000) !== 0
  if (shared(layout.dir)) throw invalid(`${layout.dir} is a shared directory (sticky bit, like /tmp): give a directory of your own inside it`)
  try {
    makeDirs(layout.dir)
  } catch (e) {
    throw invalid(`cannot create ${layout.dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, e)
  }
  if (!statOf(layout.dir)?.isDirectory()) throw invalid(`${layout.dir} is not a directory`)
  try {
    accessSync(layout.dir, constants.W_OK | constants.X_OK)
  } catch (e) {
    throw invalid(`cannot write into ${layout.dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, e)
  }
  return layout.dir
}

/**
 * `mkdir -p` one level at a time: Node's `mkdirSync(…, { recursive: true })` never returns for a
 * path under /proc (mkdir answers ENOENT there while the parent exists), which would spin a core.
 */
function makeDirs(dir: string): void {
  const missing: string[] = []
  let d = dir
  while (statOf(d) === undefined) {
    missing.push(d)
    const up = dirname(d)
    if (up === d) break
    d = up
  }
  for (const m of missing.reverse()) mkdirSync(m, { mode: 0o700 })
}
