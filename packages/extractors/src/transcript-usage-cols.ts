/**
 * The calls of the transcript usage summary (see transcript-usage.ts) as plain columns: what a
 * worker thread hands back (cheap to clone) and what the summary file holds (cheap to parse).
 * Repeated strings (sessions, models, agents, sources, clients, stop reasons) are numbers into a
 * dictionary; each call's usage is six numbers.
 */

import type { UsageFacts } from '@agenttap/transcripts'
import { stringDict } from './string-dict.js'
import { keyHash } from './transcript-usage-hash.js'

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

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The calls of one or more parts as one part in the order of `usage` (start time, then key):
 * each part sorted (a part read file after file is runs of calls already in order), then
 * merged. A table that takes its calls in this order holds them so, and the sorts of its
 * rewrite and of `usage` find them in order (a pass, not a sort). A key in two parts stays
 * twice (the table merges them).
 */
export function inUsageOrder(parts: UsageColumns[]): UsageColumns {
  const runs = parts.map((p) => {
    const o = Array.from({ length: p.key.length }, (_, i) => i)
    return o.sort((a, b) => cmp(p.ts[a]!, p.ts[b]!) || cmp(p.key[a]!, p.key[b]!))
  })
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
  return gather(parts, from, row)
}

/** Columns of the calls `row[j]` of `parts[from[j]]`, in that order (one dictionary). */
function gather(parts: UsageColumns[], from: number[], row: number[]): UsageColumns {
  const { dict, id } = stringDict()
  const remap = parts.map((p) => Int32Array.from(p.dict, id))
  const hashes = parts.map((p) => (p.h?.length === 2 * p.key.length ? p.h : undefined))
  const days = parts.map((p) => (p.day?.length === p.key.length ? p.day : undefined))
  const n = from.length
  const out: UsageColumns = { dict, key: new Array<string>(n), ts: new Array<string>(n), session: new Array<number>(n), agent: new Array<number>(n), source: new Array<number>(n), client: new Array<number>(n), model: new Array<number>(n), stop: new Array<number>(n), has: new Array<number>(n), u: new Array<number>(6 * n) }
  const h = new Uint32Array(2 * n)
  const day = new Int32Array(n)
  for (let j = 0; j < n; j++) {
    const p = parts[from[j]!]!
    const m = remap[from[j]!]!
    const i = row[j]!
    const to = (x: number): number => (x === -1 ? -1 : m[x] ?? -1)
    out.key[j] = p.key[i]!
    out.ts[j] = p.ts[i]!
    out.session[j] = to(p.session[i]!)
    out.agent[j] = to(p.agent[i]!)
    out.source[j] = to(p.source[i]!)
    out.client[j] = to(p.client[i]!)
    out.model[j] = to(p.model[i]!)
    out.stop[j] = to(p.stop[i]!)
    out.has[j] = p.has[i]!
    for (let x = 0; x < 6; x++) out.u[6 * j + x] = p.u[6 * i + x]!
    const ph = hashes[from[j]!]
    const [a, b] = ph !== undefined ? [ph[2 * i]!, ph[2 * i + 1]!] : keyHash(p.key[i]!)
    h[2 * j] = a
    h[2 * j + 1] = b
    const pd = days[from[j]!]
    day[j] = pd !== undefined ? to(pd[i]!) : id(p.ts[i]!.slice(0, 10))
  }
  out.h = h
  out.day = day
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
