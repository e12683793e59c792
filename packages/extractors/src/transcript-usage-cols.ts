/**
 * The calls of the transcript usage summary (see transcript-usage.ts) as plain columns: what a
 * worker thread hands back (cheap to clone) and what the summary file holds (cheap to parse).
 * Repeated strings (sessions, models, agents, sources, clients, stop reasons) are numbers into a
 * dictionary; each call's usage is six numbers.
 */

import type { UsageFacts } from '@agenttap/transcripts'

/**
 * One transcript call, as far as the usage-type answers need it: the importer's usage facts
 * (`key` is its content key, the call's `flow_id` in the index; `reasoning` null when the
 * response reported none).
 */
export type UsageCall = UsageFacts

/** Calls as columns. `u`: 6 numbers a call (input, cache read, cache write 5m, 1h, output, reasoning; -1: null); `has`: 0/1. */
export interface UsageColumns {
  dict: string[]
  key: string[]
  ts: string[]
  session: number[]
  agent: number[]
  source: number[]
  client: number[]
  model: number[]
  stop: number[]
  has: number[]
  u: number[]
  /**
   * Worked out on the thread that read the calls, for the table that takes them (not kept in the
   * summary's segments): each key's hash (two u32, {@link keyHash}) and each call's day (the
   * dictionary number of its start time's first 10 characters).
   */
  h?: Uint32Array
  day?: Int32Array
}

/** Two 32-bit hashes of a string's UTF-16 units (FNV-1a and a multiply-xorshift), as one pair. */
export function keyHash(s: string): [number, number] {
  let a = 0x811c9dc5
  let b = 0x9e3779b9 ^ s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return [a >>> 0, (b ^ (b >>> 13)) >>> 0]
}

/** Calls to columns. */
export function encodeCalls(calls: Iterable<UsageCall>): UsageColumns {
  const dict: string[] = []
  const ids = new Map<string, number>()
  const id = (s: string | null): number => {
    if (s === null) return -1
    let n = ids.get(s)
    if (n === undefined) {
      n = dict.length
      dict.push(s)
      ids.set(s, n)
    }
    return n
  }
  const out: UsageColumns = { dict, key: [], ts: [], session: [], agent: [], source: [], client: [], model: [], stop: [], has: [], u: [] }
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
  out.h = Uint32Array.from(h)
  out.day = Int32Array.from(day)
  return out
}

/** The columns a summary segment keeps (without the hashes and days worked out for the table). */
export function storedColumns(cols: UsageColumns): UsageColumns {
  const { h: _h, day: _day, ...stored } = cols
  return stored
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
