import { describe, expect, it } from 'vitest'
import { createStreamNormalizer, rateLimitHeaders, type AgentEvent, type RateLimitsEvent } from '../index.js'
import { run } from '../../test/run.js'

const R = { flow: { url: 'https://chatgpt.com/backend-api/codex/responses' } }
let sn = 0
const ev = (type: string, fields: Record<string, unknown> = {}): [string, unknown] => [type, { type, sequence_number: sn++, ...fields }]
const resp = (status: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 'resp_1', object: 'response', model: 'gpt-5-codex', status, output: [], ...extra })
const usage = { input_tokens: 1000, input_tokens_details: { cached_tokens: 800 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 20 }, total_tokens: 1050 }

describe('OpenAI Responses adapter', () => {
  it('maps a Codex turn: reasoning summary, function_call, custom_tool_call, local_shell_call, text, usage', () => {
    const r = run(
      [
        ev('response.created', { response: resp('in_progress') }),
        ev('response.in_progress', { response: resp('in_progress') }),
        ev('response.output_item.added', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } }),
        ev('response.reasoning_summary_part.added', { item_id: 'rs_1', output_index: 0, summary_index: 0, part: { type: 'summary_text', text: '' } }),
        ev('response.reasoning_summary_text.delta', { item_id: 'rs_1', output_index: 0, summary_index: 0, delta: '**Planning**', obfuscation: 'ab' }),
        ev('response.reasoning_summary_text.done', { item_id: 'rs_1', output_index: 0, summary_index: 0, text: '**Planning**' }),
        ev('response.output_item.done', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: '**Planning**' }], encrypted_content: 'gAAA' } }),
        ev('response.output_item.added', { output_index: 1, item: { id: 'fc_1', type: 'function_call', status: 'in_progress', arguments: '', call_id: 'call_1', name: 'shell' } }),
        ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 1, delta: '{"command":["bash","-lc",' }),
        ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 1, delta: '"ls\\n"]}' }),
        ev('response.function_call_arguments.done', { item_id: 'fc_1', output_index: 1, arguments: '{"command":["bash","-lc","ls\\n"]}' }),
        ev('response.output_item.done', { output_index: 1, item: { id: 'fc_1', type: 'function_call', status: 'completed', arguments: '{"command":["bash","-lc","ls\\n"]}', call_id: 'call_1', name: 'shell' } }),
        ev('response.output_item.added', { output_index: 2, item: { id: 'ctc_1', type: 'custom_tool_call', status: 'in_progress', call_id: 'call_2', name: 'apply_patch', input: '' } }),
        ev('response.custom_tool_call_input.delta', { item_id: 'ctc_1', output_index: 2, delta: '*** Begin Patch\n' }),
        ev('response.custom_tool_call_input.delta', { item_id: 'ctc_1', output_index: 2, delta: '*** End Patch\n' }),
        ev('response.custom_tool_call_input.done', { item_id: 'ctc_1', output_index: 2, input: '*** Begin Patch\n*** End Patch\n' }),
        ev('response.output_item.done', { output_index: 2, item: { id: 'ctc_1', type: 'custom_tool_call', status: 'completed', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n' } }),
        ev('response.output_item.added', { output_index: 3, item: { id: 'lsh_1', type: 'local_shell_call', status: 'in_progress', call_id: 'call_3', action: { type: 'exec', command: ['ls'] } } }),
        ev('response.output_item.done', { output_index: 3, item: { id: 'lsh_1', type: 'local_shell_call', status: 'completed', call_id: 'call_3', action: { type: 'exec', command: ['ls', '-la'] } } }),
        ev('response.output_item.added', { output_index: 4, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } }),
        ev('response.content_part.added', { item_id: 'msg_1', output_index: 4, content_index: 0, part: { type: 'output_text', text: '' } }),
        ev('response.output_text.delta', { item_id: 'msg_1', output_index: 4, content_index: 0, delta: 'Done.' }),
        ev('response.output_text.done', { item_id: 'msg_1', output_index: 4, content_index: 0, text: 'Done.' }),
        ev('response.output_item.done', { output_index: 4, item: { id: 'msg_1', type: 'message' } }),
        ev('response.completed', { response: resp('completed', { usage }) }),
      ],
      R,
    )
    expect(r.errors).toEqual([])
    expect(r.brief).toEqual([
      { type: 'message_start', seq: 0, role: 'assistant', message_id: 'resp_1', model: 'gpt-5-codex' },
      { type: 'thinking_delta', seq: 4, index: 0, item_id: 'rs_1', text: '**Planning**', kind: 'summary' },
      { type: 'tool_call_start', seq: 7, index: 1, call_id: 'call_1', item_id: 'fc_1', name: 'shell', kind: 'function' },
      { type: 'tool_args_delta', seq: 8, index: 1, call_id: 'call_1', item_id: 'fc_1', delta: '{"command":["bash","-lc",' },
      { type: 'tool_args_delta', seq: 9, index: 1, call_id: 'call_1', item_id: 'fc_1', delta: '"ls\\n"]}' },
      { type: 'tool_call_end', seq: 11, index: 1, call_id: 'call_1', item_id: 'fc_1', name: 'shell', kind: 'function', arguments: '{"command":["bash","-lc","ls\\n"]}', parsed: { command: ['bash', '-lc', 'ls\n'] } },
      { type: 'tool_call_start', seq: 12, index: 2, call_id: 'call_2', item_id: 'ctc_1', name: 'apply_patch', kind: 'custom' },
      { type: 'tool_args_delta', seq: 13, index: 2, call_id: 'call_2', item_id: 'ctc_1', delta: '*** Begin Patch\n' },
      { type: 'tool_args_delta', seq: 14, index: 2, call_id: 'call_2', item_id: 'ctc_1', delta: '*** End Patch\n' },
      { type: 'tool_call_end', seq: 16, index: 2, call_id: 'call_2', item_id: 'ctc_1', name: 'apply_patch', kind: 'custom', arguments: '*** Begin Patch\n*** End Patch\n' },
      { type: 'tool_call_start', seq: 17, index: 3, call_id: 'call_3', item_id: 'lsh_1', name: 'local_shell', kind: 'local_shell' },
      // No deltas for local_shell_call: the action comes whole, as one delta then the end.
      { type: 'tool_args_delta', seq: 18, index: 3, call_id: 'call_3', item_id: 'lsh_1', delta: '{"type":"exec","command":["ls","-la"]}' },
      { type: 'tool_call_end', seq: 18, index: 3, call_id: 'call_3', item_id: 'lsh_1', name: 'local_shell', kind: 'local_shell', arguments: '{"type":"exec","command":["ls","-la"]}', parsed: { type: 'exec', command: ['ls', '-la'] } },
      { type: 'text_delta', seq: 21, index: 4, item_id: 'msg_1', text: 'Done.' },
      { type: 'usage', seq: 24, usage: { input_tokens: 1000, output_tokens: 50, cache_read_input_tokens: 800, reasoning_tokens: 20, total_tokens: 1050 }, cumulative: true },
      { type: 'message_end', seq: 24, stop_reason: 'completed' },
    ])
  })

  it('response.incomplete ends with stop_reason incomplete and its reason', () => {
    const r = run([ev('response.created', { response: resp('in_progress') }), ev('response.incomplete', { response: resp('incomplete', { incomplete_details: { reason: 'max_output_tokens' }, usage }) })], R)
    expect(r.brief[r.brief.length - 1]).toEqual({ type: 'message_end', seq: 1, stop_reason: 'incomplete', detail: 'max_output_tokens' })
    expect(r.errors).toEqual([])
  })

  it('response.failed alone gives the error and message_end failed', () => {
    const r = run([ev('response.created', { response: resp('in_progress') }), ev('response.failed', { response: resp('failed', { error: { code: 'server_error', message: 'The model failed' } }) })], R)
    expect(r.brief.slice(1)).toEqual([
      { type: 'error', seq: 1, code: 'server_error', message: 'The model failed' },
      { type: 'message_end', seq: 1, stop_reason: 'failed' },
    ])
  })

  it('understands both shapes of the top-level error event', () => {
    const r = run([ev('error', { code: 'rate_limit_exceeded', message: 'Slow down', param: null }), ev('error', { error: { type: 'invalid_request_error', code: 'context_length_exceeded', message: 'Too long' } })], R)
    expect(r.brief).toEqual([
      { type: 'error', seq: 0, code: 'rate_limit_exceeded', message: 'Slow down' },
      { type: 'error', seq: 1, error_type: 'invalid_request_error', code: 'context_length_exceeded', message: 'Too long' },
      { type: 'message_end', stop_reason: 'error', incomplete: true },
    ])
  })

  it('a stream without response.completed ends open calls and the message incomplete', () => {
    const r = run([ev('response.created', { response: resp('in_progress') }), ev('response.output_item.added', { output_index: 0, item: { id: 'fc_9', type: 'function_call', call_id: 'call_9', name: 'exec_command', arguments: '' } }), ev('response.function_call_arguments.delta', { item_id: 'fc_9', output_index: 0, delta: '{"cmd":"ls"}' })], R)
    expect(r.brief.slice(-2)).toEqual([
      { type: 'tool_call_end', index: 0, call_id: 'call_9', item_id: 'fc_9', name: 'exec_command', kind: 'function', arguments: '{"cmd":"ls"}', parsed: { cmd: 'ls' }, incomplete: true },
      { type: 'message_end', incomplete: true },
    ])
    expect(r.errors).toEqual(['INCOMPLETE_STREAM'])
  })

  it('keeps unknown events (new types, a codex.rate_limits without any limit) as unknown, never dropped', () => {
    const r = run([ev('response.created', { response: resp('in_progress') }), ev('codex.rate_limits', { rate_limits: null }), ev('response.brand_new.delta', { delta: 'x' }), ev('response.completed', { response: resp('completed') })], R)
    expect(r.brief.filter((e) => e['type'] === 'unknown').map((e) => e['event'])).toEqual(['codex.rate_limits', 'response.brand_new.delta'])
  })

  it('decodes codex.rate_limits (the server shape: windows under rate_limits, reset_at, plan, credits, metered limit) into a rate_limits event', () => {
    const limits = { plan_type: 'plus', rate_limits: { primary: { used_percent: 81.5, window_minutes: 300, reset_at: 1763650800 }, secondary: { used_percent: 40, window_minutes: 10080, reset_at: null } }, credits: { has_credits: true, unlimited: false, balance: '12.50' }, metered_limit_name: null, limit_name: null }
    const r = run([ev('codex.rate_limits', limits), ev('response.created', { response: resp('in_progress') }), ev('response.completed', { response: resp('completed') })], R)
    expect(r.errors).toEqual([])
    expect(r.brief[0]).toEqual({
      type: 'rate_limits', seq: 0, limit_id: 'codex', plan_type: 'plus',
      primary: { used_percent: 81.5, window_minutes: 300, resets_at: 1763650800 },
      secondary: { used_percent: 40, window_minutes: 10080 },
      credits: { has_credits: true, unlimited: false, balance: '12.50' },
    })
    // It neither starts nor ends a message: the response around it is unchanged.
    expect(r.brief.map((e) => e['type'])).toEqual(['rate_limits', 'message_start', 'message_end'])
    expect(rateLimitHeaders(r.events[0] as RateLimitsEvent)).toEqual({
      'x-codex-primary-used-percent': '81.5', 'x-codex-primary-window-minutes': '300', 'x-codex-primary-reset-at': '1763650800',
      'x-codex-secondary-used-percent': '40', 'x-codex-secondary-window-minutes': '10080',
      'x-codex-plan-type': 'plus', 'x-codex-credits-has-credits': 'true', 'x-codex-credits-unlimited': 'false', 'x-codex-credits-balance': '12.50',
    })
  })

  it('codex.rate_limits: older shapes (windows at the top level, resets_in_seconds), another metered limit, the SSE event name alone', () => {
    const old = run([['codex.rate_limits', { primary: { used_percent: 12, window_minutes: 300, resets_in_seconds: 600 } }], ev('response.completed', { response: resp('completed') })], R)
    expect(old.brief[0]).toEqual({ type: 'rate_limits', seq: 0, limit_id: 'codex', primary: { used_percent: 12, window_minutes: 300, resets_in_seconds: 600 } })
    const other = run([ev('codex.rate_limits', { metered_limit_name: 'codex-other', rate_limits: { primary: { used_percent: 5 } } })], R)
    expect(other.brief[0]).toMatchObject({ type: 'rate_limits', limit_id: 'codex_other', primary: { used_percent: 5 } })
    expect(rateLimitHeaders(other.events[0] as RateLimitsEvent)).toEqual({ 'x-codex-other-primary-used-percent': '5' })
  })

  it('codex.rate_limits as WebSocket text frames, one before each response on the connection', () => {
    const events: AgentEvent[] = []
    const n = createStreamNormalizer({ flow_id: 'ws-rl', flow: { url: 'wss://chatgpt.com/backend-api/codex/responses' }, onEvent: (e) => events.push(e) })
    const frames = [ev('codex.rate_limits', { rate_limits: { primary: { used_percent: 84 } } }), ev('response.created', { response: resp('in_progress') }), ev('response.completed', { response: resp('completed') }), ev('codex.rate_limits', { rate_limits: { primary: { used_percent: 86 } } }), ev('response.created', { response: { ...resp('in_progress'), id: 'resp_2' } }), ev('response.completed', { response: { ...resp('completed'), id: 'resp_2' } })]
    frames.forEach(([, payload], seq) => n.feedRecord({ seq, data: JSON.stringify(payload), transport: 'ws' }))
    n.end()
    expect(events.map((e) => (e.type === 'rate_limits' ? `rate_limits ${e.primary?.used_percent}` : e.type))).toEqual(['rate_limits 84', 'message_start', 'message_end', 'rate_limits 86', 'message_start', 'message_end'])
  })

  it('output_item.done for a call never announced (capture began mid-stream) still yields start, args and end', () => {
    const r = run([ev('response.output_item.done', { output_index: 0, item: { id: 'fc_2', type: 'function_call', call_id: 'call_x', name: 'shell', arguments: '{"command":["ls"]}' } }), ev('response.completed', { response: resp('completed') })], R)
    expect(r.brief.map((e) => e['type'])).toEqual(['tool_call_start', 'tool_args_delta', 'tool_call_end', 'message_start', 'message_end'])
  })

  it('reads Responses events from WebSocket text frames (feedRecord transport ws)', () => {
    const events: AgentEvent[] = []
    const n = createStreamNormalizer({ flow_id: 'ws1', flow: { url: 'wss://chatgpt.com/backend-api/codex/responses' }, onEvent: (e) => events.push(e) })
    const frames = [ev('response.created', { response: resp('in_progress') }), ev('response.output_text.delta', { item_id: 'm', output_index: 0, delta: 'hi' }), ev('response.completed', { response: resp('completed', { usage }) })]
    frames.forEach(([, payload], seq) => n.feedRecord({ seq, data: JSON.stringify(payload), transport: 'ws' }))
    n.end()
    expect(n.provider).toBe('openai-responses')
    expect(events.map((e) => e.type)).toEqual(['message_start', 'text_delta', 'usage', 'message_end'])
  })

  it('when .done carries more than the deltas, the rest is emitted as a delta; when it differs, it wins and is reported', () => {
    const more = run([ev('response.output_item.added', { output_index: 0, item: { id: 'fc_a', type: 'function_call', call_id: 'c_a', name: 'f', arguments: '' } }), ev('response.function_call_arguments.delta', { item_id: 'fc_a', output_index: 0, delta: '{"a":' }), ev('response.output_item.done', { output_index: 0, item: { id: 'fc_a', type: 'function_call', call_id: 'c_a', name: 'f', arguments: '{"a":1}' } }), ev('response.completed', { response: resp('completed') })], R)
    expect(more.brief.filter((e) => e['type'] === 'tool_args_delta').map((e) => e['delta'])).toEqual(['{"a":', '1}'])
    expect(more.brief.find((e) => e['type'] === 'tool_call_end')).toMatchObject({ arguments: '{"a":1}', parsed: { a: 1 } })
    expect(more.errors).toEqual([])
    const differ = run([ev('response.output_item.added', { output_index: 0, item: { id: 'fc_b', type: 'function_call', call_id: 'c_b', name: 'f', arguments: '' } }), ev('response.function_call_arguments.delta', { item_id: 'fc_b', output_index: 0, delta: '{"x":' }), ev('response.output_item.done', { output_index: 0, item: { id: 'fc_b', type: 'function_call', call_id: 'c_b', name: 'f', arguments: '{"y":2}' } }), ev('response.completed', { response: resp('completed') })], R)
    expect(differ.brief.find((e) => e['type'] === 'tool_call_end')).toMatchObject({ arguments: '{"y":2}', parsed: { y: 2 } })
    expect(differ.errors).toEqual(['UNEXPECTED_EVENT'])
  })

  it('a delta for an item never added is reported and kept as unknown', () => {
    const r = run([ev('response.function_call_arguments.delta', { item_id: 'nope', output_index: 3, delta: '{}' }), ev('response.completed', { response: resp('completed') })], R)
    expect(r.errors).toEqual(['UNEXPECTED_EVENT'])
    expect(r.brief[0]).toMatchObject({ type: 'unknown', seq: 0, index: 3 })
  })

  it('several responses on one WebSocket connection: each starts and ends its own message, later usage adds', () => {
    const r = run([
      ev('response.created', { response: resp('in_progress') }),
      ev('response.output_text.delta', { item_id: 'm1', output_index: 0, delta: 'one' }),
      ev('response.completed', { response: resp('completed', { usage }) }),
      ev('response.created', { response: { ...resp('in_progress'), id: 'resp_2' } }),
      ev('response.output_text.delta', { item_id: 'm2', output_index: 0, delta: 'two' }),
      ev('response.created', { response: { ...resp('in_progress'), id: 'resp_3' } }),
      ev('response.completed', { response: { ...resp('completed', { usage }), id: 'resp_3' } }),
    ], R)
    expect(r.brief.map((e) => [e['type'], e['message_id'] ?? e['stop_reason'] ?? e['cumulative'] ?? e['text'], e['incomplete']])).toEqual([
      ['message_start', 'resp_1', undefined],
      ['text_delta', 'one', undefined],
      ['usage', true, undefined],
      ['message_end', 'completed', undefined],
      ['message_start', 'resp_2', undefined],
      ['text_delta', 'two', undefined],
      ['message_end', undefined, true],
      ['message_start', 'resp_3', undefined],
      ['usage', false, undefined],
      ['message_end', 'completed', undefined],
    ])
    expect(r.errors).toEqual(['INCOMPLETE_STREAM'])
  })

  it('web_search_call is a server tool call; reasoning_text deltas are thinking', () => {
    const r = run([
      ev('response.created', { response: resp('in_progress') }),
      ev('response.output_item.added', { output_index: 0, item: { id: 'rs_9', type: 'reasoning', summary: [] } }),
      ev('response.reasoning_text.delta', { item_id: 'rs_9', output_index: 0, content_index: 0, delta: 'raw thought' }),
      ev('response.output_item.added', { output_index: 1, item: { id: 'ws_1', type: 'web_search_call', status: 'in_progress' } }),
      ev('response.web_search_call.in_progress', { item_id: 'ws_1', output_index: 1 }),
      ev('response.web_search_call.searching', { item_id: 'ws_1', output_index: 1 }),
      ev('response.web_search_call.completed', { item_id: 'ws_1', output_index: 1 }),
      ev('response.output_item.done', { output_index: 1, item: { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'vitest seeds' } } }),
      ev('response.completed', { response: resp('completed') }),
    ], R)
    expect(r.errors).toEqual([])
    expect(r.brief.find((e) => e['type'] === 'thinking_delta')).toMatchObject({ kind: 'thinking', text: 'raw thought', item_id: 'rs_9' })
    expect(r.brief.filter((e) => String(e['type']).startsWith('tool_'))).toEqual([
      { type: 'tool_call_start', seq: 3, index: 1, call_id: 'ws_1', item_id: 'ws_1', name: 'web_search', kind: 'server' },
      { type: 'tool_args_delta', seq: 7, index: 1, call_id: 'ws_1', item_id: 'ws_1', delta: '{"type":"search","query":"vitest seeds"}' },
      { type: 'tool_call_end', seq: 7, index: 1, call_id: 'ws_1', item_id: 'ws_1', name: 'web_search', kind: 'server', arguments: '{"type":"search","query":"vitest seeds"}', parsed: { type: 'search', query: 'vitest seeds' } },
    ])
    expect(r.brief.some((e) => e['type'] === 'unknown')).toBe(false)
  })

  it('reasoning summary parts are separated by a blank line', () => {
    const part = (i: number): [string, unknown] => ev('response.reasoning_summary_part.added', { item_id: 'rs_1', output_index: 0, summary_index: i, part: { type: 'summary_text', text: '' } })
    const d = (t: string, i: number): [string, unknown] => ev('response.reasoning_summary_text.delta', { item_id: 'rs_1', output_index: 0, summary_index: i, delta: t })
    const r = run([ev('response.created', { response: resp('in_progress') }), part(0), d('**One**', 0), part(1), d('**Two**', 1), ev('response.completed', { response: resp('completed') })], R)
    expect(r.brief.filter((e) => e['type'] === 'thinking_delta').map((e) => e['text']).join('')).toBe('**One**\n\n**Two**')
  })
})

