import { writeFileSync } from 'node:fs'
import { createExtractor, ledgerBuild } from './extractor.js'
import type { Extractor, ProblemSummary } from './extractor.js'
import { ExtractError } from './errors.js'
import type { IndexUpdate } from './indexer.js'
import { MODES } from './modes.js'
import { toNdjson } from './output.js'
import { BUNDLED_PRICES, cacheWrite1h, priceFor } from './prices.js'
import { isoInstant } from './sources.js'
import type { ExtractorOptions, ModeName, ModeResult, PriceTable, Row, RunOptions } from './types.js'
import type { UsageTable } from './transcript-usage-table.js'
import { updateUsageSummary } from './transcript-usage.js'
import type { UsageSummary } from './transcript-usage.js'

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

/** DuckDB's round(x, 8) of a non-negative double. */
const round8 = (x: number): number => Math.round(x * 1e8) / 1e8

/**
 * The `COSTED` view of queries.ts over the summary: the rows of the calls with usage that pass
 * the filters, and each one's cost (rounded to 8 decimals per call, like the SQL; null: no price).
 */
function costed(t: UsageTable, prices: PriceTable, run: RunOptions): { rows: number[]; cost: Float64Array; priced: Uint8Array; priceKey: (string | null)[] } {
  const since = run.since === undefined ? undefined : isoInstant(run.since, '--since')
  const until = run.until === undefined ? undefined : isoInstant(run.until, '--until')
  const ts = since !== undefined || until !== undefined ? t.ts() : undefined
  // One price look-up per model (the SQL's `pm`).
  const price = new Map<number, ReturnType<typeof priceFor>>()
  const rows: number[] = []
  const cost = new Float64Array(t.n)
  const priced = new Uint8Array(t.n)
  const priceKey: (string | null)[] = new Array(t.n).fill(null)
  for (let i = 0; i < t.n; i++) {
    if (t.has[i] !== 1) continue
    if (ts !== undefined && ((since !== undefined && ts[i]! < since) || (until !== undefined && ts[i]! >= until))) continue
    if ((run.session !== undefined && t.session(i) !== run.session) || (run.client !== undefined && t.client(i) !== run.client)) continue
    rows.push(i)
    const m = t.modelId(i)
    let p = price.get(m)
    if (p === undefined && !price.has(m)) price.set(m, (p = priceFor(prices, t.str(m) ?? '')))
    if (p === undefined) continue
    const x = p.price
    const u = 6 * i
    cost[i] = round8((t.u[u]! * x.input + t.u[u + 1]! * x.cache_read + t.u[u + 2]! * x.cache_write + t.u[u + 3]! * cacheWrite1h(x) + t.u[u + 4]! * x.output) / 1e6)
    priced[i] = 1
    priceKey[i] = p.key
  }
  return { rows, cost, priced, priceKey }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The rows of one summary mode. */
export function summaryRows(mode: ModeName, summary: UsageSummary, prices: PriceTable, run: RunOptions): Row[] {
  const t = summary.calls
  const { rows, cost, priced, priceKey } = costed(t, prices, run)
  const total = (i: number): number => t.u[6 * i]! + t.u[6 * i + 1]! + t.u[6 * i + 2]! + t.u[6 * i + 3]! + t.u[6 * i + 4]!
  if (mode === 'usage' || mode === 'cost') {
    // order by ts, flow_id (a transcript call's flow is its key; one call per flow)
    const ts = t.ts()
    const keys = t.keys()
    rows.sort((a, b) => cmp(ts[a]!, ts[b]!) || cmp(keys[a]!, keys[b]!))
    if (mode === 'usage') {
      return rows.map((i) => {
        const u = 6 * i
        const r = t.u[u + 5]!
        return {
          ts: ts[i]!, session_id: t.session(i), flow_id: keys[i]!, call: 0, model: t.str(t.modelId(i)), input_tokens: t.u[u]!, cache_read_tokens: t.u[u + 1]!,
          cache_write_tokens: t.u[u + 2]! + t.u[u + 3]!, cache_write_1h_tokens: t.u[u + 3]!, output_tokens: t.u[u + 4]!, reasoning_tokens: r === -1 ? null : r, total_tokens: total(i),
        }
      })
    }
    return rows.map((i) => {
      const u = 6 * i
      return {
        ts: ts[i]!, session_id: t.session(i), flow_id: keys[i]!, call: 0, model: t.str(t.modelId(i)), price_key: priceKey[i]!, input_tokens: t.u[u]!, cache_read_tokens: t.u[u + 1]!,
        cache_write_tokens: t.u[u + 2]! + t.u[u + 3]!, output_tokens: t.u[u + 4]!, cost_usd: priced[i] === 1 ? cost[i]! : null, prices_version: prices.version,
      }
    })
  }
  if (mode !== 'daily') throw new ExtractError('UNKNOWN_MODE', `the usage summary does not answer ${mode}`)
  // group by date, coalesce(model, '(none)'), source — by dictionary numbers; summed in time order like the rows.
  const D = t.dict.length + 2
  const groups = new Map<number, { day: number; model: number; source: number; calls: number; sums: [number, number, number, number, number, number, number]; cost: number | null; unpriced: number }>()
  for (const i of rows) {
    const day = t.dayId(i)
    const model = t.modelId(i)
    const source = t.sourceId(i)
    const k = ((day + 1) * D + model + 1) * D + source + 1
    let g = groups.get(k)
    if (g === undefined) groups.set(k, (g = { day, model, source, calls: 0, sums: [0, 0, 0, 0, 0, 0, 0], cost: null, unpriced: 0 }))
    g.calls++
    const u = 6 * i
    const s = g.sums
    s[0] += t.u[u]!
    s[1] += t.u[u + 1]!
    s[2] += t.u[u + 2]!
    s[3] += t.u[u + 3]!
    s[4] += t.u[u + 4]!
    s[5] += t.u[u + 5]! === -1 ? 0 : t.u[u + 5]!
    s[6] += total(i)
    if (priced[i] === 1) g.cost = (g.cost ?? 0) + cost[i]!
    else g.unpriced++
  }
  return [...groups.values()]
    .map((g) => ({ g, date: t.str(g.day) ?? '', model: t.str(g.model) ?? '(none)', source: t.str(g.source) ?? '' }))
    .sort((a, b) => cmp(a.date, b.date) || cmp(a.model, b.model) || cmp(a.source, b.source))
    .map(({ g, date, model, source }) => ({
      date, model, source, calls: g.calls, input_tokens: g.sums[0]!, cache_read_tokens: g.sums[1]!, cache_write_5m_tokens: g.sums[2]!,
      cache_write_1h_tokens: g.sums[3]!, output_tokens: g.sums[4]!, reasoning_tokens: g.sums[5]!, total_tokens: g.sums[6]!,
      cost_usd: g.cost === null ? null : round8(g.cost), unpriced_calls: g.unpriced, prices_version: prices.version,
    }))
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
  const usage = async (withText: boolean): Promise<UsageSummary> => {
    if (summary === undefined || (withText && !summary.summary.calls.text)) {
      summary = await updateUsageSummary({
        dirs: options.transcripts!, dir, build: ledgerBuild('@agenttap/transcripts'), rebuild, withText,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
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
      const rows = summaryRows(mode, await usage(mode !== 'daily' || run.since !== undefined || run.until !== undefined), prices, run)
      const r: ModeResult = { mode, engine: 'index', rows, columns: MODES[mode].columns, warnings: [] }
      if (run.ndjsonTo === undefined) return r
      try {
        writeFileSync(run.ndjsonTo, toNdjson(r.columns, rows), { mode: 0o600 })
      } catch (e) {
        throw new ExtractError('OUTPUT_FAILED', `could not write ${run.ndjsonTo}: ${(e as Error).message}`, { cause: e })
      }
      return { ...r, rows: [], written: rows.length }
    }),
    problems: async (max = 5): Promise<ProblemSummary> => {
      if (inner !== undefined || summary === undefined) return (await index()).problems(max)
      const byCode: Record<string, number> = {}
      for (const p of summary.summary.problems) byCode[p.code] = (byCode[p.code] ?? 0) + 1
      const first = [...summary.summary.problems]
        .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.offset ?? Infinity) - (b.offset ?? Infinity) || (a.line ?? 0) - (b.line ?? 0)))
        .slice(0, Math.max(0, Math.floor(max)))
        .map((p) => ({ code: p.code, file: p.file, line: p.line, offset: p.offset, flow_id: null, message: p.message }))
      return { total: summary.summary.problems.length, byCode, first }
    },
    explainCache: async (flow) => (await index()).explainCache(flow),
    query: async (sql) => (await index()).query(sql),
    close: () => opened?.close(),
  }
}
