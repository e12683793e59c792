import { describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLiveCalls } from '../src/live-calls.js'
import { fixtureRecords } from './helpers.js'

function callsOf(name: string) {
  const calls = createLiveCalls()
  for (const r of fixtureRecords(name)) calls.feed(r as unknown as CaptureRecord)
  return calls
}

describe('live calls (the ledger\'s model calls, kept per flow for the live views)', () => {
  it('Anthropic: one call per response, usage in the ledger convention, times from the stream', () => {
    const [call, ...more] = callsOf('claude-code-turn.jsonl').calls('cc-turn-1')
    expect(more).toEqual([])
    expect(call).toMatchObject({
      key: 'cc-turn-1#0',
      flow_id: 'cc-turn-1',
      index: 0,
      client: 'claude-code',
      api: 'anthropic-messages',
      model: 'claude-sonnet-4-5-20250929',
      outcome: 'completed',
      stop_reason: 'tool_use',
      http_status: 200,
      started_at: '2026-11-20T10:00:00.000Z',
      ended_at: '2026-11-20T10:00:00.495Z',
      duration_ms: 495,
      usage: { input: 9, cache_read: 14210, cache_write_5m: 1320, cache_write_1h: 0, output: 187 },
      tool_calls: [expect.objectContaining({ name: 'Bash', complete: true })],
    })
    expect(call?.ttft_ms).toBeGreaterThan(0)
  })

  it('OpenAI Responses: cached tokens are taken out of input; reasoning kept', () => {
    const [call] = callsOf('codex-turn.jsonl').calls('cx-turn-1')
    expect(call).toMatchObject({ api: 'openai-responses', outcome: 'completed', usage: { input: 346, cache_read: 4864, output: 312, reasoning: 192 } })
  })

  it('errors: a provider error in a 200 stream makes the call an error; a truncated stream keeps its transport error', () => {
    const errs = callsOf('api-error-in-200.jsonl')
    expect(errs.calls('err-anthropic-1')[0]).toMatchObject({ outcome: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
    expect(errs.calls('err-responses-1')[0]).toMatchObject({ outcome: 'error', error: { code: 'rate_limit_exceeded' } })
    const [t] = callsOf('truncated-stream.jsonl').calls('trunc-1')
    expect(t).toMatchObject({ outcome: 'truncated', error: { type: 'ECONNRESET' }, duration_ms: 30432 })
  })

  it('a call is given once its response ended; end() gives the open ones as they are; forget() frees the flow', () => {
    const calls = createLiveCalls()
    for (const r of fixtureRecords('claude-code-turn.jsonl').filter((x) => x.flow_id === 'cc-turn-1').slice(0, 12)) calls.feed(r as never)
    expect(calls.calls('cc-turn-1')).toEqual([])
    calls.end()
    expect(calls.calls('cc-turn-1')).toEqual([expect.objectContaining({ outcome: 'open', usage: expect.objectContaining({ input: 9 }) })])
    calls.forget('cc-turn-1')
    expect(calls.calls('cc-turn-1')).toEqual([])
  })

  it('the ledger behind the calls can be swapped (createLedger of @agenttap/ledger has this shape)', () => {
    const fed: unknown[] = []
    let emit: (c: never) => void = () => undefined
    const calls = createLiveCalls({
      ledger: (onCall) => {
        emit = onCall as never
        return { feed: (r) => fed.push(r), end: () => undefined, reset: () => undefined }
      },
    })
    calls.feed({ type: 'flow', flow_id: 'x' } as never)
    emit({ flow_id: 'x', key: 'x#0', outcome: 'completed' } as never)
    expect(fed).toHaveLength(1)
    expect(calls.calls('x')).toEqual([{ flow_id: 'x', key: 'x#0', outcome: 'completed' }])
  })

  it('an aborted flow without its terminal event is aborted; an HTTP error without a stream is one error call', () => {
    const base = { v: 1, ts: '2026-11-20T10:00:00.000Z', session_id: 's' }
    const calls = createLiveCalls()
    const cc = fixtureRecords('claude-code-turn.jsonl').filter((x) => x.flow_id === 'cc-turn-1').slice(0, 12)
    for (const r of cc) calls.feed(r as never)
    calls.feed({ ...base, type: 'flow_end', flow_id: 'cc-turn-1', outcome: 'aborted' } as never)
    expect(calls.calls('cc-turn-1')[0]?.outcome).toBe('aborted')
    calls.feed({ ...base, type: 'flow', flow_id: 'h', url: 'https://api.openai.com/v1/responses', status: 429 } as never)
    calls.feed({ ...base, type: 'flow_end', flow_id: 'h', outcome: 'error', status: 429, error: { type: 'rate_limit_error', message: 'slow down' } } as never)
    expect(calls.calls('h')).toEqual([expect.objectContaining({ outcome: 'error', http_status: 429, error: { type: 'rate_limit_error', message: 'slow down' } })])
  })
})
