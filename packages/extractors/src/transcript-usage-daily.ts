import { cacheWrite1h, priceFor } from './prices.js'
import type { PriceTable, Row } from './types.js'
import { keyHash } from './transcript-usage-hash.js'
import type { UsageTable } from './transcript-usage-table.js'

/**
 * The `daily` answer of the usage summary as running sums: per (day, model, source) the calls,
 * the six token sums and their total, and the cost in units of 1e-8 USD (each call's cost is
 * rounded to 8 decimals, like the SQL, so it is a whole number of units). Whole numbers add and
 * subtract exactly in any order, so the sums kept up to date call by call (a merged call is taken
 * out and put back) are exactly the sums of a pass over every call — and exactly DuckDB's
 * `round(sum(cost), 8)`. Kept only while every figure is a safe integer (a fractional token
 * count turns it off: the answer is then computed from the calls). Kept for one price table
 * (its fingerprint): a run with other prices computes from the calls.
 */

/** Sums a group: calls, 7 token sums, cost units, priced calls, unpriced calls. */
const W = 11

/** A price table's fingerprint (the daily sums are kept for one). */
export function pricesFingerprint(prices: PriceTable): string {
  const [a, b] = keyHash(JSON.stringify(prices))
  return `${String(prices.version)}:${a.toString(16)}${b.toString(16)}`
}

/** The serialised sums (in the summary's header). */
export interface DailyJson {
  prices: string
  /** [day, model, source] dictionary numbers, then the W sums, per group. */
  groups: number[][]
}

export class DailySums {
  /** day → (model + 1) · 2^15 + source + 1 → group (numbers, not strings: no garbage per call). */
  private group = new Map<number, Map<number | string, number>>()
  private ids: number[][] = []
  private s = new Float64Array(W * 16)
  /** false: a figure was not a safe integer; the sums are not used. */
  exact = true
  private rates = new Map<number, Float64Array | null>()

  constructor(readonly prices: PriceTable, readonly fingerprint = pricesFingerprint(prices)) {}

  /** The five rates of a model (dictionary number), null: no price. */
  private rate(t: UsageTable, m: number): Float64Array | null {
    let r = this.rates.get(m)
    if (r === undefined) {
      const p = priceFor(this.prices, t.str(m) ?? '')
      r = p === undefined ? null : Float64Array.of(p.price.input, p.price.cache_read, p.price.cache_write, cacheWrite1h(p.price), p.price.output)
      this.rates.set(m, r)
    }
    return r
  }

  private at(day: number, model: number, source: number): number {
    let byDay = this.group.get(day)
    if (byDay === undefined) this.group.set(day, (byDay = new Map()))
    // Dictionary numbers are far below 2^15 (a summary with more strings uses the fallback key).
    const k = model + 1 < 32768 && source + 1 < 32768 ? (model + 1) * 32768 + source + 1 : `${model},${source}`
    let g = byDay.get(k)
    if (g === undefined) {
      g = this.ids.length
      byDay.set(k, g)
      this.ids.push([day, model, source])
      if (W * (g + 1) > this.s.length) {
        const s = new Float64Array(this.s.length * 2)
        s.set(this.s)
        this.s = s
      }
    }
    return g
  }

