import { describe, expect, it } from 'vitest'
import { fixtureRecords } from '../test/helpers.js'
import { commandsOf, layout, renderConversation, type SseLike } from './conversation.js'

function render(name: string, flowId: string, opts: { finished?: boolean; upTo?: number; ws?: boolean } = {}) {
  const recs = fixtureRecords(name).filter((r) => r['flow_id'] === flowId)
  const flow = recs.find((r) => r['type'] === 'flow')
  let lines = recs.filter((r) => r['type'] === 'sse') as unknown as SseLike[]
  if (opts.upTo !== undefined) lines = lines.slice(0, opts.upTo)
  if (opts.ws) lines = lines.map(({ event: _e, ...r }) => ({ ...r, transport: 'ws' as const }))
  const end = opts.upTo === undefined ? recs.find((r) => r['type'] === 'flow_end') : undefined
  return renderConversation(
    { flow_id: flowId, session_id: String(recs[0]?.['session_id']), lines, ...(flow ? { flow } : {}), ...(end ? { end } : {}) },
    opts.finished === undefined ? {} : { finished: opts.finished },
  )
}
const text = (lines: { text: string; style: string }[][]) => lines.map((l) => l.map((s) => s.text).join('')).join('\n')
const styled = (lines: { text: string; style: string }[][], style: string) => lines.flatMap((l) => l.filter((s) => s.style === style).map((s) => s.text))

describe('renderConversation (the live pipeline, one flow)', () => {
  it('renders a Claude Code turn as the monitor does: thinking, text, the Bash call as a $ command with split escapes decoded, the end line', () => {
    const r = render('claude-code-turn', 'cc-turn-1')
    expect(styled(r.lines, 'thinking').join('')).toContain('The user wants the files in src/')
    expect(styled(r.lines, 'text').join('')).toContain("I'll list the files")
    expect(r.commands).toEqual(['printf "café\\n" && ls -la src/\necho "a\\"b" | grep -c \'\\\\\' # 🚀'])
    expect(styled(r.lines, 'command')[0]).toBe('$ printf "café\\n" && ls -la src/')
    expect(styled(r.lines, 'meta')).toEqual(['■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 495 ms'])
    expect(r.problems).toEqual([])
    // The raw JSON preview of the arguments was erased by the backtrack.
    expect(text(r.lines)).not.toContain('{"command"')
  })

  it('shows the tool results the request carried, like the monitor', () => {
    const r = render('claude-code-turn', 'cc-turn-2')
    expect(text(r.lines)).toMatch(/^↳ Bash result: café \(\+4 lines\)\n/)
  })

  it('renders Codex shell, shell_command and exec_command calls as commands and apply_patch as raw text', () => {
    const one = render('codex-turn', 'cx-turn-1')
    expect(one.commands).toEqual(['cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20', 'rg -n "parseLine" src/ | head -n 5'])
    expect(text(one.lines)).toContain('out 312 (reasoning 192)')
    const two = render('codex-turn', 'cx-turn-2')
    expect(two.commands).toEqual(["sed -n '1,40p' src/parse.ts"])
    expect(styled(two.lines, 'tool').join('\n')).toContain('*** Begin Patch')
  })

  it('renders Codex over WebSocket (text frames, no SSE event names) the same as over SSE', () => {
    const a = render('codex-turn', 'cx-turn-1')
    const b = render('codex-turn', 'cx-turn-1', { ws: true })
    expect(b.commands).toEqual(a.commands)
    expect(b.lines).toEqual(a.lines)
  })

  it('marks a stream that died mid-text as truncated and keeps the text', () => {
    const r = render('truncated-stream', 'trunc-1')
    expect(text(r.lines)).toContain('exponential backoff')
    expect(styled(r.lines, 'error').join('')).toMatch(/^✗ truncated · /)
  })

  it('does not call a flow that is still streaming cut off', () => {
    const r = render('claude-code-turn', 'cc-turn-1', { finished: false, upTo: 10 })
    expect(styled(r.lines, 'error')).toEqual([])
    expect(styled(r.lines, 'meta')).toEqual([])
  })

  it('shows API errors carried in a 200 stream in the one error-line format, and the end line says error', () => {
    const a = render('api-error-in-200', 'err-anthropic-1')
    expect(styled(a.lines, 'error')[0]).toBe('✗ overloaded_error: Overloaded')
    expect(styled(a.lines, 'error')[1]).toMatch(/^✗ error · .* · overloaded_error: Overloaded$/)
    const b = render('api-error-in-200', 'err-responses-1')
    expect(styled(b.lines, 'error')[0]).toMatch(/^✗ rate_limit_exceeded: Rate limit reached/)
  })

  it('reports malformed event data instead of failing', () => {
    const r = renderConversation({
      flow_id: 'x',
      session_id: 's',
      flow: { type: 'flow', ts: '2026-01-01T00:00:00.000Z', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' },
      lines: [
        { seq: 0, event: 'message_start', data: '{"type":"message_start","message":{"id":"m","model":"claude-x","usage":{"input_tokens":1}}}' },
        { seq: 1, event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_de' },
        { seq: 2, event: 'content_block_start', data: '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}' },
        { seq: 3, event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"still here"}}' },
      ],
    })
    expect(text(r.lines)).toContain('still here')
    expect(r.problems.join('\n')).toMatch(/JSON/i)
  })

  it('15,000 levels of nested tool arguments render in bounded size', () => {
    const depth = 15_000
    const args = `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`
    const lines: SseLike[] = [
      { seq: 0, event: 'message_start', data: JSON.stringify({ type: 'message_start', message: { id: 'm', model: 'claude-x', role: 'assistant' } }) },
      { seq: 1, event: 'content_block_start', data: JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'Edit', input: {} } }) },
    ]
    for (let i = 0; i < args.length; i += 5) lines.push({ seq: lines.length, event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + 5) } }) })
    lines.push({ seq: lines.length, event: 'content_block_stop', data: '{"type":"content_block_stop","index":0}' }, { seq: lines.length + 1, event: 'message_stop', data: '{"type":"message_stop"}' })
    const r = renderConversation({ flow_id: 'deep', session_id: 's', flow: { type: 'flow', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' }, lines })
    expect(JSON.stringify(r).length).toBeLessThan(200_000)
    expect(text(r.lines)).toContain('«nested deeper than 64 levels: shown compact»')
  })
})

describe('layout and commands', () => {
  it('backtrack erases the current line only, newlines split lines, blank runs collapse', () => {
    const lines = layout([
      { op: 'text', text: 'keep', style: 'text' },
      { op: 'newline' },
      { op: 'text', text: 'raw preview', style: 'dim' },
      { op: 'backtrack' },
      { op: 'text', text: '$ ', style: 'command' },
      { op: 'text', text: 'ls', style: 'command' },
      { op: 'newline' },
      { op: 'newline' },
      { op: 'newline' },
      { op: 'text', text: 'end', style: 'meta' },
    ])
    expect(lines).toEqual([[{ text: 'keep', style: 'text' }], [{ text: '$ ls', style: 'command' }], [], [{ text: 'end', style: 'meta' }]])
  })

  it('a multi-line command continues on command-only lines', () => {
    const c = (t: string) => [{ text: t, style: 'command' as const }]
    expect(commandsOf([c('$ cat <<EOF'), c('a'), c('EOF'), [{ text: 'x', style: 'text' }], c('$ ls')])).toEqual(['cat <<EOF\na\nEOF', 'ls'])
  })
})
