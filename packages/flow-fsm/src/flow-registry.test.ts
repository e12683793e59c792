import { describe, expect, it } from 'vitest'
import { createFlowRegistry } from './flow-registry.js'
import { FlowFsmError } from './errors.js'
import type { FlowTransition } from './types.js'

const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const iso = (ms: number) => new Date(T0 + ms).toISOString()
const flow = (id: string, session = 's1', at = 0) => ({
  v: 1, type: 'flow' as const, ts: iso(at), flow_id: id, session_id: session,
  client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages',
})
const sse = (id: string, seq: number, t_ms: number) => ({
  v: 1, type: 'sse' as const, ts: iso(t_ms), flow_id: id, session_id: 's1', seq, t_ms, data: '{}',
})
const end = (id: string, outcome = 'completed', extra: Record<string, unknown> = {}) => ({
  v: 1, type: 'flow_end' as const, ts: iso(0), flow_id: id, session_id: 's1', outcome, ...extra,
})

function clock(start = 0) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

describe('createFlowRegistry', () => {
  it('walks STREAMING → DONE on the terminal event and records model, block, usage and timings', () => {
    const c = clock()
    const ts: FlowTransition[] = []
    const reg = createFlowRegistry({ now: c.now, onTransition: (t) => ts.push(t) })
    reg.feed(flow('f1'))
    expect(reg.get('f1')?.state).toBe('STREAMING')
    reg.feed(sse('f1', 0, 412))
    reg.feedEvent({ type: 'message_start', flow_id: 'f1', provider: 'anthropic', model: 'claude-x', message_id: 'msg_1' })
    reg.feedEvent({ type: 'usage', flow_id: 'f1', provider: 'anthropic', usage: { input_tokens: 10, output_tokens: 1 }, cumulative: true })
    reg.feed(sse('f1', 1, 500))
    reg.feedEvent({ type: 'thinking_delta', flow_id: 'f1', provider: 'anthropic', index: 0, text: 'hmm' })
    expect(reg.get('f1')?.currentBlock).toEqual({ kind: 'thinking', index: 0 })
    reg.feedEvent({ type: 'text_delta', flow_id: 'f1', provider: 'anthropic', index: 1, text: 'Hello' })
    reg.feedEvent({ type: 'tool_call_start', flow_id: 'f1', provider: 'anthropic', index: 2, call_id: 'toolu_1', name: 'Bash', kind: 'function' })
    expect(reg.get('f1')?.currentBlock).toEqual({ kind: 'tool', index: 2, call_id: 'toolu_1', name: 'Bash' })
    reg.feedEvent({ type: 'usage', flow_id: 'f1', provider: 'anthropic', usage: { output_tokens: 42 }, cumulative: true })
    reg.feed(sse('f1', 2, 1900))
    reg.feedEvent({ type: 'message_end', flow_id: 'f1', provider: 'anthropic', stop_reason: 'tool_use' })
    const f = reg.get('f1')
    expect(f?.state).toBe('DONE')
    expect(f?.model).toBe('claude-x')
    expect(f?.message_id).toBe('msg_1')
    expect(f?.usage).toEqual({ input_tokens: 10, output_tokens: 42 })
    expect(f?.ttfb_ms).toBe(412)
    expect(f?.duration_ms).toBe(1900)
    expect(f?.counts).toMatchObject({ records: 3, textDeltas: 1, thinkingDeltas: 1, toolCalls: 1, textChars: 5, thinkingChars: 3 })
    expect(f?.currentBlock).toBeUndefined()
    expect(ts.map((t) => [t.from, t.to, t.reason])).toEqual([['STREAMING', 'DONE', 'terminal_event']])
    // flow_end after the terminal event refines timings, does not change state.
    reg.feed(end('f1', 'completed', { ttfb_ms: 400, duration_ms: 2000, status: 200 }))
    expect(reg.get('f1')).toMatchObject({ state: 'DONE', ttfb_ms: 400, duration_ms: 2000, status: 200, outcome: 'completed' })
    expect(ts).toHaveLength(1)
  })

  it('keeps a WebSocket flow STREAMING across responses and ends it with its flow_end', () => {
    const reg = createFlowRegistry({ now: () => 0 })
    reg.feed(flow('ws'))
    const ws = (seq: number) => ({ ...sse('ws', seq, seq * 10), transport: 'ws' as const })
    const e = { flow_id: 'ws', provider: 'openai-responses' as const }
    reg.feed(ws(0))
    reg.feedEvent({ ...e, type: 'message_start', model: 'gpt-5-codex' })
    reg.feedEvent({ ...e, type: 'text_delta', text: 'one' })
    reg.feedEvent({ ...e, type: 'message_end', stop_reason: 'completed' })
    expect(reg.get('ws')).toMatchObject({ state: 'STREAMING', transport: 'ws', stop_reason: 'completed' })
    reg.feed(ws(1))
    reg.feedEvent({ ...e, type: 'message_start' })
    reg.feedEvent({ ...e, type: 'text_delta', text: 'two' })
    reg.feedEvent({ ...e, type: 'message_end', stop_reason: 'completed' })
    reg.feed(end('ws'))
    expect(reg.get('ws')).toMatchObject({ state: 'DONE', counts: { messages: 2, textDeltas: 2 } })
    // a connection that closes in the middle of a response is DEAD
    reg.feed(flow('ws2'))
    reg.feed({ ...sse('ws2', 0, 0), transport: 'ws' })
    reg.feedEvent({ flow_id: 'ws2', provider: 'openai-responses', type: 'message_end', stop_reason: 'completed' })
    reg.feedEvent({ flow_id: 'ws2', provider: 'openai-responses', type: 'text_delta', text: 'half' })
    reg.feed(end('ws2'))
    expect(reg.get('ws2')).toMatchObject({ state: 'DEAD', deadReason: 'incomplete' })
  })

  it('sums additive usage and replaces cumulative usage', () => {
    const reg = createFlowRegistry({ now: () => 0 })
    reg.feedEvent({ type: 'usage', flow_id: 'f', provider: 'openai-chat', usage: { output_tokens: 3 }, cumulative: false })
    reg.feedEvent({ type: 'usage', flow_id: 'f', provider: 'openai-chat', usage: { output_tokens: 4, input_tokens: 1 }, cumulative: false })
    expect(reg.get('f')?.usage).toEqual({ output_tokens: 7, input_tokens: 1 })
  })

  it('goes DEAD when idle, and resumes when data arrives after all', () => {
    const c = clock()
    const reg = createFlowRegistry({ now: c.now, idleMs: 1000 })
    reg.feed(flow('a'))
    reg.feed(flow('b'))
    c.advance(600)
    reg.feed(sse('b', 0, 600))
    c.advance(400)
    const t1 = reg.tick()
    expect(t1.map((t) => [t.flow_id, t.to, t.reason])).toEqual([['a', 'DEAD', 'idle']])
    expect(reg.get('b')?.state).toBe('STREAMING')
    c.advance(600)
    expect(reg.tick().map((t) => t.flow_id)).toEqual(['b'])
    reg.feed(sse('a', 0, 1600))
    expect(reg.get('a')).toMatchObject({ state: 'STREAMING' })
    expect(reg.get('a')?.deadReason).toBeUndefined()
    expect(reg.stats.resumed).toBe(1)
  })

  it('goes DEAD (incomplete) when the stream ends without its terminal event', () => {
    const reg = createFlowRegistry({ now: () => 0 })
    reg.feed(flow('f'))
    reg.feedEvent({ type: 'text_delta', flow_id: 'f', provider: 'anthropic', text: 'partial' })
    reg.feedEvent({ type: 'message_end', flow_id: 'f', provider: 'anthropic', incomplete: true })
    expect(reg.get('f')).toMatchObject({ state: 'DEAD', deadReason: 'incomplete' })
    // a completed flow_end whose stream never had a terminal event is still DEAD
    reg.feed(flow('g'))
    reg.feedEvent({ type: 'text_delta', flow_id: 'g', provider: 'anthropic', text: 'x' })
    reg.feed(end('g', 'completed'))
    expect(reg.get('g')).toMatchObject({ state: 'DEAD', deadReason: 'incomplete' })
  })

  it('maps flow_end outcomes: aborted → DEAD, error → DONE with the error, records only → DONE', () => {
    const reg = createFlowRegistry({ now: () => 0 })
    reg.feed(flow('ab'))
    reg.feed(end('ab', 'aborted'))
    expect(reg.get('ab')).toMatchObject({ state: 'DEAD', deadReason: 'aborted' })
    reg.feed(flow('er'))
    reg.feed(end('er', 'upstream_error', { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } }))
    expect(reg.get('er')).toMatchObject({ state: 'DONE', status: 529, error: 'overloaded_error: Overloaded' })
    reg.feed(flow('ok'))
    reg.feed(sse('ok', 0, 10))
    reg.feed(end('ok'))
    expect(reg.get('ok')).toMatchObject({ state: 'DONE', ttfb_ms: 10 })
  })

  it('reports data after DONE with expected/was, without reopening the flow', () => {
    const errors: FlowFsmError[] = []
    const reg = createFlowRegistry({ now: () => 0, onError: (e) => errors.push(e) })
    reg.feed(flow('f'))
    reg.feedEvent({ type: 'message_end', flow_id: 'f', provider: 'anthropic', stop_reason: 'end_turn' })
    reg.feed(sse('f', 9, 50))
    expect(reg.get('f')?.state).toBe('DONE')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.code).toBe('ILLEGAL_TRANSITION')
    expect(errors[0]?.message).toContain('expected STREAMING, was DONE')
    expect(errors[0]?.seq).toBe(9)
  })

  it('reports records without a flow_id and keeps going', () => {
    const errors: FlowFsmError[] = []
    const reg = createFlowRegistry({ now: () => 0, onError: (e) => errors.push(e) })
    expect(reg.feed({ type: 'sse' } as never)).toBeUndefined()
    reg.feed(flow('f'))
    expect(errors.map((e) => e.code)).toEqual(['INVALID_RECORD'])
    expect(errors[0]?.message).toContain('received {"type":"sse"}')
    expect(reg.size).toBe(1)
  })

  it('creates a flow implicitly when the monitor starts mid-stream', () => {
    const reg = createFlowRegistry({ now: () => 0 })
    reg.feed(sse('late', 5, 100))
    expect(reg.get('late')).toMatchObject({ state: 'STREAMING', session_id: 's1' })
  })

  it('keeps memory flat: 100k flows through the registry, retained count bounded', () => {
    const c = clock()
    const reg = createFlowRegistry({ now: c.now, retentionMs: 5_000, maxRetained: 500, idleMs: 30_000 })
    let maxSize = 0
    for (let i = 0; i < 100_000; i++) {
      const id = `f${i}`
      reg.feed(flow(id, `s${i % 7}`))
      reg.feed(sse(id, 0, 5))
      if (i % 10 === 9) {
        // every tenth flow is abandoned and must die idle
      } else {
        reg.feedEvent({ type: 'message_end', flow_id: id, provider: 'anthropic', stop_reason: 'end_turn' })
      }
      c.advance(3)
      if (i % 100 === 0) reg.tick()
      maxSize = Math.max(maxSize, reg.size)
    }
    c.advance(60_000)
    reg.tick() // abandoned flows die now and are retained for retentionMs
    expect(reg.size).toBeGreaterThan(0)
    c.advance(5_000)
    reg.tick()
    expect(reg.stats.created).toBe(100_000)
    expect(reg.stats.done).toBe(90_000)
    expect(reg.stats.dead).toBe(10_000)
    // streaming flows live at most idleMs (30 s at 3 ms/flow, one in ten abandoned ≈ 1000) + 500 retained
    expect(maxSize).toBeLessThanOrEqual(500 + 1100)
    expect(reg.size).toBe(0)
    expect(reg.stats.evicted).toBe(100_000)
  }, 60_000) // CPU-heavy by design (100k flows); a loaded CI machine needs more than the 5 s default

  it('lists streaming flows least recently active first, kills, removes and resets', () => {
    const c = clock()
    const reg = createFlowRegistry({ now: c.now })
    reg.feed(flow('a'))
    c.advance(1)
    reg.feed(flow('b'))
    c.advance(1)
    reg.feed(sse('a', 0, 2))
    expect(reg.streaming().map((f) => f.flow_id)).toEqual(['b', 'a'])
    const t = reg.kill('b')
    expect(t).toMatchObject({ from: 'STREAMING', to: 'DEAD', reason: 'incomplete' })
    expect(reg.kill('b')).toBeUndefined()
    expect(reg.flows().map((f) => [f.flow_id, f.state])).toEqual([
      ['a', 'STREAMING'],
      ['b', 'DEAD'],
    ])
    expect(reg.remove('a')).toBe(true)
    expect(reg.remove('a')).toBe(false)
    expect(reg.stats).toMatchObject({ created: 2, dead: 1, streaming: 0, retained: 1 })
    reg.reset()
    expect(reg.size).toBe(0)
    expect(reg.stats.created).toBe(0)
  })

  it('counts unknown record types as activity without changing state (forward compatible)', () => {
    const c = clock()
    const reg = createFlowRegistry({ now: c.now, idleMs: 100 })
    reg.feed(flow('f'))
    c.advance(90)
    reg.feed({ v: 2, type: 'ws_close', ts: iso(90), flow_id: 'f', session_id: 's1' })
    c.advance(20)
    expect(reg.tick()).toEqual([])
    expect(reg.feed({ v: 2, type: 'ws_close', flow_id: 'nope' })).toBeUndefined()
  })

  it('rejects bad options', () => {
    expect(() => createFlowRegistry({ idleMs: 0 })).toThrow(/idleMs: expected a number >= 1/)
    expect(() => createFlowRegistry({ maxRetained: -1 })).toThrow(FlowFsmError)
  })
})
