import { describe, expect, it } from 'vitest'
import { normalizeResponseBody } from './response-body.js'
import type { AgentEvent } from './types.js'

const brief = (events: AgentEvent[]) =>
  events.map((e) => {
    const { flow_id: _f, provider: _p, ...rest } = e
    return rest as Record<string, unknown>
  })

describe('normalizeResponseBody', () => {
  it('an Anthropic Message gives the events of its stream: thinking, text, tool call with arguments, usage, stop', () => {
    const msg = {
      id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5',
      content: [
        { type: 'thinking', thinking: 'Short title.', signature: 'sig' },
        { type: 'text', text: 'Fix CRLF parsing' },
        { type: 'tool_use', id: 'toolu_9', name: 'Bash', input: { command: 'ls' } },
      ],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 9 },
    }
    const r = normalizeResponseBody(msg, { flow_id: 'f', flow: { url: 'https://api.anthropic.com/v1/messages' } })
    expect(r.provider).toBe('anthropic')
    expect(r.errors).toEqual([])
    expect(brief(r.events)).toEqual([
      { type: 'message_start', message_id: 'msg_1', model: 'claude-haiku-4-5', role: 'assistant' },
      { type: 'usage', usage: { input_tokens: 40, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }, cumulative: true },
      { type: 'thinking_delta', index: 0, text: 'Short title.', kind: 'thinking' },
      { type: 'text_delta', index: 1, text: 'Fix CRLF parsing' },
      { type: 'tool_call_start', index: 2, call_id: 'toolu_9', name: 'Bash', kind: 'function' },
      { type: 'tool_args_delta', index: 2, call_id: 'toolu_9', delta: '{"command":"ls"}' },
      { type: 'tool_call_end', index: 2, call_id: 'toolu_9', name: 'Bash', kind: 'function', arguments: '{"command":"ls"}', parsed: { command: 'ls' } },
      { type: 'usage', usage: { input_tokens: 40, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }, cumulative: true },
      { type: 'message_end', stop_reason: 'tool_use' },
    ])
  })

  it('a Responses Response (also as JSON text): reasoning summary, text, function call, usage', () => {
    const resp = {
      id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-5',
      output: [
        { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'A' }, { type: 'summary_text', text: 'B' }] },
        { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] },
        { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"command":["bash","-lc","ls"]}' },
      ],
      usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 60 }, output_tokens: 10, output_tokens_details: { reasoning_tokens: 4 }, total_tokens: 110 },
    }
    const r = normalizeResponseBody(JSON.stringify(resp), { flow_id: 'f' })
    expect(r.provider).toBe('openai-responses')
    expect(r.errors).toEqual([])
    const b = brief(r.events)
    expect(b.map((e) => e['type'])).toEqual(['message_start', 'thinking_delta', 'thinking_delta', 'thinking_delta', 'text_delta', 'tool_call_start', 'tool_args_delta', 'tool_call_end', 'usage', 'message_end'])
    expect(b.filter((e) => e['type'] === 'thinking_delta').map((e) => e['text']).join('')).toBe('A\n\nB')
    expect(b.find((e) => e['type'] === 'tool_call_end')).toMatchObject({ call_id: 'call_1', name: 'shell', parsed: { command: ['bash', '-lc', 'ls'] } })
    expect(b.find((e) => e['type'] === 'usage')?.['usage']).toEqual({ input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 60, reasoning_tokens: 4, total_tokens: 110 })
    expect(b[b.length - 1]).toEqual({ type: 'message_end', stop_reason: 'completed' })
  })

  it('a ChatCompletion with tool calls: each call ends with its arguments', () => {
    const cc = {
      id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o',
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":"UTC"}' } },
      ] }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 80, completion_tokens: 12, total_tokens: 92, prompt_tokens_details: { cached_tokens: 0 } },
    }
    const r = normalizeResponseBody(cc, { flow_id: 'f' })
    expect(r.provider).toBe('openai-chat')
    expect(r.errors).toEqual([])
    const ends = brief(r.events).filter((e) => e['type'] === 'tool_call_end')
    expect(ends.map((e) => [e['call_id'], e['name'], e['arguments']])).toEqual([
      ['call_a', 'get_weather', '{"city":"Paris"}'],
      ['call_b', 'get_time', '{"tz":"UTC"}'],
    ])
    expect(brief(r.events).pop()).toEqual({ type: 'message_end', stop_reason: 'tool_calls' })
  })

  it('HTTP error bodies of both providers: type, code and message, then an incomplete end', () => {
    const cases: [unknown, number, Record<string, unknown>][] = [
      [{ type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' }, request_id: 'req_1' }, 429, { error_type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' }],
      [{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 529, { error_type: 'overloaded_error', message: 'Overloaded' }],
      [{ error: { message: 'Rate limit reached for gpt-5', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, 429, { error_type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for gpt-5' }],
    ]
    for (const [body, status, want] of cases) {
      for (const flow of [{ url: 'https://api.anthropic.com/v1/messages' }, { url: 'https://api.openai.com/v1/responses' }, undefined]) {
        const r = normalizeResponseBody(body, { flow_id: 'f', status, ...(flow ? { flow } : {}) })
        const b = brief(r.events)
        expect(b[0]).toEqual({ type: 'error', ...want })
        expect(b[b.length - 1]).toEqual({ type: 'message_end', stop_reason: 'error', incomplete: true })
        expect(r.errors).toEqual([])
      }
    }
  })

  it('a body that is no provider error: an error when the status says so (text, HTML, {detail}), else an unknown event', () => {
    const html = normalizeResponseBody('<html><body>502 Bad Gateway</body></html>', { flow_id: 'f', status: 502 })
    expect(brief(html.events)[0]).toEqual({ type: 'error', error_type: 'http_502', message: '<html><body>502 Bad Gateway</body></html>' })
    const detail = normalizeResponseBody({ detail: 'Unauthorized' }, { flow_id: 'f', status: 401, flow: { url: 'https://chatgpt.com/backend-api/codex/responses' } })
    expect(brief(detail.events)[0]).toEqual({ type: 'error', error_type: 'http_401', message: 'Unauthorized' })
    const empty = normalizeResponseBody('', { flow_id: 'f', status: 500 })
    expect(brief(empty.events)[0]).toEqual({ type: 'error', error_type: 'http_500', message: 'HTTP 500 with an empty body' })
    const long = normalizeResponseBody('x'.repeat(2000), { flow_id: 'f', status: 503 })
    expect((brief(long.events)[0]?.['message'] as string).length).toBe(501)
    const quota = normalizeResponseBody({ limits: [] }, { flow_id: 'f', status: 200, flow: { url: 'https://api.anthropic.com/api/claude_code/policy_limits' } })
    expect(brief(quota.events).map((e) => e['type'])).toEqual(['unknown', 'message_end'])
    expect(quota.errors.map((e) => e.code)).toEqual(['UNEXPECTED_EVENT'])
    const junk = normalizeResponseBody('\u0000\u0001binary', { flow_id: 'f', status: 200 })
    expect(junk.errors.map((e) => e.code)).toEqual(['MALFORMED_JSON'])
    expect(brief(junk.events).pop()).toEqual({ type: 'message_end', incomplete: true })
  })

  it('a Responses body with status failed or incomplete ends that way', () => {
    const failed = normalizeResponseBody({ id: 'r', object: 'response', status: 'failed', output: [], error: { code: 'server_error', message: 'boom' } }, { flow_id: 'f' })
    expect(brief(failed.events).filter((e) => e['type'] === 'error')).toEqual([{ type: 'error', code: 'server_error', message: 'boom' }])
    expect(brief(failed.events).pop()).toEqual({ type: 'message_end', stop_reason: 'failed' })
    const inc = normalizeResponseBody({ id: 'r', object: 'response', status: 'incomplete', output: [], incomplete_details: { reason: 'max_output_tokens' } }, { flow_id: 'f' })
    expect(brief(inc.events).pop()).toEqual({ type: 'message_end', stop_reason: 'incomplete', detail: 'max_output_tokens' })
  })
})

describe('MCP calls name their server', () => {
  it('Anthropic mcp_tool_use server_name and Responses mcp_call server_label reach start and end events', () => {
    const a = normalizeResponseBody({ id: 'm', type: 'message', role: 'assistant', content: [{ type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'search', server_name: 'docs', input: { q: 'x' } }], stop_reason: 'end_turn' }, { flow_id: 'f' })
    expect(brief(a.events).filter((e) => e['type'] === 'tool_call_start' || e['type'] === 'tool_call_end').map((e) => [e['type'], e['kind'], e['server']])).toEqual([
      ['tool_call_start', 'server', 'docs'],
      ['tool_call_end', 'server', 'docs'],
    ])
    const r = normalizeResponseBody({ id: 'r', object: 'response', status: 'completed', output: [{ id: 'mcp_1', type: 'mcp_call', name: 'search', server_label: 'docs', arguments: '{"q":"x"}' }] }, { flow_id: 'f' })
    expect(brief(r.events).find((e) => e['type'] === 'tool_call_end')).toMatchObject({ name: 'search', server: 'docs', arguments: '{"q":"x"}' })
  })
})
