/**
 * The calls of the transcript usage summary (see transcript-usage.ts) as plain columns: what a
 * worker thread hands back (cheap to clone) and what the summary file holds (cheap to parse).
 * Repeated strings (sessions, models, agents, sources, clients, stop reasons) are numbers into a
 * dictionary; each call's usage is six numbers.
 */

import type { UsageCalls, UsageFacts } from '@agenttap/transcripts'
import { stringDict } from './string-dict.js'
import { keyHash } from './transcript-usage-hash.js'

/**
 * One transcript call, as far as the usage-type answers need it: the importer's usage facts
 * (`key` is its content key, the call's `flow_id` in the index; `reasoning` null when the
 * response reported none).
 */
export type UsageCall = UsageFacts

/**
 * Calls as columns. `u`: 6 numbers a call (input, cache read, cache write 5m, 1h, output,
 * reasoning; -1: null); `has`: 0/1. The number columns are plain arrays in a summary's segments
 * (JSON) and typed arrays where a thread makes them (moved to the main thread, not copied).
 */
export interface UsageColumns {
  dict: string[]
  key: string[]
  ts: string[]
  session: ArrayLike<number>
  agent: ArrayLike<number>
  source: ArrayLike<number>
  client: ArrayLike<number>
  model: ArrayLike<number>
  stop: ArrayLike<number>
  has: ArrayLike<number>
  u: ArrayLike<number>
  /**
   * Worked out on the thread that read the calls, for the table that takes them (not kept in the
   * summary's segments): each key's hash (two u32, {@link keyHash}) and each call's day (the
   * dictionary number of its start time's first 10 characters).
   */
  h?: Uint32Array
  day?: Int32Array
}

/** The keys' hashes, two u32 a key. */
export function hashAll(keys: string[]): Uint32Array {
  const out = new Uint32Array(2 * keys.length)
  for (let j = 0; j < keys.length; j++) {
    const [a, b] = keyHash(keys[j]!)
    out[2 * j] = a
    out[2 * j + 1] = b
  }
  return out
}

/** Calls to columns. */
export function encodeCalls(calls: Iterable<UsageCall>): UsageColumns {
  const { dict, id: idOf } = stringDict()
  const id = (s: string | null): number => (s === null ? -1 : idOf(s))
  const out = { dict, key: [] as string[], ts: [] as string[], session: [] as number[], agent: [] as number[], source: [] as number[], client: [] as number[], model: [] as number[], stop: [] as number[], has: [] as number[], u: [] as number[] }
  const h: number[] = []
  const day: number[] = []
  let lastDay = ''
  let lastDayId = -1
  for (const c of calls) {
    const [a, b] = keyHash(c.key)
    h.push(a, b)
    // Calls come in file order: the day of the last one is the likely one.
    if (lastDay.length !== 10 || !c.ts.startsWith(lastDay)) lastDayId = id((lastDay = c.ts.slice(0, 10)))
    day.push(lastDayId)
    out.key.push(c.key)
    out.ts.push(c.ts)
    out.session.push(id(c.session_id))
    out.agent.push(id(c.agent))
    out.source.push(id(c.source))
    out.client.push(id(c.client))
    out.model.push(id(c.model))
    out.stop.push(id(c.stop_reason))
    out.has.push(c.has_usage ? 1 : 0)
    out.u.push(c.input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output, c.reasoning ?? -1)
  }
  return { ...out, h: Uint32Array.from(h), day: Int32Array.from(day) }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The importer's rows of a usage-only read as columns in the order of `usage` (start time, then
 * key): {@link encodeCalls} then {@link inUsageOrder} of `rows.facts()`, in one pass over the
 * sorted rows — no generator step, facts object or second copy per call (48k calls on a
 * 400 MB tree, on the thread that read them).
 */
