import { describe, expect, it } from 'vitest'
import { run } from '../../test/run.js'
import type { AgentEvent } from '../types.js'

const A = { flow: { url: 'https://api.anthropic.com/v1/messages?beta=true' } }
const start = ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, usage: { input_tokens: 10, cache_creation_input_tokens: 3, cache_read_input_tokens: 500, output_tokens: 1 } } }] as [string, unknown]
const stop = ['message_stop', { type: 'message_stop' }] as [string, unknown]
const delta = (stop_reason: string, output_tokens: number): [string, unknown] => ['message_delta', { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: { output_tokens } }]
const blockStart = (index: number, content_block: unknown): [string, unknown] => ['content_block_start', { type: 'content_block_start', index, content_block }]
const blockDelta = (index: number, d: unknown): [string, unknown] => ['content_block_delta', { type: 'content_block_delta', index, delta: d }]
const blockStop = (index: number): [string, unknown] => ['content_block_stop', { type: 'content_block_stop', index }]

describe('Anthropic Messages adapter', () => {
  it('maps a full turn: thinking + signature, text, tool_use, cumulative usage, stop', () => {
    const r = run(
      [
        start,
        ['ping', { type: 'ping' }],
        blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
        blockDelta(0, { type: 'thinking_delta', thinking: 'Let me look.' }),
        blockDelta(0, { type: 'signature_delta', signature: 'EqQBCkgI' }),
        blockStop(0),
        blockStart(1, { type: 'text', text: '' }),
        blockDelta(1, { type: 'text_delta', text: 'Running ' }),
        ['ping', { type: 'ping' }],
        blockDelta(1, { type: 'text_delta', text: 'ls.' }),
        blockStop(1),
        blockStart(2, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} }),
        blockDelta(2, { type: 'input_json_delta', partial_json: '' }),
        blockDelta(2, { type: 'input_json_delta', partial_json: '{"command": "ls \\u00' }),
        blockDelta(2, { type: 'input_json_delta', partial_json: 'e9\\' }),
        blockDelta(2, { type: 'input_json_delta', partial_json: 'n"}' }),
        blockStop(2),
        delta('tool_use', 88),
        stop,
      ],
      A,
    )
    expect(r.errors).toEqual([])
    expect(r.brief).toEqual([
      { type: 'message_start', seq: 0, message_id: 'msg_1', model: 'claude-sonnet-4-5', role: 'assistant' },
      { type: 'usage', seq: 0, usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 500, cache_creation_input_tokens: 3 }, cumulative: true },
      { type: 'thinking_delta', seq: 3, index: 0, text: 'Let me look.', kind: 'thinking' },
      { type: 'thinking_delta', seq: 4, index: 0, text: 'EqQBCkgI', kind: 'signature' },
      { type: 'text_delta', seq: 7, index: 1, text: 'Running ' },
      { type: 'text_delta', seq: 9, index: 1, text: 'ls.' },
      { type: 'tool_call_start', seq: 11, index: 2, call_id: 'toolu_1', name: 'Bash', kind: 'function' },
      { type: 'tool_args_delta', seq: 13, index: 2, call_id: 'toolu_1', delta: '{"command": "ls \\u00' },
      { type: 'tool_args_delta', seq: 14, index: 2, call_id: 'toolu_1', delta: 'e9\\' },
      { type: 'tool_args_delta', seq: 15, index: 2, call_id: 'toolu_1', delta: 'n"}' },
      { type: 'tool_call_end', seq: 16, index: 2, call_id: 'toolu_1', name: 'Bash', kind: 'function', arguments: '{"command": "ls \\u00e9\\n"}', parsed: { command: 'ls é\n' } },
      // message_delta usage is cumulative and partial: merged over message_start's.
      { type: 'usage', seq: 17, usage: { input_tokens: 10, output_tokens: 88, cache_read_input_tokens: 500, cache_creation_input_tokens: 3 }, cumulative: true },
      { type: 'message_end', seq: 18, stop_reason: 'tool_use' },
    ])
  })

  it('a tool_use with no input deltas ends with arguments "{}"; input sent whole at start is kept', () => {
    const r = run([start, blockStart(0, { type: 'tool_use', id: 'toolu_a', name: 'Noop', input: {} }), blockStop(0), blockStart(1, { type: 'tool_use', id: 'toolu_b', name: 'Read', input: { file_path: '/x' } }), blockStop(1), delta('tool_use', 5), stop], A)
    const ends = r.brief.filter((e) => e['type'] === 'tool_call_end')
    expect(ends).toMatchObject([
      { call_id: 'toolu_a', arguments: '{}', parsed: {} },
      { call_id: 'toolu_b', arguments: '{"file_path":"/x"}', parsed: { file_path: '/x' } },
    ])
    // A renderer following deltas still sees the whole input.
    expect(r.brief.filter((e) => e['type'] === 'tool_args_delta')).toMatchObject([{ call_id: 'toolu_a', delta: '{}' }, { call_id: 'toolu_b', delta: '{"file_path":"/x"}' }])
  })

  it('server_tool_use is a server call; redacted_thinking a redacted thinking delta; unknown block types are kept', () => {
    const r = run([
      start,
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
      blockDelta(0, { type: 'input_json_delta', partial_json: '{"query":"x"}' }),
      blockStop(0),
      blockStart(1, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }),
      blockStop(1),
      blockStart(2, { type: 'redacted_thinking', data: 'EmwKAhgB' }),
      blockStop(2),
      blockDelta(3, { type: 'citations_delta', citation: {} }),
      stop,
    ], A)
    expect(r.brief.find((e) => e['type'] === 'tool_call_end')).toMatchObject({ kind: 'server', name: 'web_search', parsed: { query: 'x' } })
    expect(r.brief.filter((e) => e['type'] === 'unknown').map((e) => e['reason'])).toEqual(['content block type "web_search_tool_result" has no unified event', 'delta type "citations_delta" has no unified event'])
    expect(r.brief.find((e) => e['type'] === 'thinking_delta')).toMatchObject({ kind: 'redacted', text: '', index: 2 })
  })

  it('a mid-stream error (HTTP 200) is an error event, and the end is message_end incomplete with stop_reason error', () => {
    const r = run([start, blockStart(0, { type: 'text', text: '' }), blockDelta(0, { type: 'text_delta', text: 'Hel' }), ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]], A)
    expect(r.brief.slice(-2)).toEqual([
      { type: 'error', seq: 3, error_type: 'overloaded_error', message: 'Overloaded' },
      { type: 'message_end', stop_reason: 'error', incomplete: true },
    ])
    expect(r.errors).toEqual([])
  })

  it('a stream cut mid tool call ends the call incomplete (with its parse error) and the message incomplete', () => {
    const r = run([start, blockStart(0, { type: 'tool_use', id: 'toolu_c', name: 'Write', input: {} }), blockDelta(0, { type: 'input_json_delta', partial_json: '{"content": "abc' })], A)
    expect(r.brief.slice(-2)).toMatchObject([
      { type: 'tool_call_end', call_id: 'toolu_c', arguments: '{"content": "abc', incomplete: true },
      { type: 'message_end', incomplete: true },
    ])
    const end = r.brief.find((e) => e['type'] === 'tool_call_end')
    expect(typeof end?.['parse_error']).toBe('string')
    expect(end?.['parsed']).toBeUndefined()
    expect(r.errors).toEqual(['INCOMPLETE_STREAM', 'ARGS_PARSE'])
  })

  it('invalid tool JSON gives parse_error and an ARGS_PARSE report, not a throw', () => {
    const r = run([start, blockStart(0, { type: 'tool_use', id: 'toolu_d', name: 'X', input: {} }), blockDelta(0, { type: 'input_json_delta', partial_json: '{"a": tru}' }), blockStop(0), stop], A)
    expect(r.brief.find((e) => e['type'] === 'tool_call_end')).toMatchObject({ arguments: '{"a": tru}', parse_error: expect.stringMatching(/JSON/) })
    expect(r.errors).toEqual(['ARGS_PARSE'])
  })

  it('unknown event types and malformed JSON become unknown events; the stream goes on', () => {
    const r = run([start, ['brand_new_event', { type: 'brand_new_event', x: 1 }], ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_'], blockStart(0, { type: 'text', text: '' }), blockDelta(0, { type: 'text_delta', text: 'ok' }), stop], A)
    expect(r.brief.filter((e) => e['type'] === 'unknown')).toMatchObject([
      { seq: 1, event: 'brand_new_event', data: '{"type":"brand_new_event","x":1}' },
      { seq: 2, event: 'content_block_delta', reason: expect.stringMatching(/^malformed JSON/) },
    ])
    expect(r.brief.find((e) => e['type'] === 'text_delta')).toMatchObject({ text: 'ok' })
    expect(r.errors).toEqual(['MALFORMED_JSON'])
  })

  it('uses the SSE event name when the data has no type', () => {
    const r = run([start, ['message_stop', {}]], A)
    expect(r.brief[r.brief.length - 1]).toEqual({ type: 'message_end', seq: 1 })
  })

  it('input_json_delta outside a tool block is reported and kept', () => {
    const r = run([start, blockDelta(5, { type: 'input_json_delta', partial_json: '{}' }), stop], A)
    expect(r.errors).toEqual(['UNEXPECTED_EVENT'])
    expect(r.brief.filter((e) => e['type'] === 'unknown')).toHaveLength(1)
  })

  it('a second message_start in one flow closes the unfinished first message', () => {
    const r = run([start, blockStart(0, { type: 'text', text: '' }), blockDelta(0, { type: 'text_delta', text: 'a' }), start, blockStart(0, { type: 'text', text: '' }), blockDelta(0, { type: 'text_delta', text: 'b' }), blockStop(0), delta('end_turn', 3), stop], A)
    expect(r.brief.filter((e) => e['type'] === 'message_start' || e['type'] === 'message_end')).toEqual([
      { type: 'message_start', seq: 0, message_id: 'msg_1', model: 'claude-sonnet-4-5', role: 'assistant' },
      { type: 'message_end', seq: 3, incomplete: true },
      { type: 'message_start', seq: 3, message_id: 'msg_1', model: 'claude-sonnet-4-5', role: 'assistant' },
      { type: 'message_end', seq: 8, stop_reason: 'end_turn' },
    ])
    expect(r.errors).toEqual(['INCOMPLETE_STREAM'])
  })

  it('the fast path for deltas gives exactly the events of the general parser', () => {
    const texts = ['', 'plain', 'quote " inside', 'back\\slash', 'nl\nand\ttab', 'é€😀', '\u0000\u001f', '}}', '"}}', 'lone \ud800']
    const kinds: [string, string][] = [['text_delta', 'text'], ['thinking_delta', 'thinking'], ['signature_delta', 'signature'], ['input_json_delta', 'partial_json']]
    const canonical: [string, unknown][] = [start, blockStart(0, { type: 'tool_use', id: 'toolu_f', name: 'T', input: {} })]
    const spaced: [string, unknown][] = [...canonical]
    for (const t of texts) {
      for (const [type, field] of kinds) {
        for (const index of [0, 12]) {
          canonical.push(['content_block_delta', `{"type":"content_block_delta","index":${index},"delta":{"type":"${type}","${field}":${JSON.stringify(t)}}}`])
          // Same content, another layout: only the general parser takes it.
          spaced.push(['content_block_delta', `{"index": ${index}, "delta": {"${field}": ${JSON.stringify(t)}, "type": "${type}"}, "type": "content_block_delta"}`])
        }
      }
    }
    // Not valid JSON although it starts like the fast layout: both paths must reject it the same way.
    canonical.push(['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"b"}}'])
    spaced.push(['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"b"}}'])
    canonical.push(['content_block_delta', '{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}'])
    spaced.push(['content_block_delta', '{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}'])
    canonical.push(blockStop(0), stop)
    spaced.push(blockStop(0), stop)
    const a = run(canonical, A)
    const b = run(spaced, A)
    // Unknown events carry their raw data, which differs by construction: compare the rest.
    const noData = (e: AgentEvent): unknown => (e.type === 'unknown' ? { ...e, data: undefined } : e)
    expect(a.events.map(noData)).toEqual(b.events.map(noData))
    expect(a.events.filter((e) => e.type === 'unknown')).toHaveLength(texts.length + 2)
    expect(a.errors).toEqual(b.errors)
    expect(a.events.filter((e) => e.type === 'text_delta').map((e) => (e.type === 'text_delta' ? e.text : ''))).toEqual(texts.flatMap((t) => [t, t]))
    expect(a.errors.filter((c) => c === 'MALFORMED_JSON')).toHaveLength(2)
  })
})
