import { ExtractError } from './errors.js'
import { MODES } from './modes.js'
import { NdjsonOut } from './ndjson-out.js'
import { cacheWrite1h, priceFor } from './prices.js'
import { isoInstant } from './sources.js'
import type { ModeName, PriceTable, Row, RunOptions } from './types.js'
import type { UsageTable } from './transcript-usage-table.js'
import { DailySums, pricesFingerprint } from './transcript-usage-daily.js'
import type { UsageSummary } from './transcript-usage.js'

/**
 * The rows of `daily`, `usage` and `cost` over the usage summary: the same rows as the index's
 * SQL (queries.ts: `daily`, `usage`, `cost` over `COSTED`), computed over the summary's typed
 * arrays (dictionary numbers compared, not strings; one price look-up per model), and also as
 * NDJSON bytes written straight from the columns (or the daily sums) — byte for byte what
 * `toNdjson` makes of the rows, without the row objects.
 */

/** DuckDB's round(x, 8) of a non-negative double. */
const round8 = (x: number): number => Math.round(x * 1e8) / 1e8

/** A dictionary number → whether its string passes an equality filter (index + 1: -1 is null, read as ''). */
function dictFilter(t: UsageTable, want: string | undefined): Uint8Array | undefined {
  if (want === undefined) return undefined
  const ok = new Uint8Array(t.dict.length + 1)
  ok[0] = want === '' ? 1 : 0
  for (let i = 0; i < t.dict.length; i++) ok[i + 1] = t.dict[i] === want ? 1 : 0
  return ok
}

/** The `COSTED` view: the calls with usage that pass the filters, and each one's cost (rounded to 8 decimals per call, like the SQL; priced 0: no price). */
interface Costed {
  rows: number[]
  cost: Float64Array
  priced: Uint8Array
  /** The price key of a model (by dictionary number + 1). */
  priceKey: (string | null)[]
}

