import { describe, expect, it } from 'vitest'
import { run } from '../test/run.js'
import { detectStreamProvider } from './detect-provider.js'
import { createStreamNormalizer, normalizeRecords } from './stream-normalizer.js'
import type { AgentEvent } from './types.js'

describe('detectStreamProvider', () => {
  it('from the flow url, host, path or provider', () => {
    expect(detectStreamProvider({ url: 'https://api.anthropic.com/v1/messages?beta=true' })).toBe('anthropic')
    expect(detectStreamProvider({ url: 'https://api.openai.com/v1/responses' })).toBe('openai-responses')
    expect(detectStreamProvider({ url: 'https://chatgpt.com/backend-api/codex/responses' })).toBe('openai-responses')
    expect(detectStreamProvider({ url: 'https://openrouter.ai/api/v1/chat/completions' })).toBe('openai-chat')
    expect(detectStreamProvider({ url: 'http://127.0.0.1:11434/v1/chat/completions' })).toBe('openai-chat')
    expect(detectStreamProvider({ host: 'api.anthropic.com:443', path: '/v1/complete' })).toBe('anthropic')
    expect(detectStreamProvider({ path: '/v1/messages' })).toBe('anthropic')
    expect(detectStreamProvider({ provider: 'openai' })).toBe('openai-responses')
    expect(detectStreamProvider({ provider: 'openai', url: 'https://api.openai.com/v1/chat/completions' })).toBe('openai-chat')
    expect(detectStreamProvider({ provider: 'openai-chat' })).toBe('openai-chat')
    expect(detectStreamProvider({ url: 'not a url /v1/responses' })).toBe('openai-responses')
    expect(detectStreamProvider({ url: 'https://example.com/stream' })).toBe('unknown')
    expect(detectStreamProvider({ url: 'https://proxy.internal/llm', client: 'claude-code' })).toBe('anthropic')
    expect(detectStreamProvider({ url: 'https://proxy.internal/llm', client: 'codex' })).toBe('openai-responses')
    expect(detectStreamProvider({ url: 'https://user:pw@api.anthropic.com:8443/x#frag' })).toBe('anthropic')
    expect(detectStreamProvider(undefined)).toBe('unknown')
  })

  it('from the first event when the flow does not tell', () => {
    expect(detectStreamProvider(undefined, '{"type":"message_start","message":{}}')).toBe('anthropic')
    expect(detectStreamProvider(undefined, '{"type":"response.created","sequence_number":0}')).toBe('openai-responses')
    expect(detectStreamProvider({ url: 'https://example.com/x' }, '{"object":"chat.completion.chunk","choices":[]}')).toBe('openai-chat')
    expect(detectStreamProvider(undefined, '[DONE]')).toBe('openai-chat')
    expect(detectStreamProvider(undefined, '{"type":"error","error":{"type":"overloaded_error"}}')).toBe('unknown')
    expect(detectStreamProvider(undefined, 'not json')).toBe('unknown')
  })
})

