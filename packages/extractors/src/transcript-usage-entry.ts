/**
 * `@agenttap/extractors/transcript-usage`: `daily`, `usage` and `cost` over transcripts as NDJSON
 * from the usage summary (transcript-usage.ts) — what `createTranscriptExtractor(...).run(mode,
 * { ndjson… })` answers — without loading the rest of the package (DuckDB, the SQL modes, the
 * wire index): for a CLI whose warm run is mostly the start of the process (issue 19). The
 * summary is brought up to date (the new bytes read) exactly as the extractor does.
 */
import { BUNDLED_PRICES } from './prices.js'
import { ledgerBuild } from './ledger-module.js'
import { MODES } from './modes.js'
import { toNdjson } from './output.js'
import { summaryNdjsonBytes, summaryRows } from './transcript-usage-rows.js'
import { updateUsageSummary } from './transcript-usage.js'
export { USAGE_SUMMARY_FILE } from './transcript-usage.js'
import type { TranscriptDirs, TranscriptProblem } from '@agenttap/transcripts'
import type { ProblemSummary } from './extractor.js'

/** The modes answered here. */
export const TRANSCRIPT_USAGE_MODES = ['daily', 'usage', 'cost'] as const

/** The problems the summary holds, summed up as `Extractor.problems(max)` does. */
export function summaryProblems(problems: readonly TranscriptProblem[], max: number): ProblemSummary {
  const byCode: Record<string, number> = {}
  for (const p of problems) byCode[p.code] = (byCode[p.code] ?? 0) + 1
  const first = [...problems]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.offset ?? Infinity) - (b.offset ?? Infinity) || (a.line ?? 0) - (b.line ?? 0)))
    .slice(0, Math.max(0, Math.floor(max)))
    .map((p) => ({ code: p.code, file: p.file, line: p.line, offset: p.offset, flow_id: null, message: p.message }))
  return { total: problems.length, byCode, first }
}

/** Options of {@link transcriptUsageNdjson}. */
export interface TranscriptUsageNdjsonOptions {
  /** The problems listed in the answer's summary. @defaultValue 5 */
  maxProblems?: number
  /**
   * Read new bytes only on this thread: an update that would read on worker threads (no summary
   * yet, a rebuild, 8 MiB or more of new bytes) answers undefined, having read and written
   * nothing. For a copy of this module bundled into an app: the workers load the importer of
   * the installed package, not the bundle's, and such an update is handed to the package.
   */
  onThisThread?: boolean
}

/** What {@link transcriptUsageNdjson} answered. */
export interface TranscriptUsageNdjsonResult {
  rows: number
  rebuilt: string | undefined
  problems: ProblemSummary
}

/**
 * Brings the usage summary in `indexDir` up to date with the transcripts under `dirs`, then writes
 * `mode`'s NDJSON (the bytes the extractor gives, bundled prices, no filter or limit) through
 * `write`. Returns the row count, the rebuild reason if the summary was rebuilt, and the
 * summary's problems (the first `maxProblems`); undefined, with nothing written, when
 * `onThisThread` and the update needs worker threads.
 */
export async function transcriptUsageNdjson(dirs: TranscriptDirs, indexDir: string, mode: (typeof TRANSCRIPT_USAGE_MODES)[number], write: (b: Uint8Array) => void, options: TranscriptUsageNdjsonOptions & { onThisThread: true }): Promise<TranscriptUsageNdjsonResult | undefined>
export async function transcriptUsageNdjson(dirs: TranscriptDirs, indexDir: string, mode: (typeof TRANSCRIPT_USAGE_MODES)[number], write: (b: Uint8Array) => void, options?: TranscriptUsageNdjsonOptions): Promise<TranscriptUsageNdjsonResult>
export async function transcriptUsageNdjson(dirs: TranscriptDirs, indexDir: string, mode: (typeof TRANSCRIPT_USAGE_MODES)[number], write: (b: Uint8Array) => void, options: TranscriptUsageNdjsonOptions = {}): Promise<TranscriptUsageNdjsonResult | undefined> {
  const prices = BUNDLED_PRICES
  const updated = await updateUsageSummary({ dirs, dir: indexDir, build: ledgerBuild('@agenttap/transcripts'), prices, onThisThread: options.onThisThread === true })
  if (updated === undefined) return undefined
  const { summary, update } = updated
  let rows = summaryNdjsonBytes(mode, summary, prices, {}, write)
  if (rows === undefined) {
    const r = summaryRows(mode, summary, prices, {})
    write(Buffer.from(toNdjson(MODES[mode].columns, r), 'utf8'))
    rows = r.length
  }
  return { rows, rebuilt: update.rebuilt, problems: summaryProblems(summary.problems, options.maxProblems ?? 5) }
}
