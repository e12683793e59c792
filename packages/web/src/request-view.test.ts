import { describe, expect, it } from 'vitest'
import { fixtureRecords } from '../test/helpers.js'
import { buildRequestView, promptPreview } from './request-view.js'

const body = (name: string, id: string) => fixtureRecords(name).find((r) => r['type'] === 'flow' && r['flow_id'] === id)?.['request_body']

describe('buildRequestView', () => {
  it('splits an Anthropic request: system blocks, tools with schema, messages with tool results', () => {
    const v = buildRequestView(body('claude-code-turn', 'cc-turn-2'))
    expect(v?.model).toBe('claude-sonnet-4-5-20250929')
    expect(v?.system[0]).toContain('You are Claude Code')
    expect(v?.tools.map((t) => t.name)).toContain('Bash')
    expect(v?.tools[0]?.schema).toContain('"command"')
    const kinds = v?.messages.flatMap((m) => m.parts.map((p) => p.kind))
    expect(kinds).toContain('tool_use')
    expect(kinds).toContain('tool_result')
    expect(v?.params['max_tokens']).toBe('32000')
  })
  it('splits a Responses (Codex) request: instructions, function calls and their outputs', () => {
    const v = buildRequestView(body('codex-turn', 'cx-turn-2'))
    expect(v?.system.length).toBe(1)
    expect(v?.params['instructions']).toBeUndefined() // shown once, as the system prompt
    const kinds = v?.messages.flatMap((m) => m.parts.map((p) => p.kind))
    expect(kinds).toContain('tool_use')
    expect(kinds).toContain('tool_result')
    expect(v?.tools.length).toBeGreaterThan(0)
  })
  it('handles Chat Completions roles and non-object bodies', () => {
    const v = buildRequestView({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
    })
    expect(v?.system).toEqual(['be brief'])
    expect(v?.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool'])
    expect(v?.messages[1]?.parts[0]?.text).toBe('{\n  "a": 1\n}')
    expect(buildRequestView('text body')).toBeNull()
    expect(buildRequestView(null)).toBeNull()
  })
})

describe('promptPreview', () => {
  it('takes the last typed user prompt, skipping tool results, flattened and cut', () => {
    expect(promptPreview(body('claude-code-turn', 'cc-turn-2'))).toBe('List the files in src/ and count the lines of the largest one.')
    expect(promptPreview({ messages: [{ role: 'user', content: `a\n\n${'b'.repeat(500)}` }] }, 10)).toBe('a bbbbbbbb…')
    expect(promptPreview({ input: 'just text' })).toBe('just text')
    expect(promptPreview({})).toBeUndefined()
  })
})
