/**
 * The divergence report: one JSON line per request that left the capture, and a summary line when
 * the server closes. Written as it happens (appended), so a run that is killed keeps what it saw.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ReplayError } from './errors.js'
import type { DivergenceEntry, ReplayCapture, ReplaySummary } from './types.js'

/** Where the report goes by default: beside the capture (`<capture dir>/replay-divergences.jsonl`, or `<file>.replay-divergences.jsonl`). */
export function defaultReportPath(capture: Pick<ReplayCapture, 'dir' | 'file'>): string {
  if (capture.file !== undefined) return capture.file.replace(/\.jsonl$/, '') + '.replay-divergences.jsonl'
  return join(capture.dir, 'replay-divergences.jsonl')
}

/** A report file, started empty (a run without divergence leaves an empty report and its summary). */
export interface DivergenceReport {
  readonly path: string
  add(entry: DivergenceEntry | ReplaySummary): void
}

export function createDivergenceReport(path: string, onError: (e: ReplayError) => void): DivergenceReport {
  let ok = true
  const fail = (err: unknown): void => {
    if (!ok) return
    ok = false
    onError(new ReplayError('REPORT_FAILED', `could not write the divergence report ${path}: ${(err as Error).message}`, { file: path, cause: err }))
  }
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, '', { mode: 0o600 })
  } catch (err) {
    fail(err)
  }
  return {
    path,
    add(entry) {
      if (!ok) return
      try {
        appendFileSync(path, `${JSON.stringify(entry)}\n`)
      } catch (err) {
        fail(err)
      }
    },
  }
}