function costed(t: UsageTable, prices: PriceTable, run: RunOptions): Costed {
  const since = run.since === undefined ? undefined : isoInstant(run.since, '--since')
  const until = run.until === undefined ? undefined : isoInstant(run.until, '--until')
  const ts = since !== undefined || until !== undefined ? t.ts() : undefined
  const sessionOk = dictFilter(t, run.session)
  const clientOk = dictFilter(t, run.client)
  // One price look-up per model (the SQL's `pm`): 5 rates a model, NaN: no price.
  const D = t.dict.length + 1
  const rate = new Float64Array(5 * D).fill(-1)
  const priceKey: (string | null)[] = new Array<string | null>(D).fill(null)
  const rows: number[] = []
  const cost = new Float64Array(t.n)
  const priced = new Uint8Array(t.n)
  const u = t.u
  for (let i = 0; i < t.n; i++) {
    if (t.has[i] !== 1) continue
    if (ts !== undefined && ((since !== undefined && ts[i]! < since) || (until !== undefined && ts[i]! >= until))) continue
    if ((sessionOk !== undefined && sessionOk[t.sessionId(i) + 1] !== 1) || (clientOk !== undefined && clientOk[t.clientId(i) + 1] !== 1)) continue
    rows.push(i)
    const m = t.modelId(i) + 1
    if (rate[5 * m] === -1) {
      const p = priceFor(prices, t.str(m - 1) ?? '')
      if (p === undefined) rate.fill(NaN, 5 * m, 5 * m + 5)
      else {
        const x = p.price
        rate[5 * m] = x.input
        rate[5 * m + 1] = x.cache_read
        rate[5 * m + 2] = x.cache_write
        rate[5 * m + 3] = cacheWrite1h(x)
        rate[5 * m + 4] = x.output
        priceKey[m] = p.key
      }
    }
    if (Number.isNaN(rate[5 * m])) continue
    const k = 6 * i
    const r = 5 * m
    cost[i] = round8((u[k]! * rate[r]! + u[k + 1]! * rate[r + 1]! + u[k + 2]! * rate[r + 2]! + u[k + 3]! * rate[r + 3]! + u[k + 4]! * rate[r + 4]!) / 1e6)
    priced[i] = 1
  }
  return { rows, cost, priced, priceKey }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** `usage` / `cost` order: start time, then key (a transcript call's flow is its key; one call per flow). */
function ordered(t: UsageTable, rows: number[]): { ts: string[]; keys: string[] } {
  const ts = t.ts()
  const keys = t.keys()
  // The summary's rows are stored in this order: a sort of one run plus the calls added since.
  rows.sort((a, b) => cmp(ts[a]!, ts[b]!) || cmp(keys[a]!, keys[b]!))
  return { ts, keys }
}

/**
 * The same order as {@link ordered}, decoding only what it must: base calls not set since are
 * already in order (the block is written so); the others are sorted and each put in place by a
 * binary search among them.
 */
function orderedLazily(t: UsageTable, rows: number[]): number[] {
  const extra = rows.filter((i) => !t.inBaseOrder(i))
  if (extra.length === 0) return rows
  if (extra.length * 8 > rows.length) return (ordered(t, rows), rows)
  const c = (a: number, b: number): number => cmp(t.tsAt(a), t.tsAt(b)) || cmp(t.keyAt(a), t.keyAt(b))
  extra.sort(c)
  const base = rows.filter((i) => t.inBaseOrder(i))
  const out: number[] = []
  let from = 0
  for (const e of extra) {
    // The first base call after e.
    let lo = from
    let hi = base.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (c(base[mid]!, e) <= 0) lo = mid + 1
      else hi = mid
    }
    for (let j = from; j < lo; j++) out.push(base[j]!)
    out.push(e)
    from = lo
  }
  for (let j = from; j < base.length; j++) out.push(base[j]!)
  return out
}

const total = (u: Float64Array, k: number): number => u[k]! + u[k + 1]! + u[k + 2]! + u[k + 3]! + u[k + 4]!

/**
 * The `daily` sums of a run: group by date, coalesce(model, '(none)'), source — the running sums
 * the summary keeps when nothing is filtered (see transcript-usage-daily.ts), else the same sums
 * over the calls that pass.
 */
function dailySums(t: UsageTable, prices: PriceTable, run: RunOptions): DailySums {
  if (t.daily instanceof DailySums && t.daily.exact && run.since === undefined && run.until === undefined && run.session === undefined && run.client === undefined && t.daily.fingerprint === pricesFingerprint(prices)) return t.daily
  return DailySums.over(t, prices, costed(t, prices, run).rows)
}

/** The rows of one summary mode. */
export function summaryRows(mode: ModeName, summary: UsageSummary, prices: PriceTable, run: RunOptions): Row[] {
  const t = summary.calls
  if (mode === 'daily') return dailySums(t, prices, run).rows(t)
  const { rows, cost, priced, priceKey } = costed(t, prices, run)
  const u = t.u
  if (mode === 'usage' || mode === 'cost') {
    const { ts, keys } = ordered(t, rows)
    const out: Row[] = new Array<Row>(rows.length)
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j]!
      const k = 6 * i
      const m = t.modelId(i)
      out[j] = mode === 'usage'
        ? {
            ts: ts[i]!, session_id: t.session(i), flow_id: keys[i]!, call: 0, model: t.str(m), input_tokens: u[k]!, cache_read_tokens: u[k + 1]!,
            cache_write_tokens: u[k + 2]! + u[k + 3]!, cache_write_1h_tokens: u[k + 3]!, output_tokens: u[k + 4]!, reasoning_tokens: u[k + 5]! === -1 ? null : u[k + 5]!, total_tokens: total(u, k),
          }
        : {
            ts: ts[i]!, session_id: t.session(i), flow_id: keys[i]!, call: 0, model: t.str(m), price_key: priced[i] === 1 ? priceKey[m + 1]! : null, input_tokens: u[k]!, cache_read_tokens: u[k + 1]!,
            cache_write_tokens: u[k + 2]! + u[k + 3]!, output_tokens: u[k + 4]!, cost_usd: priced[i] === 1 ? cost[i]! : null, prices_version: prices.version,
          }
    }
    return out
  }
  throw new ExtractError('UNKNOWN_MODE', `the usage summary does not answer ${mode}`)
}

const USAGE_COLUMNS = 'ts, session_id, flow_id, call, model, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, total_tokens'
const COST_COLUMNS = 'ts, session_id, flow_id, call, model, price_key, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, prices_version'

const DAILY_COLUMNS = 'date, model, source, calls, input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, total_tokens, cost_usd, unpriced_calls, prices_version'

const ascii = (s: string): Buffer => Buffer.from(s, 'utf8')

/**
 * The `daily` rows as NDJSON from the sums, byte for byte `toNdjson` of {@link summaryRows}: no
 * row objects, no JSON.stringify of a row, no string of the whole answer. A line is made as a
 * string (numbers and strings as JSON.stringify writes them) and written as UTF-8 by the buffer:
 * ~700 lines, too few for a byte-by-byte writer to pay for its optimizing compile in a warm run.
 * Returns how many rows.
 */
function dailyNdjsonBytes(d: DailySums, t: UsageTable, flush: (b: Buffer) => void): number {
  const s = d.sums
  // `{"date":`, `,"model":`, … : the sums' columns (3 to 10) are written as they are, in order.
  const names = MODES.daily.columns.map((c, j) => `${j === 0 ? '{' : ','}"${c}":`)
  const version = JSON.stringify(d.prices.version ?? null)
  const num = (x: number): string => (Number.isFinite(x) ? String(x) : 'null')
  const out = new NdjsonOut(flush)
  const groups = d.ordered(t)
  for (const { g, date, model, source } of groups) {
    let line = names[0]! + JSON.stringify(date) + names[1]! + JSON.stringify(model) + names[2]! + JSON.stringify(source)
    // calls, the six token sums, total_tokens: sums 0 to 7.
    for (let j = 0; j < 8; j++) line += names[3 + j]! + num(s[g + j]!)
    line += `${names[11]!}${s[g + 9]! > 0 ? num(s[g + 8]! / 1e8) : 'null'}${names[12]!}${num(s[g + 10]!)}${names[13]!}${version}}\n`
    out.text(line)
    out.endLine()
  }
  out.end()
  return groups.length
}