export function encodeRows(rows: UsageCalls): UsageColumns {
  const n = rows.n
  const ts = rows.started
  const keys = rows.key
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => cmp(ts[a]!, ts[b]!) || cmp(keys[a]!, keys[b]!))
  const { dict, id } = stringDict()
  const out = typedColumns(dict, n)
  // Column by column, each a short loop (optimized soon, its compile cheap): one loop doing all
  // of it ran mostly unoptimized while its long compile was under way.
  const days = new Array<string>(n)
  let lastDay = ''
  for (let j = 0; j < n; j++) {
    const i = order[j]!
    const t = ts[i]!
    out.key[j] = keys[i]!
    out.ts[j] = t
    if (lastDay.length !== 10 || !t.startsWith(lastDay)) lastDay = t.slice(0, 10)
    days[j] = lastDay
  }
  hashInto(out.key, out.h)
  // Dictionary numbers (their order is no answer's: rows and sums go by the strings).
  const ident = Array.from({ length: n }, (_, j) => j)
  idsInto(days, ident, id, out.day)
  idsInto(rows.session, order, id, out.session)
  idsInto(rows.agent, order, id, out.agent)
  idsInto(rows.source, order, id, out.source)
  idsInto(rows.client, order, id, out.client)
  idsInto(rows.model, order, id, out.model)
  idsInto(rows.stop, order, id, out.stop)
  // As rows.facts() gives them: no usage (NaN reasoning) is zeros, a reasoning below 0 none (-1).
  const ru = rows.u
  for (let j = 0; j < n; j++) {
    const i = order[j]!
    const has = rows.hasUsage(i)
    out.has[j] = has ? 1 : 0
    for (let x = 0; x < 5; x++) out.u[6 * j + x] = has ? ru[6 * i + x]! : 0
    const r = ru[6 * i + 5]!
    out.u[6 * j + 5] = has && r >= 0 ? r : -1
  }
  return out
}

/** The keys' hashes into `h` (two u32 a key). */
function hashInto(keys: string[], h: Uint32Array): void {
  for (let j = 0; j < keys.length; j++) {
    const [a, b] = keyHash(keys[j]!)
    h[2 * j] = a
    h[2 * j + 1] = b
  }
}

/** The dictionary numbers of `src[order[j]]` into `into[j]` (-1: none); a string like the one before is looked up once. */
function idsInto(src: (string | undefined)[], order: number[], id: (s: string) => number, into: Int32Array): void {
  let last: string | undefined
  let lastId = -1
  for (let j = 0; j < into.length; j++) {
    const s = src[order[j]!]
    into[j] = s === undefined ? -1 : s === last ? lastId : (lastId = id((last = s)))
  }
}

/** Columns for `n` calls as typed arrays (the strings to fill in). */
function typedColumns(dict: string[], n: number): UsageColumns & { session: Int32Array; agent: Int32Array; source: Int32Array; client: Int32Array; model: Int32Array; stop: Int32Array; has: Uint8Array; u: Float64Array; h: Uint32Array; day: Int32Array } {
  const ints = new Int32Array(7 * n)
  const col = (k: number): Int32Array => ints.subarray(k * n, (k + 1) * n)
  return { dict, key: new Array<string>(n), ts: new Array<string>(n), session: col(0), agent: col(1), source: col(2), client: col(3), model: col(4), stop: col(5), day: col(6), has: new Uint8Array(n), u: new Float64Array(6 * n), h: new Uint32Array(2 * n) }
}

/**
 * The calls of one or more parts as one part in the order of `usage` (start time, then key):
 * each part sorted (a part read file after file is runs of calls already in order), then
 * merged. A table that takes its calls in this order holds them so, and the sorts of its
 * rewrite and of `usage` find them in order (a pass, not a sort). A key in two parts stays
 * twice (the table merges them).
 */
export function inUsageOrder(parts: UsageColumns[]): UsageColumns {
  const { from, row } = usageMergeOrder(parts)
  return gather(parts, from, row)
}

/**
 * The calls of `parts` in the order of `usage` (start time, then key): call `row[j]` of part
 * `from[j]`. Each part is sorted (a part read file after file is runs of calls already in
 * order), then the parts are merged.
 */
export function usageMergeOrder(parts: UsageColumns[]): { from: number[]; row: number[] } {
  const runs = parts.map((p) => {
    const o = Array.from({ length: p.key.length }, (_, i) => i)
    return o.sort((a, b) => cmp(p.ts[a]!, p.ts[b]!) || cmp(p.key[a]!, p.key[b]!))
  })
  if (parts.length === 1) return { from: new Array<number>(runs[0]!.length).fill(0), row: runs[0]! }
  const from: number[] = []
  const row: number[] = []
  const at = new Array<number>(parts.length).fill(0)
  for (;;) {
    let best = -1
    let bi = 0
    for (let k = 0; k < parts.length; k++) {
      if (at[k]! >= runs[k]!.length) continue
      const i = runs[k]![at[k]!]!
      if (best !== -1) {
        const p = parts[k]!
        const q = parts[best]!
        if ((cmp(p.ts[i]!, q.ts[bi]!) || cmp(p.key[i]!, q.key[bi]!)) >= 0) continue
      }
      best = k
      bi = i
    }
    if (best === -1) break
    from.push(best)
    row.push(bi)
    at[best]!++
  }
  return { from, row }
}

