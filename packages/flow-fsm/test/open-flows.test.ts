/**
 * Fault test (issue 16 item 5): 100,000 flows that start streaming and never end, replayed
 * through the live view, then the input ends. The screen controller used to scan every open flow
 * at each switch (119 s for this replay); with its waiting cards in priority queues it takes
 * seconds. Speed is the benchmark's to measure (bench/open-flows.bench.mjs prints 10k / 100k /
 * 300k and the growth per flow); this test proves the behaviour at that scale.
 *
 * What it asserts is what a user sees: every flow is shown once, with its text, and ended once
 * as dead (input ended); nothing is left open and no card holds output afterwards.
 */
import { describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLiveView } from '../src/live-view.js'

const N = 100_000

describe('100k flows that never end', () => {
  it('are each shown once and ended once at the end of the input, and nothing stays open', () => {
    const t0 = Date.parse('2026-01-01T00:00:00.000Z')
    let now = t0
    const headers = new Set<string>()
    let headerOps = 0
    let deadLines = 0
    let says = 0
    const view = createLiveView({
      now: () => now,
      preview: false,
      onOps: (ops) => {
        for (const op of ops) {
          if (op.op === 'header') {
            headerOps++
            headers.add(op.flow_id)
          } else if (op.op === 'text') {
            if (op.text.includes('dead (input ended)')) deadLines++
            if (op.text.includes(' says hi')) says++
          }
        }
      },
    })
    for (let i = 0; i < N; i++) {
      const ts = new Date(t0 + i).toISOString()
      const base = { v: 1, ts, flow_id: `open-${i}`, session_id: `s${i % 50}` }
      view.feed({ ...base, type: 'flow', client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' } as unknown as CaptureRecord)
      view.feed({ ...base, type: 'sse', seq: 0, event: 'message_start', data: '{"type":"message_start","message":{"id":"m","model":"claude-x","role":"assistant","usage":{"input_tokens":3,"output_tokens":1}}}' } as unknown as CaptureRecord)
      view.feed({ ...base, type: 'sse', seq: 1, event: 'content_block_delta', data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"flow ${i} says hi"}}` } as unknown as CaptureRecord)
      now += 1
      if (i % 256 === 0) view.tick()
    }
    view.end()
    expect(view.stats.flows).toBe(N)
    expect(view.stats.ended).toBe(N)
    expect(view.stats.liveFlows).toBe(0)
    // every flow had the screen, its text was printed, and it ended exactly once
    expect(headers.size).toBe(N)
    expect(says).toBe(N)
    expect(deadLines).toBe(N)
    // a card is not shown again and again (the old controller could hand the screen back and forth)
    expect(headerOps).toBeLessThan(2 * N)
  }, 600_000)
})
