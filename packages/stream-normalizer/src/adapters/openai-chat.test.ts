import { describe, expect, it } from 'vitest'
import { run } from '../../test/run.js'

const C = { flow: { url: 'https://api.openai.com/v1/chat/completions' } }
const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null, index = 0): [undefined, unknown] => [undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index, delta, logprobs: null, finish_reason }] }]

describe('OpenAI Chat Completions adapter', () => {
  it('maps content, reasoning, parallel tool calls by index, usage and [DONE]', () => {
    const r = run(
      [
        chunk({ role: 'assistant', content: '' }),
        chunk({ reasoning_content: 'hmm' }),
        chunk({ content: 'Let me check.' }),
        chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":"UTC"}' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
        chunk({}, 'tool_calls'),
        [undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 64 }, completion_tokens_details: { reasoning_tokens: 5 } } }],
        [undefined, '[DONE]'],
      ],
      C,
    )
    expect(r.errors).toEqual([])
    expect(r.brief).toEqual([
      { type: 'message_start', seq: 0, message_id: 'chatcmpl-1', model: 'gpt-4o', role: 'assistant' },
      { type: 'thinking_delta', seq: 1, index: 0, text: 'hmm', kind: 'thinking' },
      { type: 'text_delta', seq: 2, index: 0, text: 'Let me check.' },
      { type: 'tool_call_start', seq: 3, index: 0, call_id: 'call_a', name: 'get_weather', kind: 'function' },
      { type: 'tool_args_delta', seq: 4, index: 0, call_id: 'call_a', delta: '{"city":' },
      { type: 'tool_call_start', seq: 5, index: 1, call_id: 'call_b', name: 'get_time', kind: 'function' },
      { type: 'tool_args_delta', seq: 5, index: 1, call_id: 'call_b', delta: '{"tz":"UTC"}' },
      { type: 'tool_args_delta', seq: 6, index: 0, call_id: 'call_a', delta: '"Paris"}' },
      { type: 'tool_call_end', seq: 7, index: 0, call_id: 'call_a', name: 'get_weather', kind: 'function', arguments: '{"city":"Paris"}', parsed: { city: 'Paris' } },
      { type: 'tool_call_end', seq: 7, index: 1, call_id: 'call_b', name: 'get_time', kind: 'function', arguments: '{"tz":"UTC"}', parsed: { tz: 'UTC' } },
      { type: 'usage', seq: 8, usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 64, reasoning_tokens: 5, total_tokens: 120 }, cumulative: true },
      { type: 'message_end', seq: 9, stop_reason: 'tool_calls' },
    ])
  })

  it('without [DONE] the message ends incomplete, keeping the finish reason', () => {
    const r = run([chunk({ role: 'assistant', content: 'Hi' }), chunk({}, 'stop')], C)
    expect(r.brief[r.brief.length - 1]).toEqual({ type: 'message_end', stop_reason: 'stop', incomplete: true })
    expect(r.errors).toEqual(['INCOMPLETE_STREAM'])
  })

  it('an error chunk is an error event', () => {
    const r = run([chunk({ role: 'assistant', content: 'Hi' }), [undefined, { error: { message: 'Internal error', type: 'server_error', code: 500 } }]], C)
    expect(r.brief.find((e) => e['type'] === 'error')).toEqual({ type: 'error', seq: 1, error_type: 'server_error', code: '500', message: 'Internal error' })
    expect(r.brief[r.brief.length - 1]).toEqual({ type: 'message_end', stop_reason: 'error', incomplete: true })
  })

  it('a new id on a reused tool index starts a new call', () => {
    const r = run([chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'a', arguments: '{}' } }] }), chunk({ tool_calls: [{ index: 0, id: 'c2', function: { name: 'b', arguments: '{"x":1}' } }] }), chunk({}, 'tool_calls'), [undefined, '[DONE]']], C)
    expect(r.brief.filter((e) => e['type'] === 'tool_call_end').map((e) => [e['call_id'], e['name'], e['arguments']])).toEqual([
      ['c1', 'a', '{}'],
      ['c2', 'b', '{"x":1}'],
    ])
  })

  it('custom tool calls (free-form input) are custom calls without JSON parsing', () => {
    const r = run([chunk({ tool_calls: [{ index: 0, id: 'c9', type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch\n' } }] }), chunk({ tool_calls: [{ index: 0, custom: { input: '*** End Patch' } }] }), chunk({}, 'tool_calls'), [undefined, '[DONE]']], C)
    expect(r.brief.find((e) => e['type'] === 'tool_call_end')).toEqual({ type: 'tool_call_end', seq: 2, index: 0, call_id: 'c9', name: 'apply_patch', kind: 'custom', arguments: '*** Begin Patch\n*** End Patch' })
    expect(r.errors).toEqual([])
  })
})
