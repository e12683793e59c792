import { Text, cmpBytes, cmpVal, val } from './facts-columns.js'
import type { Part, Value } from './facts-columns.js'
import { MODES } from './modes.js'
import { BUNDLED_PRICES, cacheWrite1h, priceFor } from './prices.js'
import { pricesFingerprint } from './transcript-usage-daily.js'
import type { ModeName, PriceTable, Row } from './types.js'
import type { Section, WireFacts } from './wire-facts.js'

/**
 * The rows of the modes the wire facts answer (`usage`, `cost`, `sessions`, `tool_calls`), as the
 * SQL of queries.ts makes them: the rows of every segment merged in the mode's order, each
 * field read from the columns (facts-columns.ts), or the rows computed whole (`sessions`).
 */

/** DuckDB's round(x, 8) of a non-negative double. */
const round8 = (x: number): number => Math.round(x * 1e8) / 1e8

/** A row: its part and its index there. */
type Ref = [Part, number]
/**
 * Rows of several parts: part `pi[k]`'s row `ri[k]` is the k-th. `whole`: the rows are those of
 * the first part, every one, in its order (the other parts have none), so a writer can copy the
 * part's bytes at once; `pi` and `ri` are then made on first use.
 */
export interface Refs {
  parts: Part[]
  readonly pi: Uint16Array
  readonly ri: Int32Array
  n: number
  whole: boolean
}

/** The refs of every row of `part`, in its order: pi and ri made when first read (a loop per row). */
function wholeRefs(parts: Part[]): Refs {
  const n = parts[0]!.n
  let ri: Int32Array | undefined
  return {
    parts,
    n,
    whole: true,
    get pi() {
      return new Uint16Array(n)
    },
    get ri() {
      if (ri === undefined) {
        ri = new Int32Array(n)
        for (let i = 0; i < n; i++) ri[i] = i
      }
      return ri
    },
  }
}

/** Whether none of a part's rows are dropped (`alive` undefined, or no 0 in it: a native scan, no loop per row). */
const allAlive = (alive: Uint8Array | undefined): boolean => alive === undefined || alive.indexOf(0) === -1
/** Whether a part has no rows left (none, or `alive` has no 1). */
const noneAlive = (x: { part: Part; alive: Uint8Array | undefined }): boolean => x.part.n === 0 || (x.alive !== undefined && x.alive.indexOf(1) === -1)

/**
 * The rows of the parts in order of `keys`: every part is sorted so; the rows of later parts
 * are sorted together and each put in place among the first part's by a binary search.
 */
export function ordered(parts: { part: Part; alive: Uint8Array | undefined }[], keys: string[]): Refs {
  const cmp = (a: Ref, b: Ref): number => {
    for (const k of keys) {
      const x = a[0].cols[k]
      const y = b[0].cols[k]
      let c: number
      if (x instanceof Text && y instanceof Text) {
        // Text by its UTF-8 bytes, NULL last: cmpVal's order, without a string per comparison
        // (the binary searches of a few appended segments' rows made ~10^6 of them).
        const nx = x.nul[a[1]] === 1
        const ny = y.nul[b[1]] === 1
        c = nx || ny ? (nx && ny ? 0 : nx ? 1 : -1) : cmpBytes(x, a[1], y, b[1])
      } else c = cmpVal(val(a[0], k, a[1]), val(b[0], k, b[1]))
      if (c !== 0) return c
    }
    return 0
  }
  // The common case (one segment, or later ones that add no row): the first part as it is.
  if (parts.length > 0 && allAlive(parts[0]!.alive) && parts.slice(1).every(noneAlive)) return wholeRefs(parts.map((x) => x.part))
  const total = parts.reduce((n, x) => n + x.part.n, 0)
  const pi = new Uint16Array(total)
  const ri = new Int32Array(total)
  const out: Refs = { parts: parts.map((x) => x.part), pi, ri, n: 0, whole: false }
  const push = (p: number, i: number): void => {
    pi[out.n] = p
    ri[out.n++] = i
  }
  const first = parts[0]!
  const extra: [Part, number, number][] = []
  for (let p = 1; p < parts.length; p++) {
    const x = parts[p]!
    for (let i = 0; i < x.part.n; i++) if (x.alive === undefined || x.alive[i] === 1) extra.push([x.part, i, p])
  }
  const base = first.alive
  let from = 0
  if (extra.length > 0) {
    extra.sort((a, b) => cmp([a[0], a[1]], [b[0], b[1]]))
    for (const [ep, ei, p] of extra) {
      let lo = from
      let hi = first.part.n
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (cmp([first.part, mid], [ep, ei]) <= 0) lo = mid + 1
        else hi = mid
      }
      for (let j = from; j < lo; j++) if (base === undefined || base[j] === 1) push(0, j)
      push(p, ei)
      from = lo
    }
  }
  for (let j = from; j < first.part.n; j++) if (base === undefined || base[j] === 1) push(0, j)
  return out
}

