import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { CAPTURE_FILES, resolveCapture } from '@agenttap/jsonl-io'
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

/**
 * Finds the capture files of a log root (`<root>/all-mitm-sse/…`) or of a capture dir, through
 * jsonl-io's `resolveCapture` (the one owner of the capture layout): rotated files
 * (`sse_lines.jsonl.1`, `sse_lines.1.jsonl`) are read too, oldest first.
 * @throws ExtractError `LOG_DIR_MISSING` when the dir does not exist, `NO_CAPTURES` when it holds no capture file.
 */
export function findCaptureFiles(logDir: string): CaptureFiles {
  const given = resolve(logDir)
  if (!existsSync(given) || !statSync(given).isDirectory()) {
    throw new ExtractError('LOG_DIR_MISSING', `log dir ${given} does not exist; pass --log-dir <dir> (the proxy's log root, default ~/centralized-logs) or set AGENTTAP_LOG_DIR`)
  }
  const layout = resolveCapture(given)
  const out: CaptureFiles = { dir: layout.dir, flows: layout.files.flows, lines: layout.files.lines, ends: layout.files.ends, bytes: layout.bytes }
  if (out.flows.length + out.lines.length + out.ends.length === 0) {
    throw new ExtractError('NO_CAPTURES', `no capture files in ${layout.dir}: expected ${CAPTURE_FILES.flows}, ${CAPTURE_FILES.lines} or ${CAPTURE_FILES.flowEnds} (is the proxy writing to another --log-dir?)`)
  }
  if (out.bytes === 0) throw new ExtractError('NO_CAPTURES', `the capture files in ${layout.dir} are empty: nothing was captured yet`)
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

