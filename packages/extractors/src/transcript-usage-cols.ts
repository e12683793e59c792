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
  for (const c of calls) {
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
  return out
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
