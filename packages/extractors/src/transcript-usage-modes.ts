import { closeSync, openSync, writeFileSync } from 'node:fs'
import { createExtractor } from './extractor.js'
import { ledgerBuild } from './ledger-module.js'
import type { Extractor, ProblemSummary } from './extractor.js'
import { ExtractError } from './errors.js'
import type { IndexUpdate } from './indexer.js'
import { MODES } from './modes.js'
import { toNdjson } from './output.js'
import { BUNDLED_PRICES } from './prices.js'
import type { ExtractorOptions, ModeName, RunOptions } from './types.js'
import { summaryNdjsonBytes, summaryRows } from './transcript-usage-rows.js'
import { updateUsageSummary } from './transcript-usage.js'
import type { UsageSummary } from './transcript-usage.js'
import { summaryProblems } from './transcript-usage-entry.js'

/**
 * `daily`, `usage` and `cost` over transcripts from the usage summary (transcript-usage.ts),
 * without DuckDB: the same rows as the index's SQL (queries.ts: `daily`, `usage`, `cost` over
 * `COSTED`), computed here. Every other mode, and these with `--limit` or without an index on
 * disk, goes to the DuckDB index, built then (its own cursors; the same importer, so both agree).
 */

/** The modes the usage summary answers. */
export const SUMMARY_MODES: readonly ModeName[] = ['daily', 'usage', 'cost']

/** Whether the usage summary answers this run. */
export function summaryAnswers(mode: ModeName, run: RunOptions): boolean {
  return SUMMARY_MODES.includes(mode) && run.limit === undefined && run.engine !== 'reverse'
}

/**
 * An extractor over transcripts alone (`--source transcripts`): `daily`, `usage` and `cost` from
 * the usage summary, without DuckDB; every other mode from the DuckDB index, opened when first
 * needed. Same interface and the same rows as {@link createExtractor}'s.
 */
export async function createTranscriptExtractor(options: ExtractorOptions): Promise<Extractor> {
  if (options.transcripts === undefined || options.source !== undefined || options.wire !== false || options.index === false || options.indexDir === undefined || options.engine === 'reverse') return createExtractor(options)
  const prices = options.prices ?? BUNDLED_PRICES
  const dir = options.indexDir
  let inner: Promise<Extractor> | undefined
  let opened: Extractor | undefined
  let summary: { summary: UsageSummary; update: IndexUpdate } | undefined
  let rebuild = options.rebuildIndex === true
  const index = (): Promise<Extractor> => (inner ??= createExtractor(options).then((x) => (opened = x)))
  const usage = async (): Promise<UsageSummary> => {
    if (summary === undefined) {
      summary = await updateUsageSummary({
        dirs: options.transcripts!, dir, build: ledgerBuild('@agenttap/transcripts'), rebuild, prices,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      })
      rebuild = false
    }
    return summary.summary
  }
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn)
    queue = p.catch(() => undefined)
    return p
  }
  return {
    files: undefined,
    prices,
    get indexDir() {
      return dir
    },
    get lastUpdate() {
      return opened?.lastUpdate ?? summary?.update
    },
    refresh: async () => (await index()).refresh(),
    run: (mode, run = {}) => serial(async () => {
      if (!summaryAnswers(mode, run)) return (await index()).run(mode, run)
      const summary = await usage()
      const columns = MODES[mode].columns
      // NDJSON: lines straight from the columns (`daily`: from its sums), no row objects; to a
      // file in pieces as they are made.
      if (run.ndjson === true && run.ndjsonTo === undefined) {
        if (run.ndjsonBytes === true) {
          const chunks: Uint8Array[] = []
          const n = summaryNdjsonBytes(mode, summary, prices, run, (b) => void chunks.push(Buffer.copyBytesFrom(b)))
          if (n !== undefined) return { mode, engine: 'index', rows: [], columns, warnings: [], ndjsonBytes: { rows: n, chunks } }
        }
        // The bytes cut into lines (each piece ends at a line end): cheaper than a string per line built.
        const lines: string[] = []
        const cut = (b: Buffer): void => {
          const text = b.toString('utf8')
          let from = 0
          for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
            lines.push(text.slice(from, at))
            from = at + 1
          }
        }
        if (summaryNdjsonBytes(mode, summary, prices, run, cut) !== undefined) return { mode, engine: 'index', rows: [], columns, warnings: [], ndjson: lines }
      }
      if (run.ndjsonTo === undefined) return { mode, engine: 'index', rows: summaryRows(mode, summary, prices, run), columns, warnings: [] }
      let fd: number | undefined
      try {
        fd = openSync(run.ndjsonTo, 'w', 0o600)
        const f = fd
        const written = summaryNdjsonBytes(mode, summary, prices, run, (b) => writeFileSync(f, b))
          ?? ((rows) => (writeFileSync(f, toNdjson(columns, rows)), rows.length))(summaryRows(mode, summary, prices, run))
        return { mode, engine: 'index', rows: [], columns, warnings: [], written }
      } catch (e) {
        throw new ExtractError('OUTPUT_FAILED', `could not write ${run.ndjsonTo}: ${(e as Error).message}`, { cause: e })
      } finally {
        if (fd !== undefined) closeSync(fd)
      }
    }),
    problems: async (max = 5): Promise<ProblemSummary> => {
      if (inner !== undefined || summary === undefined) return (await index()).problems(max)
      return summaryProblems(summary.summary.problems, max)
    },
    explainCache: async (flow) => (await index()).explainCache(flow),
    query: async (sql) => (await index()).query(sql),
    close: () => opened?.close(),
  }
}
