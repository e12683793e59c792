/**
 * `@agenttap/extractors/facts`: `usage`, `cost`, `sessions` and `tool_calls` as NDJSON from the
 * wire facts of a current index — what `createExtractor({ logDir }).run(mode, { ndjson: true })`
 * answers there without DuckDB — without loading the rest of the package (the update, DuckDB,
 * the SQL modes): for a CLI whose run on a current index is mostly the start of the process.
 * Anything else (an index to update, facts that cannot answer) is left to the extractor.
 */
import { BUNDLED_PRICES } from './prices.js'
import { factsRows, wholeLinesAnswer } from './facts-answers.js'
import { factsNdjson } from './facts-output.js'
import { filesCurrent, stateCurrent } from './index-fresh.js'
import { indexPaths, readState, writableOrCreatable } from './index-store.js'
import { DEFAULT_LEDGER, ledgerBuild } from './ledger-module.js'
import { findCaptureFiles } from './sources.js'
import { FACTS_MODES, factsReader, factsSections } from './wire-facts.js'
import type { ProblemSummary } from './extractor.js'
import type { ModeName, PriceTable } from './types.js'

/**
 * Writes `mode`'s NDJSON (the bytes the extractor gives) through `write` and returns its row
 * count and the index's problems (the first `maxProblems`), when the capture under `logDir` has
 * a current index whose facts answer it; undefined (nothing written) otherwise. No filters, no
 * limit, auxiliary requests left out, as the extractor's facts path.
 * @throws ExtractError `LOG_DIR_MISSING` / `NO_CAPTURES` — this module's own copy of the class:
 *   check `code`, not `instanceof`.
 */
export function currentFactsNdjson(logDir: string, mode: ModeName, write: (b: Buffer) => void, options: { prices?: PriceTable; now?: number; maxProblems?: number } = {}): { rows: number; problems: ProblemSummary | undefined } | undefined {
  if (!FACTS_MODES.includes(mode)) return undefined
  const prices = options.prices ?? BUNDLED_PRICES
  const files = findCaptureFiles(logDir)
  if (!writableOrCreatable(files.dir)) return undefined
  const paths = indexPaths(files.dir)
  const st = readState(paths)
  if (!stateCurrent(st, paths, ledgerBuild(DEFAULT_LEDGER), options.now ?? Date.now()) || !filesCurrent(st, files)) return undefined
  const facts = factsReader(paths)
  const whole = wholeLinesAnswer(mode, facts, prices, true)
  const answer = whole === undefined ? facts(factsSections(mode, true, prices)) : undefined
  const a = whole ?? (answer === undefined ? undefined : factsRows(mode, answer, prices))
  if (a === undefined) return undefined
  const rows = factsNdjson(a, write)
  const pf = facts([])?.problems
  const max = Math.max(0, Math.floor(options.maxProblems ?? 5))
  const problems = pf === undefined || max > 5 ? undefined : { total: Object.values(pf.byCode).reduce((x, y) => x + y, 0), byCode: pf.byCode, first: pf.first.slice(0, max) }
  return { rows, problems }
}
