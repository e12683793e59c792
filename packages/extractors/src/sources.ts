import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CAPTURE_FILES } from '@agenttap/jsonl-io'
import { ExtractError } from './errors.js'

/** Which canonical file a view reads. */
export type SourceKind = 'flows' | 'lines' | 'ends'

/** The capture files found under a log dir (rotated siblings included, oldest first). */
export interface CaptureFiles {
  /** The directory that holds the files (`<root>/all-mitm-sse` or the dir itself). */
  dir: string
  flows: string[]
  lines: string[]
  ends: string[]
  /** Total bytes of all files. */
  bytes: number
}

const BASE: Record<SourceKind, string> = { flows: CAPTURE_FILES.flows, lines: CAPTURE_FILES.lines, ends: CAPTURE_FILES.flowEnds }

/**
 * Finds the capture files of a log root (`<root>/all-mitm-sse/…`) or of a capture dir. Rotated
 * files (`sse_lines.jsonl.1`, `sse_lines.1.jsonl`) are read too.
 * @throws ExtractError `LOG_DIR_MISSING` when the dir does not exist, `NO_CAPTURES` when it holds no capture file.
 */
export function findCaptureFiles(logDir: string): CaptureFiles {
  const root = resolve(logDir)
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ExtractError('LOG_DIR_MISSING', `log dir ${root} does not exist; pass --log-dir <dir> (the proxy's log root, default ~/centralized-logs) or set AGENTTAP_LOG_DIR`)
  }
  const sub = join(root, 'all-mitm-sse')
  const dir = existsSync(join(sub)) && statSync(sub).isDirectory() ? sub : root
  const names = readdirSync(dir)
  const out: CaptureFiles = { dir, flows: [], lines: [], ends: [], bytes: 0 }
  for (const kind of ['flows', 'lines', 'ends'] as const) {
    const base = BASE[kind]
    const stem = base.replace(/\.jsonl$/, '')
    const rotated = names
      .map((n) => {
        const m = new RegExp(`^${stem}(?:\\.jsonl\\.(\\d+)|\\.(\\d+)\\.jsonl)$`).exec(n)
        return m ? { n, k: Number(m[1] ?? m[2]) } : undefined
      })
      .filter((x): x is { n: string; k: number } => x !== undefined)
      .sort((a, b) => b.k - a.k) // .3 is older than .1
      .map((x) => join(dir, x.n))
    const files = [...rotated, ...(names.includes(base) ? [join(dir, base)] : [])].filter((f) => statSync(f).isFile())
    for (const f of files) out.bytes += statSync(f).size
    out[kind] = files
  }
  if (out.flows.length + out.lines.length + out.ends.length === 0) {
    throw new ExtractError('NO_CAPTURES', `no capture files in ${dir}: expected ${CAPTURE_FILES.flows}, ${CAPTURE_FILES.lines} or ${CAPTURE_FILES.flowEnds} (is the proxy writing to another --log-dir?)`)
  }
  if (out.bytes === 0) throw new ExtractError('NO_CAPTURES', `the capture files in ${dir} are empty: nothing was captured yet`)
  return out
}

/** Normalizes a `--since` / `--until` value to the ISO form `ts` uses, so string compare is time order. */
export function isoInstant(value: string, flag: string): string {
  const rel = /^(\d+)\s*(s|m|h|d|w)$/.exec(value.trim())
  if (rel) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[rel[2] as 's' | 'm' | 'h' | 'd' | 'w']
    const t = Date.now() - Number(rel[1]) * unit
    // Dates end at ±8.64e15 ms (year 275760): a longer age is no date at all.
    if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) {
      throw new ExtractError('BAD_FILTER', `${flag} ${JSON.stringify(value)} reaches back before any date JavaScript can represent; use a smaller age (e.g. 365d) or an ISO date`)
    }
    return new Date(t).toISOString()
  }
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new ExtractError('BAD_FILTER', `${flag} ${JSON.stringify(value)} is not a date; expected ISO-8601 (2026-01-31, 2026-01-31T10:00:00Z) or a relative age (30m, 2h, 7d)`)
  return new Date(t).toISOString()
}