describe('createStreamNormalizer', () => {
  it('detects the provider from the first events when nothing else tells, keeping what came before', () => {
    const r = run([
      ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }],
      ['message_start', { type: 'message_start', message: { id: 'm' } }],
      ['message_stop', { type: 'message_stop' }],
    ])
    expect(r.events.map((e) => [e.type, e.provider])).toEqual([
      ['error', 'unknown'],
      ['message_start', 'anthropic'],
      ['message_end', 'anthropic'],
    ])
  })

  it('a stream of an unknown format keeps every event and still ends with message_end incomplete', () => {
    const r = run([[undefined, { hello: 'world' }], [undefined, 'plain text'], [undefined, '42']])
    expect(r.brief).toEqual([
      { type: 'unknown', seq: 0, data: '{"hello":"world"}', reason: 'stream format not recognised (yet)' },
      { type: 'unknown', seq: 1, data: 'plain text', reason: expect.stringMatching(/^malformed JSON/) },
      { type: 'unknown', seq: 2, data: '42', reason: 'event data is JSON but not an object' },
      { type: 'message_end', incomplete: true },
    ])
    expect(r.errors).toEqual(['MALFORMED_JSON', 'INCOMPLETE_STREAM'])
  })

  it('empty data (keep-alive) is kept as unknown without an error report', () => {
    const r = run([['message_start', { type: 'message_start', message: {} }], [undefined, ''], ['message_stop', { type: 'message_stop' }]], { provider: 'anthropic' })
    expect(r.brief[1]).toEqual({ type: 'unknown', seq: 1, data: '', reason: 'empty data' })
    expect(r.errors).toEqual([])
  })

  it('a JSON error body instead of an SSE stream (HTTP 4xx/5xx) becomes an error event', () => {
    const bodies: [string, string, Record<string, unknown>][] = [
      ['https://api.anthropic.com/v1/messages', '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}', { error_type: 'overloaded_error', message: 'Overloaded' }],
      ['https://api.openai.com/v1/responses', '\n{\n  "error": {\n    "message": "Incorrect API key provided",\n    "type": "invalid_request_error",\n    "code": "invalid_api_key"\n  }\n}\n', { error_type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' }],
      ['https://api.openai.com/v1/chat/completions', '{"error":{"message":"Rate limited","type":"requests","code":"rate_limit_exceeded"}}', { code: 'rate_limit_exceeded', message: 'Rate limited' }],
    ]
    for (const [url, body, want] of bodies) {
      const bytes = new TextEncoder().encode(body)
      for (let seed = 1; seed <= 5; seed++) {
        const events: AgentEvent[] = []
        const errors: string[] = []
        const n = createStreamNormalizer({ flow_id: 'h', flow: { url }, onEvent: (e) => events.push(e), onError: (e) => errors.push(e.code) })
        for (let i = 0; i < bytes.length; i += seed * 3) n.feedBytes(bytes.subarray(i, i + seed * 3))
        n.end()
        expect(events.map((e) => e.type), url).toEqual(['error', 'message_end'])
        expect(events[0]).toMatchObject({ seq: 0, ...want })
        expect(events[1]).toMatchObject({ incomplete: true, stop_reason: 'error' })
        expect(errors).toEqual([])
      }
    }
  })

  it('event: error with a plain-text body is an error event', () => {
    const events: AgentEvent[] = []
    const errors: string[] = []
    const n = createStreamNormalizer({ flow_id: 't', provider: 'anthropic', onEvent: (e) => events.push(e), onError: (e) => errors.push(e.code) })
    n.feedBytes('event: error\ndata: Internal server error\n\n')
    n.end()
    expect(events[0]).toEqual({ type: 'error', flow_id: 't', provider: 'anthropic', seq: 0, message: 'Internal server error' })
    expect(errors).toEqual(['INCOMPLETE_STREAM'])
  })

  it('an empty stream still yields message_end incomplete, once', () => {
    const events: AgentEvent[] = []
    const n = createStreamNormalizer({ flow_id: 'e', provider: 'anthropic', onEvent: (e) => events.push(e) })
    n.end()
    n.end()
    expect(events).toEqual([{ type: 'message_end', flow_id: 'e', provider: 'anthropic', incomplete: true }])
  })

  it('an oversized record is reported and kept as an unknown event without data', () => {
    const { events, errors } = normalizeRecords([{ seq: 0, data: JSON.stringify({ type: 'ping', pad: 'x'.repeat(200) }) }], { flow_id: 'o', provider: 'anthropic', maxEventBytes: 100 })
    expect(events[0]).toMatchObject({ type: 'unknown', seq: 0, data: '', reason: 'event exceeded maxEventBytes (100)' })
    expect(errors.map((e) => e.code)).toEqual(['EVENT_TOO_LARGE', 'INCOMPLETE_STREAM'])
  })

  it('an oversized event gives the same unknown event whether fed as bytes or as a record', () => {
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(300) })
    const small = JSON.stringify({ type: 'message_stop' })
    const viaRecords = normalizeRecords([{ seq: 0, data: big }, { seq: 1, data: small }], { flow_id: 'o', provider: 'anthropic', maxEventBytes: 200 })
    for (const chunk of [1, 7, 1000]) {
      const events: AgentEvent[] = []
      const codes: string[] = []
      const n = createStreamNormalizer({ flow_id: 'o', provider: 'anthropic', maxEventBytes: 200, onEvent: (e) => events.push(e), onError: (e) => codes.push(e.code) })
      const wire = `data: ${big}\n\ndata: ${small}\n\n`
      for (let i = 0; i < wire.length; i += chunk) n.feedBytes(wire.slice(i, i + chunk))
      n.end()
      expect(events, `chunk ${chunk}`).toEqual(viaRecords.events)
      expect(codes).toEqual(['EVENT_TOO_LARGE'])
    }
    expect(viaRecords.events.map((e) => e.type)).toEqual(['unknown', 'message_end'])
  })

  it('passes SSE comments (heartbeats) and retry to onComment / onRetry', () => {
    const comments: string[] = []
    const retries: number[] = []
    const n = createStreamNormalizer({ flow_id: 'c', provider: 'anthropic', onEvent: () => {}, onComment: (c) => comments.push(c), onRetry: (ms) => retries.push(ms) })
    n.feedBytes(': keep-alive\nretry: 1500\n\n')
    n.end()
    expect(comments).toEqual(['keep-alive'])
    expect(retries).toEqual([1500])
  })

  it('errors carry flow id, seq, event and an excerpt', () => {
    const { errors } = normalizeRecords([{ seq: 7, event: 'content_block_delta', data: '{"broken' }], { flow_id: 'flow-9', provider: 'anthropic' })
    expect(errors[0]).toMatchObject({ code: 'MALFORMED_JSON', flow_id: 'flow-9', seq: 7, event: 'content_block_delta', excerpt: '{"broken' })
    expect(errors[0]?.message).toMatch(/^flow flow-9 seq 7: /)
  })

  it('reset starts a new flow', () => {
    const events: AgentEvent[] = []
    const n = createStreamNormalizer({ flow_id: 'r', onEvent: (e) => events.push(e) })
    n.feedRecord({ data: '{"type":"response.created","response":{"id":"a"}}' })
    expect(n.provider).toBe('openai-responses')
    n.reset()
    expect(n.provider).toBe('unknown')
    n.feedBytes('data: {"type":"message_start","message":{"id":"b"}}\n\n')
    expect(n.provider).toBe('anthropic')
  })

  it('a record without string data is reported, not thrown', () => {
    const { events, errors } = normalizeRecords([{ seq: 0, data: 5 as unknown as string }], { flow_id: 'x', provider: 'anthropic' })
    expect(events[0]).toMatchObject({ type: 'unknown', seq: 0 })
    expect(errors[0]?.code).toBe('UNEXPECTED_EVENT')
  })

  it('throws on API misuse', () => {
    expect(() => createStreamNormalizer({ flow_id: 'x' } as never)).toThrow(TypeError)
  })
})

describe('toolArgDeltas: false', () => {
  it('gives the same events without the tool_args_delta ones; tool_call_end still carries the joined arguments', async () => {
    const { readFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const lines = readFileSync(join(import.meta.dirname, '../../../fixtures/codex-turn.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const flow = lines.find((r) => r['type'] === 'flow' && r['flow_id'] === 'cx-turn-1') as { url: string }
    const sse = lines.filter((r) => r['type'] === 'sse' && r['flow_id'] === 'cx-turn-1') as unknown as { seq: number; data: string }[]
    const all = normalizeRecords(sse, { flow_id: 'f', flow })
    const lean = normalizeRecords(sse, { flow_id: 'f', flow, toolArgDeltas: false })
    expect(all.events.some((e) => e.type === 'tool_args_delta')).toBe(true)
    expect(lean.events).toEqual(all.events.filter((e) => e.type !== 'tool_args_delta'))
    expect(lean.events.filter((e) => e.type === 'tool_call_end')).toHaveLength(2)
  })
})