interface Price {
  key: string | null
  rates: number[] | undefined
}

/** The price of a part's model (by dictionary number), as `COSTED` finds it. */
function pricer(prices: PriceTable): (p: Part, id: number) => Price {
  const memo = new Map<string, Price>()
  return (p, id) => {
    const model = id === -1 ? '' : p.dict[id]!
    let x = memo.get(model)
    if (x === undefined) {
      const found = priceFor(prices, model)
      x = found === undefined ? { key: null, rates: undefined } : { key: found.key, rates: [found.price.input, found.price.cache_read, found.price.cache_write, cacheWrite1h(found.price), found.price.output] }
      memo.set(model, x)
    }
    return x
  }
}

const USAGE = ['input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens']

/** A call's usage numbers (null: NULL). */
function usageOf(p: Part, i: number): (number | null)[] {
  return USAGE.map((c) => {
    const v = (p.cols[c] as Float64Array)[i]!
    return Number.isNaN(v) ? null : v
  })
}
/** A call's cost as `COSTED` computes it (null: no price, or a token count is null). */
function costOf(u: (number | null)[], rates: number[] | undefined): number | null {
  if (rates === undefined || u.slice(0, 5).some((x) => x === null)) return null
  return round8((u[0]! * rates[0]! + u[1]! * rates[1]! + u[2]! * rates[2]! + u[3]! * rates[3]! + u[4]! * rates[4]!) / 1e6)
}

/** How a field is written: a text column, a dictionary column, the sum of number columns (NaN, NULL: null), or its `value`. */
export const [TEXT, DICT, NUM, CALC] = [0, 1, 2, 3] as const

/** A field of an output row: its value, and the columns it is written from (absent: JSON of `value`). */
export interface Field {
  name: string
  value: (p: Part, i: number) => Value
  kind?: typeof TEXT | typeof DICT | typeof NUM
  col?: string[]
}

/** A mode's answer: the rows in order and their fields, or (sessions) rows computed whole. */
export interface FactsAnswer {
  columns: string[]
  refs?: Refs
  fields?: Field[]
  rows?: Value[][]
  /** Per part of `refs`, its rows' NDJSON lines (linesSection), when read. */
  lines?: Text[] | undefined
}

const textField = (name: string, col: string): Field => ({ name, value: (p, i) => (p.cols[col] as Text).get(i), kind: TEXT, col: [col] })
const dictField = (name: string, col: string): Field => ({
  name,
  value: (p, i) => {
    const x = (p.cols[col] as Int32Array)[i]!
    return x === -1 ? null : p.dict[x]!
  },
  kind: DICT,
  col: [col],
})
const numField = (name: string, col: string): Field => ({ name, value: (p, i) => val(p, col, i), kind: NUM, col: [col] })

/**
 * NDJSON of `usage`, `cost`, `sessions` (bundled prices) or `tool_calls` (`ndjson` false: the rows of `sessions`) read from the stored lines alone,
 * without the rows' sections (`read` reads the facts' sections asked for): when no segment drops
 * rows, each row has its line, and either the first segment holds every row (the later ones add
 * none), or — not `sessions`, whose lines are sums — each later segment's rows all come after the
 * rows before it (appends of later calls). Undefined otherwise (the caller reads the rows and
 * merges them, {@link factsRows}).
 */
