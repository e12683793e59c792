import { describe, expect, it } from 'vitest'
import type { ModelCall } from '@agenttap/ledger'
import { mergeCall, UsageCalls } from '../src/index.ts'

describe('a call merged into a row', () => {
  it('has the facts mergeCall gives the two call objects, whichever comes first, wins or lacks usage or a stop reason', () => {
    const base = (over: Partial<ModelCall>): ModelCall => ({
      ledger_version: 1, key: 'codex-rollout:s:1', source: 'codex-rollout', flow_id: 'codex-rollout:s:1', index: 0, session_id: 's', session_source: 'transcript',
      client: 'codex', provider: 'openai', api: 'openai-responses', transport: 'sse', kind: 'model', started_at: '2026-11-20T10:00:00.000Z', ended_at: '2026-11-20T10:00:00.000Z',
      duration_ms: 0, outcome: 'completed', text: '', reasoning: '', tool_calls: [], tool_results: [], request: { tool_names: [], message_count: 0 }, ...over,
    }) as ModelCall
    const usage = (output: number, reasoning?: number) => ({ input: 10 + output, cache_read: 2, cache_write_5m: 0, cache_write_1h: 0, output, ...(reasoning !== undefined ? { reasoning } : {}) })
    const variants: Partial<ModelCall>[] = []
    for (const ts of ['2026-11-20T10:00:00.000Z', '2026-11-20T09:00:00.000Z', '2026-11-20T11:00:00.000Z'])
      for (const u of [undefined, usage(5), usage(9, 3)])
        for (const stop of [undefined, 'end_turn'])
          for (const prompt of [undefined, `p ${ts.slice(11, 13)}`])
            variants.push({ started_at: ts, ended_at: ts, session_id: `s ${ts.slice(11, 13)}`, model: `m ${ts.slice(11, 13)}`, agent: ts < '2026-11-20T10' ? 'fork' : undefined, ...(u !== undefined ? { usage: u } : {}), ...(stop !== undefined ? { stop_reason: stop } : {}), ...(prompt !== undefined ? { prompt } : {}) } as Partial<ModelCall>)
    const facts = (r: UsageCalls) => Array.from(r.facts(), (f) => ({ ...f, prompt: r.prompt[0], ended: r.ended[0], id: r.id[0] }))
    let n = 0
    for (const a of variants) {
      for (const b of variants) {
        const ca = base(a)
        const cb = base(b)
        const want = new UsageCalls()
        want.addCall(mergeCall(ca, cb))
        const got = new UsageCalls()
        got.mergeCall(got.addCall(ca), cb)
        expect(facts(got), JSON.stringify([a, b])).toEqual(facts(want))
        n++
      }
    }
    expect(n).toBe(36 * 36)
  })
})
