import { existsSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { CAPTURE_FILES } from '@agenttap/jsonl-io'

/** The proxy's all-flows directory under a log root. */
const CAPTURE_DIR = 'all-mitm-sse'
const SIBLINGS = [CAPTURE_FILES.flows, CAPTURE_FILES.flowEnds] as const

/**
 * Default log root: `AGENTTAP_LOG_DIR`, else `~/centralized-logs`.
 *
 * @example defaultLogDir({ AGENTTAP_LOG_DIR: '/data/agenttap' }) // '/data/agenttap'
 */
export function defaultLogDir(env: NodeJS.ProcessEnv = process.env): string {
  const d = env['AGENTTAP_LOG_DIR']
  return d && d !== '' ? resolve(d) : join(homedir(), 'centralized-logs')
}

/**
 * Resolves what to read: a file as given; a directory holding `sse_lines.jsonl` → that file; a
 * log root → `<root>/all-mitm-sse/sse_lines.jsonl`; nothing → the default log root's.
 * With `siblings`, `sse_flows.jsonl` / `sse_flow_ends.jsonl` next to an `sse_lines.jsonl` are
 * read too (client, URL, outcome and duration live there), when they exist (when following
 * `all-mitm-sse/`, also when they do not exist yet). A path that does not exist and does not end
 * in `.jsonl` is taken as a log root that has not been created yet.
 *
 * @example resolveSourceFiles('~/centralized-logs') // […/all-mitm-sse/sse_lines.jsonl, …/sse_flows.jsonl, …/sse_flow_ends.jsonl]
 */
export function resolveSourceFiles(path: string | undefined, opts: { logDir?: string; siblings?: boolean; follow?: boolean } = {}): string[] {
  let file: string
  if (path === undefined) file = join(opts.logDir ?? defaultLogDir(), CAPTURE_DIR, CAPTURE_FILES.lines)
  else {
    const p = resolve(path)
    let isDir = false
    try {
      isDir = statSync(p).isDirectory()
    } catch {
      isDir = false
    }
    if (isDir) file = existsSync(join(p, CAPTURE_FILES.lines)) ? join(p, CAPTURE_FILES.lines) : join(p, CAPTURE_DIR, CAPTURE_FILES.lines)
    else if (!existsSync(p) && basename(p) !== CAPTURE_FILES.lines && !p.endsWith('.jsonl')) {
      // A log root that does not exist yet (the proxy has not run): its all-flows file.
      file = join(p, CAPTURE_DIR, CAPTURE_FILES.lines)
    } else file = p
  }
  const files = [file]
  if (opts.siblings !== false && basename(file) === CAPTURE_FILES.lines) {
    for (const s of SIBLINGS) {
      const f = join(dirname(file), s)
      // Following the proxy's all-flows directory: its siblings may appear later, wait for them.
      if (existsSync(f) || (opts.follow === true && basename(dirname(file)) === CAPTURE_DIR)) files.push(f)
    }
  }
  return files
}