/**
 * The rows of `daily`, `usage` or `cost` as NDJSON, byte for byte `toNdjson(columns, rows)` of
 * {@link summaryRows}: written straight from the columns (`daily`: from its sums) into a reused
 * buffer and handed to `flush` in pieces that end at a line end (no row objects, no string per
 * line; the keys and start times of stored calls copied from the summary's text). Returns how
 * many rows; undefined for other modes (or columns this writer does not know), which go through
 * the rows.
 */
export function summaryNdjsonBytes(mode: ModeName, summary: UsageSummary, prices: PriceTable, run: RunOptions, flush: (b: Buffer) => void): number | undefined {
  const t = summary.calls
  if (mode === 'daily' && MODES.daily.columns.join(', ') === DAILY_COLUMNS) return dailyNdjsonBytes(dailySums(t, prices, run), t, flush)
  if (!((mode === 'usage' && MODES.usage.columns.join(', ') === USAGE_COLUMNS) || (mode === 'cost' && MODES.cost.columns.join(', ') === COST_COLUMNS))) return undefined
  const c = costed(t, prices, run)
  const { cost, priced, priceKey } = c
  const rows = orderedLazily(t, c.rows)
  const u = t.u
  const dj = t.dict.map((s) => ascii(JSON.stringify(s)))
  const NULL = ascii('null')
  const EMPTY = ascii('""')
  const version = ascii(JSON.stringify(prices.version ?? null))
  const pk = priceKey.map((k) => ascii(JSON.stringify(k)))
  const [P_TS, P_SESSION, P_FLOW, P_MODEL] = ['{"ts":', ',"session_id":', ',"flow_id":', ',"call":0,"model":'].map(ascii) as [Buffer, Buffer, Buffer, Buffer]
  const names = (mode === 'usage'
    ? ['input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens']
    : ['price_key', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'cost_usd', 'prices_version']).map((c) => ascii(`,"${c}":`))
  const END = ascii('}\n')
  const out = new NdjsonOut(flush)
  let fixed = 0
  for (const b of [P_TS, P_SESSION, P_FLOW, P_MODEL, ...names, END, version]) fixed += b.length
  const longest = Math.max(4, ...dj.map((b) => b.length), ...pk.map((b) => b.length))
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j]!
    const k = 6 * i
    const m = t.modelId(i)
    const s = t.sessionId(i)
    // At most: the fixed parts, two dictionary strings, 7 numbers, the key and time escaped.
    const text = t.textAt(i)
    const [k0, k1] = text !== undefined ? t.keySpan(i) : [0, 0]
    const [s0, s1] = text !== undefined ? t.tsSpan(i) : [0, 0]
    // At most: the fixed parts, two dictionary strings, 7 numbers, the key and time escaped.
    out.room(fixed + 3 * longest + 7 * 32 + (text !== undefined ? 6 * (k1 - k0 + s1 - s0) : 6 * (t.tsAt(i).length + t.keyAt(i).length)) + 8)
    out.bytes(P_TS)
    if (text === undefined || !out.plain(text, s0, s1)) out.str(t.tsAt(i))
    out.bytes(P_SESSION)
    out.bytes(s === -1 ? EMPTY : dj[s]!)
    out.bytes(P_FLOW)
    if (text === undefined || !out.plain(text, k0, k1)) out.str(t.keyAt(i))
    out.bytes(P_MODEL)
    out.bytes(m === -1 ? NULL : dj[m]!)
    if (mode === 'usage') {
      out.bytes(names[0]!)
      out.num(u[k]!)
      out.bytes(names[1]!)
      out.num(u[k + 1]!)
      out.bytes(names[2]!)
      out.num(u[k + 2]! + u[k + 3]!)
      out.bytes(names[3]!)
      out.num(u[k + 3]!)
      out.bytes(names[4]!)
      out.num(u[k + 4]!)
      out.bytes(names[5]!)
      if (u[k + 5] === -1) out.bytes(NULL)
      else out.num(u[k + 5]!)
      out.bytes(names[6]!)
      out.num(total(u, k))
    } else {
      out.bytes(names[0]!)
      out.bytes(priced[i] === 1 ? pk[m + 1]! : NULL)
      out.bytes(names[1]!)
      out.num(u[k]!)
      out.bytes(names[2]!)
      out.num(u[k + 1]!)
      out.bytes(names[3]!)
      out.num(u[k + 2]! + u[k + 3]!)
      out.bytes(names[4]!)
      out.num(u[k + 4]!)
      out.bytes(names[5]!)
      if (priced[i] === 1) out.num(cost[i]!)
      else out.bytes(NULL)
      out.bytes(names[6]!)
      out.bytes(version)
    }
    out.bytes(END)
    out.endLine()
  }
  out.end()
  return rows.length
}
