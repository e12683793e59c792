import { expect } from 'vitest'
import { createStreamNormalizer, encodeSseEvent, type AgentEvent, type StreamNormalizerOptions } from '../src/index.js'
import { prng, rechunk } from './helpers.js'

export interface Run {
  events: AgentEvent[]
  errors: string[]
  /** Events without flow_id/provider noise, for compact assertions. */
  brief: Record<string, unknown>[]
}

type Opts = Omit<StreamNormalizerOptions, 'onEvent' | 'onError' | 'flow_id'> & { flow_id?: string }

/**
 * Normalizes `[event, payload]` pairs via feedRecord, then checks that the same stream as SSE
 * bytes, re-chunked with 10 seeds, gives identical events and errors.
 */
export function run(pairs: [string | undefined, unknown][], opts: Opts = {}): Run {
  const records = pairs.map(([event, payload], seq) => ({ seq, data: typeof payload === 'string' ? payload : JSON.stringify(payload), ...(event === undefined ? {} : { event }) }))
  const collect = (feed: (n: ReturnType<typeof createStreamNormalizer>) => void): Run => {
    const events: AgentEvent[] = []
    const errors: string[] = []
    const n = createStreamNormalizer({ flow_id: 'f1', ...opts, onEvent: (e) => events.push(e), onError: (e) => errors.push(e.code) })
    feed(n)
    n.end()
    const brief = events.map((e) => {
      const { flow_id: _f, provider: _p, ...rest } = e
      return rest as Record<string, unknown>
    })
    return { events, errors, brief }
  }
  const ref = collect((n) => {
    for (const r of records) n.feedRecord(r)
  })
  const wire = new TextEncoder().encode(records.map((r) => encodeSseEvent(r)).join(''))
  for (let seed = 1; seed <= 10; seed++) {
    const got = collect((n) => {
      for (const c of rechunk(wire, prng(seed))) n.feedBytes(c)
    })
    expect(got.events, `bytes seed ${seed}`).toEqual(ref.events)
    expect(got.errors, `bytes seed ${seed}`).toEqual(ref.errors)
  }
  return ref
}
