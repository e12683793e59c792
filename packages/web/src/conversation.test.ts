import { describe, expect, it } from 'vitest'
import { fixtureRecords } from '../test/helpers.js'
import { layout, renderConversation, usageLine, type SseLike } from './conversation.js'

function render(name: string, flowId: string, opts: { finished?: boolean; upTo?: number } = {}) {
  const recs = fixtureRecords(name)
  const flow = recs.find((r) => r['type'] === 'flow' && r['flow_id'] === flowId) as { flow_id: string; url?: string; provider?: string; client?: string }
  let lines = recs.filter((r) => r['type'] === 'sse' && r['flow_id'] === flowId) as unknown as SseLike[]
  if (opts.upTo !== undefined) lines = lines.slice(0, opts.upTo)
  return renderConversation(flow, lines, opts.finished === undefined ? {} : { finished: opts.finished })
}
const text = (lines: { text: string; style: string }[][]) => lines.map((l) => l.map((s) => s.text).join('')).join('\n')
const styled = (lines: { text: string; style: string }[][], style: string) => lines.flatMap((l) => l.filter((s) => s.style === style).map((s) => s.text))

describe('renderConversation', () => {
  it('renders a Claude Code turn: thinking, text, the Bash call as a $ command with split escapes decoded, usage', () => {
    const r = render('claude-code-turn', 'cc-turn-1')
    expect(styled(r.lines, 'thinking').join('')).toContain('The user wants the files in src/')
    expect(styled(r.lines, 'text').join('')).toContain("I'll list the files")
    expect(r.commands).toEqual(['printf "café\\n" && ls -la src/\necho "a\\"b" | grep -c \'\\\\\' # 🚀'])
    expect(styled(r.lines, 'command')[0]).toBe('$ printf "café\\n" && ls -la src/')
    expect(text(r.lines)).toContain('usage: in 9 · out 187 · cache read 14210 · cache write 1320')
    expect(r.stop_reason).toBe('tool_use')
    expect(r.model).toBe('claude-sonnet-4-5-20250929')
    expect(r.tool_calls).toBe(1)
    expect(r.problems).toEqual([])
    // The raw JSON preview of the arguments was erased by the backtrack.
    expect(text(r.lines)).not.toContain('{"command"')
  })

  it('renders Codex shell, shell_command and exec_command calls as commands and apply_patch as raw text', () => {
    const one = render('codex-turn', 'cx-turn-1')
    expect(one.commands).toEqual(['cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20', 'rg -n "parseLine" src/ | head -n 5'])
    expect(text(one.lines)).toContain('reasoning 192')
    const two = render('codex-turn', 'cx-turn-2')
    expect(two.commands).toEqual(["sed -n '1,40p' src/parse.ts"])
    expect(styled(two.lines, 'tool').join('\n')).toContain('*** Begin Patch')
  })

  it('renders Codex over WebSocket (text frames, no SSE event names) the same as over SSE', () => {
    const recs = fixtureRecords('codex-turn')
    const flow = recs.find((r) => r['type'] === 'flow' && r['flow_id'] === 'cx-turn-1') as { flow_id: string; url?: string; provider?: string; client?: string }
    const sse = recs.filter((r) => r['type'] === 'sse' && r['flow_id'] === 'cx-turn-1') as unknown as SseLike[]
    const ws = sse.map(({ event: _e, ...r }) => ({ ...r, transport: 'ws' as const }))
    const a = renderConversation(flow, sse)
    const b = renderConversation({ ...flow, url: 'wss://chatgpt.com/backend-api/codex/responses' }, ws)
    expect(b.commands).toEqual(a.commands)
    expect(b.lines).toEqual(a.lines)
  })

  it('marks a stream that died mid-text as incomplete and keeps the text', () => {
    const r = render('truncated-stream', 'trunc-1')
    expect(text(r.lines)).toContain('exponential backoff')
    expect(styled(r.lines, 'error').join('')).toContain('incomplete')
  })

  it('does not call a flow that is still streaming incomplete', () => {
    const r = render('claude-code-turn', 'cc-turn-1', { finished: false, upTo: 10 })
    expect(styled(r.lines, 'error')).toEqual([])
  })

  it('shows API errors carried in a 200 stream, once', () => {
    const a = render('api-error-in-200', 'err-anthropic-1')
    expect(styled(a.lines, 'error')).toEqual(['✗ overloaded_error: Overloaded'])
    expect(a.error).toBe('overloaded_error: Overloaded')
    const b = render('api-error-in-200', 'err-responses-1')
    expect(b.error).toMatch(/^rate_limit_exceeded: Rate limit reached/)
  })

  it('reports malformed event data with its seq instead of failing', () => {
    const r = renderConversation({ flow_id: 'x', provider: 'anthropic' }, [
      { seq: 0, event: 'message_start', data: '{"type":"message_start","message":{"id":"m","model":"claude-x","usage":{"input_tokens":1}}}' },
      { seq: 1, event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_de' },
      { seq: 2, event: 'content_block_start', data: '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}' },
      { seq: 3, event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"still here"}}' },
    ])
    expect(text(r.lines)).toContain('still here')
    expect(r.problems.join('\n')).toMatch(/seq 1|byte|JSON/i)
  })
})

describe('layout', () => {
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
  it('usageLine is empty without usage', () => {
    expect(usageLine({})).toBe('')
  })
})
