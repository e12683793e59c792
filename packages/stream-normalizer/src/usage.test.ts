import { describe, expect, it } from 'vitest'
import { normalizeUsage } from './usage.js'
import { run } from '../test/run.js'

const A = { flow: { url: 'https://api.anthropic.com/v1/messages' } }

describe('normalizeUsage', () => {
  it('Anthropic: input excludes the cache already; writes split by TTL, all 5m when the split is absent', () => {
    expect(normalizeUsage({ input_tokens: 9, cache_read_input_tokens: 14210, cache_creation_input_tokens: 1320, output_tokens: 187 }, 'anthropic')).toEqual({
      input: 9, cache_read: 14210, cache_write_5m: 1320, cache_write_1h: 0, output: 187,
    })
    expect(normalizeUsage({ input_tokens: 9, cache_creation_input_tokens: 1320, cache_creation_5m_input_tokens: 320, cache_creation_1h_input_tokens: 1000, output_tokens: 5 }, 'anthropic')).toEqual({
      input: 9, cache_read: 0, cache_write_5m: 320, cache_write_1h: 1000, output: 5,
    })
    // A split that does not add up: the rest of the total counts as 5-minute writes.
    expect(normalizeUsage({ cache_creation_input_tokens: 100, cache_creation_1h_input_tokens: 60 }, 'anthropic')).toMatchObject({ cache_write_5m: 40, cache_write_1h: 60 })
  })

  it('OpenAI: input includes the cached part, which is taken out; reasoning is part of output', () => {
    expect(normalizeUsage({ input_tokens: 5210, cache_read_input_tokens: 4864, output_tokens: 312, reasoning_tokens: 192, total_tokens: 5522 }, 'openai-responses')).toEqual({
      input: 346, cache_read: 4864, cache_write_5m: 0, cache_write_1h: 0, output: 312, reasoning: 192,
    })
    expect(normalizeUsage({ input_tokens: 100, cache_read_input_tokens: 64, output_tokens: 20 }, 'openai-chat')).toMatchObject({ input: 36, cache_read: 64 })
    // Never negative, whatever a provider reports.
    expect(normalizeUsage({ input_tokens: 10, cache_read_input_tokens: 64 }, 'openai-chat').input).toBe(0)
  })

  it('empty usage is all zeros; the sum input + cache counts every prompt token once', () => {
    expect(normalizeUsage({}, 'unknown')).toEqual({ input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 })
    const u = normalizeUsage({ input_tokens: 6020, cache_read_input_tokens: 5120, output_tokens: 240 }, 'openai-responses')
    expect(u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h).toBe(6020)
  })
})

describe('Anthropic cache-write TTL split', () => {
  it('usage.cache_creation.ephemeral_5m/1h_input_tokens reach the usage events', () => {
    const r = run(
      [
        ['message_start', { type: 'message_start', message: { id: 'm', role: 'assistant', model: 'claude-opus-4-1', usage: { input_tokens: 3, cache_creation_input_tokens: 1500, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 1000 }, output_tokens: 1 } } }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }],
        ['message_stop', { type: 'message_stop' }],
      ],
      A,
    )
    const last = r.brief.filter((e) => e['type'] === 'usage').pop()
    expect(last?.['usage']).toEqual({ input_tokens: 3, output_tokens: 7, cache_read_input_tokens: 0, cache_creation_input_tokens: 1500, cache_creation_5m_input_tokens: 500, cache_creation_1h_input_tokens: 1000 })
  })
})