  /** Adds (sign 1) or takes out (sign -1) call `i` of `t` (a call without usage counts nowhere). */
  add(t: UsageTable, i: number, sign: 1 | -1): void {
    if (!t.hasAt(i)) return
    // Only call i's numbers (a lazy table reads that one call, not the columns).
    const u = t.usageOf(i)
    const k = 6 * i
    const g = W * this.at(t.dayId(i), t.modelId(i), t.sourceId(i))
    const s = this.s
    const tot = u[k]! + u[k + 1]! + u[k + 2]! + u[k + 3]! + u[k + 4]!
    s[g] = s[g]! + sign
    for (let j = 0; j < 5; j++) s[g + 1 + j] = s[g + 1 + j]! + sign * u[k + j]!
    s[g + 6] = s[g + 6]! + sign * (u[k + 5] === -1 ? 0 : u[k + 5]!)
    s[g + 7] = s[g + 7]! + sign * tot
    const r = this.rate(t, t.modelId(i))
    if (r === null) s[g + 10] = s[g + 10]! + sign
    else {
      const units = Math.round(((u[k]! * r[0]! + u[k + 1]! * r[1]! + u[k + 2]! * r[2]! + u[k + 3]! * r[3]! + u[k + 4]! * r[4]!) / 1e6) * 1e8)
      s[g + 8] = s[g + 8]! + sign * units
      s[g + 9] = s[g + 9]! + sign
      if (!Number.isSafeInteger(s[g + 8])) this.exact = false
    }
    if (!Number.isSafeInteger(s[g + 7]) || !Number.isSafeInteger(tot) || (u[k + 5] !== -1 && !Number.isSafeInteger(u[k + 5]))) this.exact = false
  }

  /** Sums over calls `rows` of `t` (or every call). */
  static over(t: UsageTable, prices: PriceTable, rows?: number[], fingerprint?: string): DailySums {
    const d = new DailySums(prices, fingerprint)
    // A pass over the calls reads the columns whole (not one call at a time).
    void t.has
    if (rows === undefined) for (let i = 0; i < t.n; i++) d.add(t, i, 1)
    else for (const i of rows) d.add(t, i, 1)
    return d
  }

  toJSON(): DailyJson {
    return { prices: this.fingerprint, groups: this.ids.map((id, g) => [...id, ...this.s.subarray(W * g, W * g + W)]) }
  }

  /** Sums read back from {@link toJSON} (undefined: of another price table, or not well formed). */
  static from(json: unknown, prices: PriceTable, fingerprint = pricesFingerprint(prices)): DailySums | undefined {
    const j = json as DailyJson | undefined
    if (j === undefined || j === null || j.prices !== fingerprint || !Array.isArray(j.groups)) return undefined
    const d = new DailySums(prices, fingerprint)
    // Builtins (every, slice, set), not loops over each number: a loop this hot at the start
    // of a warm run is compiled by the optimizing compiler (~17 ms of compile, --trace-opt).
    for (const x of j.groups) {
      if (!Array.isArray(x) || x.length !== 3 + W || !x.every((v) => Number.isSafeInteger(v))) return undefined
      const g = d.at(x[0]!, x[1]!, x[2]!)
      d.s.set(x.slice(3), W * g)
    }
    return d
  }

  /** The groups with calls in `daily` order (by date, model — '(none)' for none —, source): their strings and where their sums start in {@link sums}. */
  ordered(t: UsageTable): { g: number; date: string; model: string; source: string }[] {
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
    const s = this.s
    return this.ids
      .map(([day, model, source], g) => ({ g: W * g, date: t.str(day!) ?? '', model: t.str(model!) ?? '(none)', source: t.str(source!) ?? '' }))
      .filter(({ g }) => s[g]! > 0)
      .sort((a, b) => cmp(a.date, b.date) || cmp(a.model, b.model) || cmp(a.source, b.source))
  }

  /** The sums of every group, {@link W} a group: calls, 7 token sums, cost units, priced calls, unpriced calls. */
  get sums(): Float64Array {
    return this.s
  }

  /** The `daily` rows: by date, model ('(none)' for none), source; groups left without calls are not rows. */
  rows(t: UsageTable): Row[] {
    const s = this.s
    return this.ordered(t).map(({ g, date, model, source }) => ({
      date, model, source, calls: s[g]!, input_tokens: s[g + 1]!, cache_read_tokens: s[g + 2]!, cache_write_5m_tokens: s[g + 3]!,
      cache_write_1h_tokens: s[g + 4]!, output_tokens: s[g + 5]!, reasoning_tokens: s[g + 6]!, total_tokens: s[g + 7]!,
      cost_usd: s[g + 9]! > 0 ? s[g + 8]! / 1e8 : null, unpriced_calls: s[g + 10]!, prices_version: this.prices.version,
    }))
  }
}
