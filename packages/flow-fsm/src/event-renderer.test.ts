import { describe, expect, it } from 'vitest'
import { createEventRenderer } from './event-renderer.js'
import type { AgentEvent } from './normalizer-contract.js'
import type { RenderOp } from './types.js'
import { screen } from '../test/helpers.js'

const base = { flow_id: 'f', provider: 'openai-chat' as const }
function run(events: AgentEvent[], opts: Parameters<typeof createEventRenderer>[0] = {}) {
  const r = createEventRenderer(opts)
  const ops: RenderOp[] = []
  for (const e of events) ops.push(...r.event(e))
  ops.push(...r.end())
  return { ops, lines: screen(ops) }
}

describe('createEventRenderer', () => {
  it('puts each block on its own line and styles text, thinking and errors', () => {
    const { ops, lines } = run([
      { ...base, type: 'thinking_delta', index: 0, text: 'plan ' },
      { ...base, type: 'thinking_delta', index: 0, text: 'it', kind: 'signature' },
      { ...base, type: 'thinking_delta', index: 0, text: 'done' },
      { ...base, type: 'text_delta', index: 1, text: 'Hello\nworld' },
      { ...base, type: 'error', message: 'Overloaded', error_type: 'overloaded_error' },
      { ...base, type: 'thinking_delta', index: 2, text: '', kind: 'redacted' },
    ])
    expect(lines).toEqual(['plan done', 'Hello', 'world', '✗ overloaded_error: Overloaded', '[redacted thinking]'])
    expect(ops.filter((o) => o.op === 'text').map((o) => (o as { style: string }).style)).toEqual(['thinking', 'thinking', 'text', 'text', 'error', 'meta'])
  })

  it('hides thinking when asked', () => {
    const { lines } = run([{ ...base, type: 'thinking_delta', text: 'secret' }, { ...base, type: 'text_delta', text: 'shown' }], { showThinking: false })
    expect(lines).toEqual(['shown'])
  })

  it('keeps interleaved parallel tool calls (Chat Completions) apart, each on its own rows', () => {
    const a = { call_id: 'call_a', index: 0 }
    const b = { call_id: 'call_b', index: 1 }
    const { lines } = run([
      { ...base, ...a, type: 'tool_call_start', name: 'exec_command', kind: 'function' },
      { ...base, ...b, type: 'tool_call_start', name: 'Read', kind: 'function' },
      { ...base, ...a, type: 'tool_args_delta', delta: '{"cmd":"ls' },
      { ...base, ...b, type: 'tool_args_delta', delta: '{"file_path":' },
      { ...base, ...a, type: 'tool_args_delta', delta: ' -la"}' },
      { ...base, ...b, type: 'tool_args_delta', delta: '"/a"}' },
      { ...base, ...a, type: 'tool_call_end', name: 'exec_command', kind: 'function', arguments: '{"cmd":"ls -la"}' },
      { ...base, ...b, type: 'tool_call_end', name: 'Read', kind: 'function', arguments: '{"file_path":"/a"}' },
    ])
    // the first call streams live, the second is shown whole after it
    expect(lines).toEqual(['$ ls -la', 'Read {', '  "file_path": "/a"', '}'])
  })

  it('ends an open call as cut off at end()', () => {
    const { lines } = run([
      { ...base, call_id: 'c', type: 'tool_call_start', name: 'Bash', kind: 'function' },
      { ...base, call_id: 'c', type: 'tool_args_delta', delta: '{"command":"sleep' },
    ])
    expect(lines).toEqual(['$ sleep', '✗ tool call cut off before its arguments completed'])
  })

  it('renders an incomplete tool_call_end (stream died) as cut off', () => {
    const { lines } = run([
      { ...base, call_id: 'c', type: 'tool_call_start', name: 'Bash', kind: 'function' },
      { ...base, call_id: 'c', type: 'tool_args_delta', delta: '{"command":"make' },
      { ...base, call_id: 'c', type: 'tool_call_end', name: 'Bash', kind: 'function', arguments: '{"command":"make', incomplete: true },
    ])
    expect(lines).toEqual(['$ make', '✗ tool call cut off before its arguments completed'])
  })
})
