import { describe, expect, it } from 'vitest'
import { cacheSegments } from './cache-segments.js'
import { analyzeRequest } from './request-anatomy.js'

const A_URL = 'https://api.anthropic.com/v1/messages'

const body = () => ({
  model: 'claude-sonnet-4-5',
  tools: [
    { name: 'Bash', description: 'run', input_schema: { type: 'object' } },
    { name: 'Read', description: 'read', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
  ],
  system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: '<system-reminder>todo list empty</system-reminder>' }, { type: 'text', text: 'fix the bug' }] },
    { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'x' }, { type: 'text', text: 'ok' }] },
    { role: 'user', content: [{ type: 'text', text: 'go on', cache_control: { type: 'ephemeral' } }] },
  ],
})

describe('cacheSegments', () => {
  it('Anthropic: tools → system → messages, exact sizes, breakpoints with TTL, reminder and thinking flags', () => {
    const b = body()
    const { segments, texts } = cacheSegments(b, 'anthropic-messages', true)
    expect(segments.map((s) => `${s.kind}:${s.label}:${s.breakpoint ?? '-'}`)).toEqual(['tool:Bash:-', 'tool:Read:5m', 'system:system:1h', 'message:user:-', 'message:assistant:-', 'message:user:5m'])
    expect(texts![1]).toBe('{"name":"Read","description":"read","input_schema":{"type":"object"}}')
    expect(segments.map((s) => s.bytes)).toEqual(texts!.map((t) => Buffer.byteLength(t)))
    expect(segments[3]!.reminder).toBe(true)
    expect(segments[4]).toMatchObject({ thinking: 1 })
    expect(segments[4]!.loose).toMatch(/^[0-9a-f]{16}$/)
  })

  it('moving a breakpoint changes no hash; stripping thinking changes the hash but not the loose hash', () => {
    const a = cacheSegments(body(), 'anthropic-messages').segments
    const moved = body()
    delete (moved.messages[2]!.content[0] as Record<string, unknown>)['cache_control']
    ;(moved.messages[0]!.content[1] as Record<string, unknown>)['cache_control'] = { type: 'ephemeral' }
    const m = cacheSegments(moved, 'anthropic-messages').segments
    expect(m.map((s) => s.hash)).toEqual(a.map((s) => s.hash))
    expect(m[3]!.breakpoint).toBe('5m')
    expect(m[5]!.breakpoint).toBeUndefined()
    const stripped = body()
    stripped.messages[1]!.content.shift()
    const st = cacheSegments(stripped, 'anthropic-messages').segments
    expect(st[4]!.hash).not.toBe(a[4]!.hash)
    expect(st[4]!.hash).toBe(a[4]!.loose)
  })

  it('Responses: instructions → tools → input items; a compaction item is a summary; a reasoning item counts as thinking', () => {
    const { segments } = cacheSegments({ type: 'response.create', response: { instructions: 'be brief', tools: [{ type: 'function', name: 'shell', parameters: {} }], input: [{ type: 'compaction', encrypted_content: 'e' }, { role: 'user', content: [{ type: 'input_text', text: 'hi' }] }, { type: 'reasoning', summary: [] }] } }, 'openai-responses')
    expect(segments.map((s) => `${s.kind}:${s.label}`)).toEqual(['system:instructions', 'tool:shell', 'message:compaction', 'message:user', 'message:reasoning'])
    expect(segments[2]!.summary).toBe(true)
    expect(segments[4]!.thinking).toBe(1)
  })

  it('a Claude Code compaction summary message is flagged; non-ASCII text is counted in UTF-8 bytes', () => {
    const { segments, texts } = cacheSegments({ messages: [{ role: 'user', content: 'This session is being continued from a previous conversation that ran out of context. Résumé' }] }, 'anthropic-messages', true)
    expect(segments[0]!.summary).toBe(true)
    expect(segments[0]!.bytes).toBe(Buffer.byteLength(texts![0]!))
    expect(segments[0]!.bytes).toBe(texts![0]!.length + 2)
  })

  it('analyzeRequest carries the segments (texts only when asked)', () => {
    const a = analyzeRequest({ url: A_URL, body: body() })
    expect(a.segments).toHaveLength(6)
    expect(a.segment_texts).toBeUndefined()
    expect(analyzeRequest({ url: A_URL, body: body() }, { segmentTexts: true }).segment_texts).toHaveLength(6)
    expect(cacheSegments('junk', 'anthropic-messages').segments).toEqual([])
  })

  it('a tool list seen before gives the same segments as a fresh one: breakpoints, reminders and sizes of this request', () => {
    const first = body()
    first.tools[0]!.description = '<system-reminder>é</system-reminder>'
    expect(analyzeRequest({ url: A_URL, body: first }).segments).toEqual(cacheSegments(first, 'anthropic-messages').segments)
    // Same tools, the breakpoint moved from Read to Bash (the list's key leaves cache_control out).
    const again = body()
    again.tools[0]!.description = '<system-reminder>é</system-reminder>'
    delete (again.tools[1] as { cache_control?: unknown }).cache_control
    ;(again.tools[0] as { cache_control?: unknown }).cache_control = { type: 'ephemeral', ttl: '1h' }
    const seen = analyzeRequest({ url: A_URL, body: again }).segments
    expect(seen).toEqual(cacheSegments(again, 'anthropic-messages').segments)
    expect(JSON.stringify(seen)).toBe(JSON.stringify(cacheSegments(again, 'anthropic-messages').segments))
    expect(seen.slice(0, 2).map((s) => `${s.label}:${s.breakpoint ?? '-'}:${s.reminder ?? '-'}`)).toEqual(['Bash:1h:true', 'Read:-:-'])
    expect(seen[0]!.bytes).toBe(Buffer.byteLength(JSON.stringify({ name: 'Bash', description: '<system-reminder>é</system-reminder>', input_schema: { type: 'object' } })))
  })
})
