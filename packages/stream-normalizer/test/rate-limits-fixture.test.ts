import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createStreamNormalizer, normalizeRecords, type AgentEvent, type StreamRecord } from '../src/index.js'
import { FIXTURES_DIR, prng, rechunk } from './helpers.js'

const records = readFileSync(join(FIXTURES_DIR, 'standalone/codex-rate-limits.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown>)

const flow = (id: string): { flow: Record<string, unknown>; sse: StreamRecord[] } => ({
  flow: records.find((r) => r['type'] === 'flow' && r['flow_id'] === id) as Record<string, unknown>,
  sse: records.filter((r) => r['type'] === 'sse' && r['flow_id'] === id) as unknown as StreamRecord[],
})

const limitsOf = (events: AgentEvent[]): (number | undefined)[] => events.flatMap((e) => (e.type === 'rate_limits' ? [e.primary?.used_percent] : []))

describe('fixture codex-rate-limits: codex.rate_limits over SSE and WebSocket', () => {
  it('each response gets the rate_limits event sent before it, and nothing else changes', () => {
    const got = ['cx-rl-1', 'cx-rl-2', 'cx-rl-ws'].map((id) => {
      const f = flow(id)
      const r = normalizeRecords(f.sse, { flow_id: id, flow: f.flow })
      expect(r.errors).toEqual([])
      expect(r.events.filter((e) => e.type === 'unknown')).toEqual([])
      return r.events
    })
    expect(got.map(limitsOf)).toEqual([[78], [82], [84, 86]])
    expect(got[2]?.filter((e) => e.type === 'message_end')).toHaveLength(3)
    expect(got[0]?.[0]).toMatchObject({ type: 'rate_limits', seq: 0, limit_id: 'codex', plan_type: 'plus', secondary: { used_percent: 39, window_minutes: 10080, resets_at: 1795600000 }, credits: { has_credits: false, unlimited: false } })
  })

  it('the SSE flows give the same events from their bytes, re-chunked at random points', () => {
    for (const id of ['cx-rl-1', 'cx-rl-2']) {
      const f = flow(id)
      const ref = normalizeRecords(f.sse, { flow_id: id, flow: f.flow }).events
      const wire = new TextEncoder().encode(f.sse.map((r) => `event: ${r.event}\ndata: ${r.data}\n\n`).join(''))
      for (let seed = 1; seed <= 5; seed++) {
        const events: AgentEvent[] = []
        const n = createStreamNormalizer({ flow_id: id, flow: f.flow, onEvent: (e) => events.push(e) })
        for (const c of rechunk(wire, prng(seed))) n.feedBytes(c)
        n.end()
        expect(limitsOf(events)).toEqual(limitsOf(ref))
        expect(events).toEqual(ref)
      }
    }
  })
})