export function wholeLinesAnswer(mode: ModeName, read: (sections: Section[]) => WireFacts | undefined, prices: PriceTable, ndjson = true): FactsAnswer | undefined {
  if (!ndjson && mode !== 'sessions') return undefined
  const bundled = pricesFingerprint(prices) === pricesFingerprint(BUNDLED_PRICES)
  const section = mode === 'usage' ? 'usageLines' : mode === 'tool_calls' ? 'toolLines' : mode === 'cost' && bundled ? 'costLines' : mode === 'sessions' && bundled ? 'sessionLines' : undefined
  if (section === undefined) return undefined
  const f = read([section])
  const parts = f?.parts[section]
  const first = parts?.[0]?.part
  if (f === undefined || first === undefined || f.drops) return undefined
  if ((section === 'costLines' || section === 'sessionLines') && parts!.some((x) => x.part.n > 0 && x.part.dict[0] !== pricesFingerprint(prices))) return undefined
  // A call without usage has no line (null): its row is not in `usage` / `cost`.
  if (parts!.some((x) => x.part.n > 0 && (x.part.cols.line as Text).nul.indexOf(1) !== -1)) return undefined
  const t = first.cols.line as Text
  if (section === 'sessionLines') {
    // A later segment's calls or flows (its dictionary counts them) change the sums of its sessions.
    if (parts!.slice(1).some((x) => x.part.dict[1] !== '0')) return undefined
    // sessions' rows (a few: one per session) as objects are its lines parsed.
    if (!ndjson) return { columns: MODES[mode].columns, rows: t.all().map((l) => Object.values(JSON.parse(l!) as Record<string, Value>)) }
    return { columns: MODES[mode].columns, refs: wholeRefs([first]), lines: [t] }
  }
  const withRows = parts!.filter((x) => x.part.n > 0).map((x) => x.part)
  if (withRows.length <= 1) return { columns: MODES[mode].columns, refs: wholeRefs([withRows[0] ?? first]), lines: [(withRows[0] ?? first).cols.line as Text] }
  // Appends: each segment's lines are in the mode's order; when every segment's first row comes
  // strictly after the row before it (the last of the segment before), the answer is the
  // segments' lines one after another. A tie or an earlier row: the caller merges the rows.
  const keys = mode === 'tool_calls' ? ['ts', 'flow_id', 'call', 'index'] : ['ts', 'flow_id', 'call']
  const keyOf = (line: string | null): Value[] => {
    const o = JSON.parse(line!) as Record<string, Value>
    return keys.map((k) => o[k] ?? null)
  }
  for (let k = 1; k < withRows.length; k++) {
    const prev = withRows[k - 1]!
    const a = keyOf((prev.cols.line as Text).get(prev.n - 1))
    const b = keyOf((withRows[k]!.cols.line as Text).get(0))
    let c = 0
    for (let j = 0; j < keys.length && c === 0; j++) c = cmpVal(a[j]!, b[j]!)
    if (c >= 0) return undefined
  }
  const n = withRows.reduce((m, p) => m + p.n, 0)
  const pi = new Uint16Array(n)
  const ri = new Int32Array(n)
  let r = 0
  withRows.forEach((p, x) => {
    for (let i = 0; i < p.n; i++, r++) {
      pi[r] = x
      ri[r] = i
    }
  })
  return { columns: MODES[mode].columns, refs: { parts: withRows, pi, ri, n, whole: false }, lines: withRows.map((p) => p.cols.line as Text) }
}