/** Columns of the calls `row[j]` of `parts[from[j]]`, in that order (one dictionary). */
function gather(parts: UsageColumns[], from: number[], row: number[]): UsageColumns {
  const { dict, id } = stringDict()
  const remap = parts.map((p) => Int32Array.from(p.dict, id))
  const hashes = parts.map((p) => (p.h?.length === 2 * p.key.length ? p.h : undefined))
  const days = parts.map((p) => (p.day?.length === p.key.length ? p.day : undefined))
  const n = from.length
  const out = typedColumns(dict, n)
  const { h, day } = out
  // Column by column, each a short loop (see encodeRows).
  for (let j = 0; j < n; j++) {
    const p = parts[from[j]!]!
    out.key[j] = p.key[row[j]!]!
    out.ts[j] = p.ts[row[j]!]!
  }
  const col = (pick: (p: UsageColumns) => ArrayLike<number>, into: Int32Array): void => remapInto(parts.map(pick), remap, from, row, into)
  col((p) => p.session, out.session)
  col((p) => p.agent, out.agent)
  col((p) => p.source, out.source)
  col((p) => p.client, out.client)
  col((p) => p.model, out.model)
  col((p) => p.stop, out.stop)
  for (let j = 0; j < n; j++) {
    const p = parts[from[j]!]!
    const i = row[j]!
    out.has[j] = p.has[i]!
    for (let x = 0; x < 6; x++) out.u[6 * j + x] = p.u[6 * i + x]!
    const ph = hashes[from[j]!]
    const [a, b] = ph !== undefined ? [ph[2 * i]!, ph[2 * i + 1]!] : keyHash(p.key[i]!)
    h[2 * j] = a
    h[2 * j + 1] = b
  }
  if (days.every((d) => d !== undefined)) col((p) => p.day!, day)
  else {
    for (let j = 0; j < n; j++) {
      const pd = days[from[j]!]
      const x = pd?.[row[j]!]
      day[j] = x === undefined ? id(parts[from[j]!]!.ts[row[j]!]!.slice(0, 10)) : x === -1 ? -1 : remap[from[j]!]![x] ?? -1
    }
  }
  return out
}

/** `into[j]`: the number `srcs[from[j]][row[j]]` of a part's dictionary as the new one's (`remap`); -1 stays. */
function remapInto(srcs: ArrayLike<number>[], remap: Int32Array[], from: number[], row: number[], into: Int32Array): void {
  for (let j = 0; j < into.length; j++) {
    const x = srcs[from[j]!]![row[j]!]!
    into[j] = x === -1 ? -1 : remap[from[j]!]![x] ?? -1
  }
}

/** The columns a summary segment keeps (without the hashes and days worked out for the table). */
export function storedColumns(cols: UsageColumns): UsageColumns {
  const { h: _h, day: _day, ...stored } = cols
  // Number columns as plain arrays (JSON writes a typed array as an object).
  const plain = (a: ArrayLike<number>): number[] => (Array.isArray(a) ? a : Array.from(a))
  return { ...stored, session: plain(cols.session), agent: plain(cols.agent), source: plain(cols.source), client: plain(cols.client), model: plain(cols.model), stop: plain(cols.stop), has: plain(cols.has), u: plain(cols.u) }
}

/** Call `i` of sink columns as a call. */
export function partCall(cols: UsageColumns, i: number): UsageCall {
  const d = cols.dict
  const s = (x: number): string | null => (x === -1 ? null : d[x] ?? null)
  const u = 6 * i
  const r = cols.u[u + 5]!
  return {
    key: cols.key[i]!,
    ts: cols.ts[i]!,
    session_id: s(cols.session[i]!) ?? '',
    agent: s(cols.agent[i]!),
    source: s(cols.source[i]!) ?? '',
    client: s(cols.client[i]!) ?? '',
    model: s(cols.model[i]!),
    has_usage: cols.has[i] === 1,
    input: cols.u[u]!,
    cache_read: cols.u[u + 1]!,
    cache_write_5m: cols.u[u + 2]!,
    cache_write_1h: cols.u[u + 3]!,
    output: cols.u[u + 4]!,
    reasoning: r === -1 ? null : r,
    stop_reason: s(cols.stop[i]!),
  }
}