describe('OpenAI Responses delta layouts', () => {
  it('the compact layout the API writes and a spaced one give the same events, for every value shape and for bad input', () => {
    const texts = ['', 'plain', 'quote " inside', 'back\\slash', 'nl\nand\ttab', 'é€😀', '\u0000\u001f', '}', '"}', 'lone \ud800', 'a\\"b', 'ends with backslash \\']
    const head = [
      ev('response.created', { response: resp('in_progress') }),
      ev('response.output_item.added', { output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '' } }),
    ]
    const canonical: [string | undefined, unknown][] = [...head]
    const spaced: [string | undefined, unknown][] = [...head]
    const both = (compact: string): void => {
      canonical.push([undefined, compact])
      // Same content in another layout.
      spaced.push([undefined, compact.replace(/^\{"type":/, '{ "type" : ')])
    }
    let seq = 10
    for (const t of texts) {
      for (const type of ['response.output_text.delta', 'response.reasoning_summary_text.delta', 'response.reasoning_text.delta', 'response.function_call_arguments.delta', 'response.refusal.delta']) {
        both(`{"type":"${type}","sequence_number":${seq++},"item_id":"fc_1","output_index":0,"content_index":0,"delta":${JSON.stringify(t)},"logprobs":[],"obfuscation":"x1"}`)
      }
    }
    // The exact layout's variants: with or without content/summary index, logprobs, obfuscation.
    for (const tail of ['', ',"logprobs":[]', ',"obfuscation":"Ab_9-"', ',"logprobs":[],"obfuscation":"q"', ',"obfuscation":"not alnum!"', ',"logprobs":[{"token":"x"}]', ',"obfuscation":""']) {
      for (const idx of ['', ',"content_index":0', ',"summary_index":2']) {
        for (const t of ['x', 'ends "quoted"', 'fake tail \",\"obfuscation\":\"q', 'back\\']) {
          both(`{"type":"response.output_text.delta","sequence_number":${seq++},"item_id":"msg_1","output_index":3${idx},"delta":${JSON.stringify(t)}${tail}}`)
        }
      }
    }
    both('{"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"delta":"a","delta":"b"}')
    both('{"type":"response.output_text.delta","sequence_number":01,"item_id":"m","output_index":0,"delta":"a"}')
    both('{"type":"response.output_text.delta","sequence_number":1,"item_id":"m\u0031","output_index":0,"delta":"a"}')
    both('{"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"delta":"a"b"}')
    both('{"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"delta":"a","extra":1}')
    // Odd but valid shapes: missing or non-string fields, duplicates, fractional and huge numbers, literals, escapes elsewhere.
    both('{"type":"response.output_text.delta","delta":7}')
    both('{"type":"response.output_text.delta","delta":null,"item_id":"m","output_index":1.5}')
    both('{"type":"response.output_text.delta","delta":[],"output_index":1e400}')
    both('{"type":"response.output_text.delta","delta":"a","delta":"b","output_index":"3"}')
    both('{"type":"response.output_text.delta","item_id":7,"delta":"x","ok":true,"no":false,"nil":null}')
    both('{"type":"response.output_text.delta","del\\u0074a":"escaped key"}')
    both('{"type":"response.output_text.delta","delta":"n","nested":{"a":1}}')
    both('{"type":"response.output_text.delta","delta":"n","list":[1]}')
    both('{"type":"response.output_text.delta","delta":"n","obfuscation":"e\\u0301\\n"}')
    both('{"type":"response.output_text.delta","delta":"n","output_index":-1}')
    both('{"type":"response.output_text.delta","delta":"n","output_index":12345678901234567890}')
    both('{"type":"response.output_\\u0074ext.delta","delta":"escaped type"}')
    both('{"type":"response.output_text.delta","delta":"t","type":"response.reasoning_text.delta"}')
    both('{"type":"response.function_call_arguments.delta","item_id":"nope","output_index":9,"delta":"x"}')
    both('{"type":"response.function_call_arguments.delta","output_index":0,"delta":"{\\"k\\":1}"}')
    both('{"type":"response.in_progress","sequence_number":1}')
    // Invalid JSON that starts like the fast layout: both paths reject it the same way.
    both('{"type":"response.output_text.delta","delta":"a"b"}')
    both('{"type":"response.output_text.delta","output_index":01,"delta":"x"}')
    both('{"type":"response.output_text.delta","delta":"raw\u0001control"}')
    both('{"type":"response.output_text.delta","delta":"bad \\x escape"}')
    both('{"type":"response.output_text.delta","delta":"x"}trailing')
    both('{"type":"response.output_text.delta","delta":"unterminated}')
    both('{"type":"response.output_text.delta","output_index":-}')
    both('{"type":"response.output_text.delta","delta":"x",}')
    both('{"type":"response.output_text.delta","obfuscation":"raw\u0002","delta":"x"}')
    for (const list of [canonical, spaced]) list.push(ev('response.output_item.done', { output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'shell' } }), ev('response.completed', { response: resp('completed') }))
    const a = run(canonical, R)
    const b = run(spaced, R)
    // Unknown events carry their raw data, and parse errors their position, which differ by construction.
    const noData = (e: AgentEvent): unknown => (e.type === 'unknown' ? { ...e, data: undefined, reason: e.reason?.replace(/ at position \d+/, '') } : e)
    expect(a.events.map(noData)).toEqual(b.events.map(noData))
    expect(a.errors).toEqual(b.errors)
    expect(a.errors.filter((c) => c === 'MALFORMED_JSON')).toHaveLength(11)
    expect(a.events.filter((e) => e.type === 'text_delta').slice(0, texts.length * 2).map((e) => (e.type === 'text_delta' ? e.text : ''))).toEqual(texts.flatMap((t) => [t, t]))
    expect(a.events.find((e) => e.type === 'tool_call_end')).toMatchObject({ arguments: texts.join('') + '{"k":1}' })
  })
})