/** The rows of a facts mode; undefined when the facts cannot tell them exactly (the caller asks DuckDB). */
export function factsRows(mode: ModeName, f: WireFacts, prices: PriceTable): FactsAnswer | undefined {
  const columns = MODES[mode].columns
  if (mode === 'usage' || mode === 'cost') {
    const parts = f.parts.calls!.map((x) => {
      const has = x.part.cols.has as Uint8Array
      // Every call has usage (0: none, 2: NULL): the part's own rows, no mask to make.
      if (has.indexOf(0) === -1 && has.indexOf(2) === -1) return { part: x.part, alive: x.alive }
      const alive = new Uint8Array(x.part.n)
      for (let i = 0; i < x.part.n; i++) alive[i] = has[i] === 1 && (x.alive === undefined || x.alive[i] === 1) ? 1 : 0
      return { part: x.part, alive }
    })
    const refs = ordered(parts, ['ts', 'flow', 'idx'])
    const price = pricer(prices)
    const head: Field[] = [textField('ts', 'ts'), dictField('session_id', 'session'), textField('flow_id', 'flow'), numField('call', 'idx'), dictField('model', 'model')]
    const u = (k: number) => (p: Part, i: number): Value => {
      const v = (p.cols[USAGE[k]!] as Float64Array)[i]!
      return Number.isNaN(v) ? null : v
    }
    // NaN (NULL) in a sum is NULL.
    const cw = (p: Part, i: number): Value => {
      const v = (p.cols.cache_write_5m_tokens as Float64Array)[i]! + (p.cols.cache_write_1h_tokens as Float64Array)[i]!
      return Number.isNaN(v) ? null : v
    }
    const sumOf = (name: string, cols: string[], value: Field['value']): Field => ({ name, value, kind: NUM, col: cols })
    const fields: Field[] = mode === 'usage'
      ? [...head, sumOf('input_tokens', [USAGE[0]!], u(0)), sumOf('cache_read_tokens', [USAGE[1]!], u(1)), sumOf('cache_write_tokens', [USAGE[2]!, USAGE[3]!], cw), sumOf('cache_write_1h_tokens', [USAGE[3]!], u(3)),
          sumOf('output_tokens', [USAGE[4]!], u(4)), sumOf('reasoning_tokens', [USAGE[5]!], u(5)), sumOf('total_tokens', USAGE.slice(0, 5), (p, i) => {
            const c = p.cols
            const v = (c.input_tokens as Float64Array)[i]! + (c.cache_read_tokens as Float64Array)[i]! + (c.cache_write_5m_tokens as Float64Array)[i]! + (c.cache_write_1h_tokens as Float64Array)[i]! + (c.output_tokens as Float64Array)[i]!
            return Number.isNaN(v) ? null : v
          })]
      : [...head, { name: 'price_key', value: (p, i) => price(p, (p.cols.priceModel as Int32Array)[i]!).key }, sumOf('input_tokens', [USAGE[0]!], u(0)), sumOf('cache_read_tokens', [USAGE[1]!], u(1)),
          sumOf('cache_write_tokens', [USAGE[2]!, USAGE[3]!], cw), sumOf('output_tokens', [USAGE[4]!], u(4)),
          { name: 'cost_usd', value: (p, i) => costOf(usageOf(p, i), price(p, (p.cols.priceModel as Int32Array)[i]!).rates) }, { name: 'prices_version', value: () => prices.version ?? null }]
    if (fields.map((x) => x.name).join(', ') !== columns.join(', ')) return undefined
    const own = mode === 'usage' ? f.parts.usageLines : f.parts.costLines?.every((x) => x.part.dict[0] === pricesFingerprint(prices)) ? f.parts.costLines : undefined
    return { columns, refs, fields, lines: own?.map((x) => x.part.cols.line as Text) }
  }
  if (mode === 'tool_calls') {
    const refs = ordered(f.parts.tools!, ['ts', 'flow', 'call', 'position'])
    const fields: Field[] = [textField('ts', 'ts'), dictField('session_id', 'session'), textField('flow_id', 'flow'), numField('call', 'call'), numField('index', 'position'),
      textField('call_id', 'callId'), dictField('name', 'name'), dictField('kind', 'kind'), textField('arguments', 'args'),
      { name: 'complete', value: (p, i) => ((p.cols.complete as Uint8Array)[i] === 2 ? null : (p.cols.complete as Uint8Array)[i] === 1) }]
    if (fields.map((x) => x.name).join(', ') !== columns.join(', ')) return undefined
    return { columns, refs, fields, lines: f.parts.toolLines?.map((x) => x.part.cols.line as Text) }
  }
  if (mode !== 'sessions') return undefined
  // fl: per session (null included) the most frequent client, first and last seen, flows.
  interface S { clients: Map<string, number>; first: [Text, number] | undefined; last: [Text, number] | undefined; flows: number; input: number | null; cr: number | null; cw: number | null; out: number | null; cost: number | null; unpriced: number; turns: Set<number>; errors: number }
  const by = new Map<string | null, S>()
  const sessionOf = (sid: string | null): S => {
    let s = by.get(sid)
    if (s === undefined) by.set(sid, (s = { clients: new Map(), first: undefined, last: undefined, flows: 0, input: null, cr: null, cw: null, out: null, cost: null, unpriced: 0, turns: new Set(), errors: 0 }))
    return s
  }
  for (const { part: p, alive } of f.parts.flows!) {
    const start = p.cols.start as Text
    const last = p.cols.last as Text
    const session = p.cols.session as Int32Array
    const client = p.cols.client as Int32Array
    const err = p.cols.err as Uint8Array
    // Per dictionary number: its session's sums.
    const sessions: (S | undefined)[] = []
    for (let i = 0; i < p.n; i++) {
      if (alive !== undefined && alive[i] !== 1) continue
      const x = session[i]!
      const s = x === -1 ? sessionOf(null) : (sessions[x] ??= sessionOf(p.dict[x]!))
      s.flows++
      if (client[i] !== -1) {
        const cl = p.dict[client[i]!]!
        s.clients.set(cl, (s.clients.get(cl) ?? 0) + 1)
      }
      // min / max of strings: by their bytes, as DuckDB orders VARCHAR (decoded once, the winners).
      if (start.nul[i] !== 1 && (s.first === undefined || cmpBytes(start, i, s.first[0], s.first[1]) < 0)) s.first = [start, i]
      if (last.nul[i] !== 1 && (s.last === undefined || cmpBytes(last, i, s.last[0], s.last[1]) > 0)) s.last = [last, i]
      if (err[i] === 1) s.errors++
    }
  }
  const price = pricer(prices)
  // The calls in the table's order (a part's `seq`), each joined to its session (a null session joins nothing).
  for (const { part: p, alive } of f.parts.calls!) {
    const seq = p.cols.seq as Int32Array
    const order = new Int32Array(p.n).fill(-1)
    for (let i = 0; i < p.n; i++) order[seq[i]!] = i
    const session = p.cols.session as Int32Array
    const has = p.cols.has as Uint8Array
    const err = p.cols.err as Uint8Array
    const pk = p.cols.pk as Float64Array
    const pm = p.cols.priceModel as Int32Array
    const sessions = p.dict.map((x) => by.get(x))
    const rates: (number[] | undefined)[] = []
    const rated: boolean[] = []
    const U = USAGE.map((c) => p.cols[c] as Float64Array)
    for (let j = 0; j < p.n; j++) {
      const i = order[j]!
      if (i === -1) throw new Error('bad seq')
      if ((alive !== undefined && alive[i] !== 1) || session[i] === -1) continue
      const s = sessions[session[i]!]
      if (s === undefined) continue
      if (err[i] === 1) s.errors++
      if (!Number.isNaN(pk[i]!)) s.turns.add(pk[i]!)
      if (has[i] !== 1) continue
      // NaN is NULL: a sum skips it, a NULL token count makes the cost NULL.
      const a = U[0]![i]!
      const b = U[1]![i]!
      const c = U[2]![i]!
      const d = U[3]![i]!
      const e = U[4]![i]!
      if (!Number.isNaN(a)) s.input = (s.input ?? 0) + a
      if (!Number.isNaN(b)) s.cr = (s.cr ?? 0) + b
      if (!Number.isNaN(c + d)) s.cw = (s.cw ?? 0) + c + d
      if (!Number.isNaN(e)) s.out = (s.out ?? 0) + e
      const m = pm[i]! + 1
      if (rated[m] !== true) {
        rates[m] = price(p, m - 1).rates
        rated[m] = true
      }
      const r = rates[m]
      const cost = r === undefined || Number.isNaN(a + b + c + d + e) ? null : round8((a * r[0]! + b * r[1]! + c * r[2]! + d * r[3]! + e * r[4]!) / 1e6)
      if (cost === null) s.unpriced++
      else s.cost = s.cost === null ? cost : s.cost + cost
    }
  }
  const out: { first: string | null; sid: string | null; row: Value[] }[] = []
  for (const [sid, s] of by) {
    // mode(client): a tie is broken by the order DuckDB met the values, which the facts do not keep.
    let best: string | null = null
    let bestN = 0
    let tie = false
    for (const [cl, n] of s.clients) {
      if (n > bestN) {
        best = cl
        bestN = n
        tie = false
      } else if (n === bestN) tie = true
    }
    if (tie) return undefined
    // A null session joins no call (`using (session_id)`): no turns, tokens or call errors.
    const first = s.first === undefined ? null : s.first[0].get(s.first[1])
    const last = s.last === undefined ? null : s.last[0].get(s.last[1])
    out.push({
      first,
      sid,
      row: [sid, best, first, last, s.flows, s.turns.size, s.input ?? 0, s.cr ?? 0, s.cw ?? 0, s.out ?? 0, round8(s.cost ?? 0), s.unpriced, s.errors, prices.version ?? null],
    })
  }
  out.sort((a, b) => cmpVal(a.first, b.first) || cmpVal(a.sid, b.sid))
  return { columns, rows: out.map((o) => o.row) }
}

/** The rows as objects. */
export function factsObjects(a: FactsAnswer): Row[] {
  if (a.rows !== undefined) {
    return a.rows.map((r) => {
      const o: Row = {}
      for (let i = 0; i < a.columns.length; i++) o[a.columns[i]!] = r[i] ?? null
      return o
    })
  }
  const { parts, pi, ri, n } = a.refs!
  const out: Row[] = new Array<Row>(n)
  for (let r = 0; r < n; r++) {
    const o: Row = {}
    for (const f of a.fields!) o[f.name] = f.value(parts[pi[r]!]!, ri[r]!)
    out[r] = o
  }
  return out
}

/** How many rows an answer has. */
export const factsCount = (a: FactsAnswer): number => a.rows?.length ?? a.refs!.n
