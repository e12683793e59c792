import { describe, expect, it } from 'vitest'
import { requestToolResults, toolResultLine } from '../src/tool-results.js'
import { fixtureRecords } from './helpers.js'

const bodies = (file: string) => fixtureRecords(file).filter((r) => r.type === 'flow').map((r) => r.request_body)

describe('requestToolResults', () => {
  it('Anthropic: the tool_result blocks of the last user message, named from the history', () => {
    const [first, second] = bodies('claude-code-turn.jsonl')
    expect(requestToolResults(first)).toEqual([])
    const r = requestToolResults(second)
    expect(r).toHaveLength(1)
    expect(r[0]).toMatchObject({ call_id: 'toolu_01FixtureBash000000001', name: 'Bash', error: false })
    expect(r[0]?.text.startsWith('café\ntotal 24')).toBe(true)
    expect(toolResultLine(r[0]!)).toBe('↳ Bash result: café (+4 lines)')
  })

  it('Responses: trailing function_call_output items; Codex shell output unwrapped with its exit code', () => {
    const [, second, third] = bodies('codex-turn.jsonl')
    const r = requestToolResults(second)
    expect(r.map((x) => [x.name, x.exitCode, x.error])).toEqual([
      ['shell', 1, true],
      ['shell_command', undefined, false],
    ])
    expect(toolResultLine(r[0]!)).toBe('↳ shell result exit 1: FAIL tests/parse.test.ts (+1 line)')
    const r3 = requestToolResults(third)
    expect(r3.map((x) => x.name)).toEqual(['exec_command', 'apply_patch'])
    expect(r3[0]?.exitCode).toBe(0)
    expect(toolResultLine(r3[0]!)).toBe('↳ exec_command result exit 0: export function parseLine(s: string) { (+2 lines)')
  })

  it('no body, an out-of-line body, another API, an is_error result, a long line', () => {
    expect(requestToolResults(undefined)).toEqual([])
    expect(requestToolResults({ $ref: 'sse_logs/x.json' })).toEqual([])
    expect(requestToolResults({ prompt: 'x' })).toEqual([])
    const r = requestToolResults({
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'x'.repeat(500) }], is_error: true }] }],
    })
    expect(r[0]?.error).toBe(true)
    const line = toolResultLine(r[0]!, 50)
    expect(line).toBe(`↳ t1 result error: ${'x'.repeat(49)}…`)
  })

  it('Claude Code 2.1.x: results are found before the trailing system entry; Chat Completions tool messages too', () => {
    const r = requestToolResults({
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
        { role: 'system', content: 'deferred tools' },
      ],
    })
    expect(r).toEqual([{ call_id: 't1', name: 'Bash', text: 'ok', error: false }])
    const c = requestToolResults({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'done' }] })
    expect(toolResultLine(c[0]!)).toBe('↳ f result: done')
  })
})
