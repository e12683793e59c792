import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { analyzeRequest, type AnalyzedRequest, type RequestAnatomy } from './request-anatomy.js'
import { clearRequestMemo, reusedItems, sameJson, MESSAGE_DEPTHS, LIST_DEPTHS } from './request-memo.js'
// @ts-expect-error: plain ES module without types
import { writeSynthetic } from '../../../fixtures/generate.mjs'

const A_URL = 'https://api.anthropic.com/v1/messages?beta=true'
const R_URL = 'https://api.openai.com/v1/responses'
const C_URL = 'https://api.openai.com/v1/chat/completions'

/**
 * Analyzes the requests in order twice: once as a process would (the memo carrying what earlier
 * requests share with later ones), once with the memo cleared before each request (the full
 * work). Returns both lists of anatomies.
 */
function both(reqs: AnalyzedRequest[]): { memo: RequestAnatomy[]; fresh: RequestAnatomy[]; reused: number } {
  clearRequestMemo()
  const memo = reqs.map((r) => analyzeRequest(structuredClone(r)))
  const reused = reusedItems()
  const fresh = reqs.map((r) => {
    clearRequestMemo()
    return analyzeRequest(structuredClone(r))
  })
  return { memo, fresh, reused }
}

const cc = { type: 'ephemeral' }
const SYSTEM = [{ type: 'text', text: 'You are Claude Code.' }, { type: 'text', text: 'Be brief. '.repeat(50), cache_control: cc }]
const TOOLS = [
  { name: 'Bash', description: 'Runs a command.', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
  { name: 'Read', description: 'Reads a file.', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } }, cache_control: cc },
]

/** A Claude Code conversation: each request resends the history, its cache marker on the newest message. */
function claudeConversation(turns: number, tag: string): AnalyzedRequest[] {
  const history: Record<string, unknown>[] = []
  const out: AnalyzedRequest[] = []
  for (let t = 0; t < turns; t++) {
    history.push({ role: 'user', content: t === 0 ? [{ type: 'text', text: `<system-reminder>ctx ${tag}</system-reminder>` }, { type: 'text', text: `Task ${tag}` }] : [{ type: 'tool_result', tool_use_id: `toolu_${tag}_${t - 1}`, content: `out ${t}` }] })
    const messages = history.map((m, i) => (i === history.length - 1 ? { ...m, content: (m['content'] as Record<string, unknown>[]).map((b, j, a) => (j === a.length - 1 ? { ...b, cache_control: cc } : b)) } : m))
    // Claude Code 2.1 ends its messages with a system entry (the deferred tools).
    messages.push({ role: 'system', content: 'deferred tools' })
    out.push({ url: A_URL, client: 'claude-code', provider: 'anthropic', body: { model: 'claude-sonnet-4-5', messages, system: SYSTEM, tools: TOOLS, max_tokens: 100, stream: true } })
    history.push({ role: 'assistant', content: [{ type: 'thinking', thinking: `hmm ${t}`, signature: 's' }, { type: 'text', text: `Running ${t}` }, { type: 'tool_use', id: `toolu_${tag}_${t}`, name: 'Bash', input: { command: `ls ${t}` } }] })
  }
  return out
}

describe('request memo: the same analysis as without it', () => {
  beforeEach(() => clearRequestMemo())
  afterAll(() => clearRequestMemo())

  it('Claude Code conversations, side by side, with moving cache markers and a trailing system entry', () => {
    const a = claudeConversation(8, 'a')
    const b = claudeConversation(8, 'b')
    const reqs = a.flatMap((r, i) => [r, b[i]!])
    const { memo, fresh, reused } = both(reqs)
    expect(memo).toEqual(fresh)
    // Request t of a conversation takes its first 2t-1 messages from request t-1 (not its trailing system entry).
    expect(reused).toBe(2 * a.slice(1).reduce((n, _, t) => n + 2 * (t + 1) - 1, 0))
    // Each request's history extends the one before in its conversation.
    expect(memo[2]!.history.slice(0, memo[0]!.history.length)).toEqual(memo[0]!.history)
  })

  it('a client that drops thinking blocks from the history, edits an old message, or compacts', () => {
    const reqs = claudeConversation(6, 'c')
    const body = (i: number) => reqs[i]!.body as { messages: Record<string, unknown>[] }
    // Request 3 resends the assistant turns without their thinking blocks.
    body(3).messages = body(3).messages.map((m) => (m['role'] === 'assistant' ? { ...m, content: (m['content'] as { type: string }[]).filter((x) => x.type !== 'thinking') } : m))
    // Request 4 changes the first message (an edited reminder).
    body(4).messages = [{ role: 'user', content: 'edited' }, ...body(4).messages.slice(1)]
    // Request 5 is compacted: a summary and the last turn.
    body(5).messages = [{ role: 'user', content: 'This session is being continued from a previous conversation. Summary.' }, ...body(5).messages.slice(-3)]
    const { memo, fresh } = both(reqs)
    expect(memo).toEqual(fresh)
  })

  it('a cache marker whose value is content (braces) counts, and a marker deeper than a block does not match', () => {
    const reqs = claudeConversation(3, 'd')
    const body = (i: number) => reqs[i]!.body as { messages: Record<string, unknown>[] }
    body(1).messages[0] = { ...body(1).messages[0], cache_control: { type: 'ephemeral', note: '{x}' } }
    body(2).messages[1] = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_d_0', name: 'Bash', input: { command: 'ls 0', cache_control: cc } }] }
    const { memo, fresh } = both(reqs)
    expect(memo).toEqual(fresh)
  })

  it('Codex Responses conversations: an assistant group that grows in the next request is worked out again', () => {
    const items: Record<string, unknown>[] = [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'instructions' }] }]
    const reqs: AnalyzedRequest[] = []
    for (let t = 0; t < 6; t++) {
      items.push({ type: 'message', role: 'user', content: [{ type: 'input_text', text: `step ${t}` }] })
      reqs.push({ url: R_URL, client: 'codex', provider: 'openai', body: { model: 'gpt-5-codex', instructions: 'Be Codex.', input: structuredClone(items), tools: TOOLS.map((x) => ({ type: 'function', name: x.name, parameters: x.input_schema })), stream: true } })
      items.push({ type: 'reasoning', summary: [{ type: 'summary_text', text: `think ${t}` }] })
      items.push({ type: 'function_call', call_id: `call_${t}`, name: 'Bash', arguments: `{"command":"ls ${t}"}` })
      // A request that ends inside an assistant group: the next one adds to the group.
      reqs.push({ url: R_URL, client: 'codex', provider: 'openai', body: { model: 'gpt-5-codex', input: structuredClone(items), stream: true } })
      items.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `note ${t}` }] })
      items.push({ type: 'function_call_output', call_id: `call_${t}`, output: JSON.stringify({ output: `out ${t}`, metadata: { exit_code: t % 2 } }) })
    }
    const { memo, fresh, reused } = both(reqs)
    expect(memo).toEqual(fresh)
    expect(reused).toBeGreaterThan(40)
  })

  it('Chat Completions conversations', () => {
    const messages: Record<string, unknown>[] = [{ role: 'system', content: 'sys' }]
    const reqs: AnalyzedRequest[] = []
    for (let t = 0; t < 4; t++) {
      messages.push({ role: 'user', content: `q ${t}` })
      reqs.push({ url: C_URL, body: { model: 'gpt-4.1', messages: structuredClone(messages), stream: true } })
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `c${t}`, type: 'function', function: { name: 'f', arguments: '{}' } }] })
      messages.push({ role: 'tool', tool_call_id: `c${t}`, content: `r ${t}` })
    }
    const { memo, fresh } = both(reqs)
    expect(memo).toEqual(fresh)
  })

  it('every request of a synthetic capture with real-size requests (20 agents side by side)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agenttap-memo-'))
    try {
      writeSynthetic(dir, { sessions: 6, flows: 40, seed: 4, targetMb: 12, mix: 'real-sizes' })
      const flows = readFileSync(join(dir, 'all-mitm-sse', 'sse_flows.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(flows.length).toBeGreaterThan(40)
      const reqs = flows.map((f) => ({ url: f['url'] as string, body: f['request_body'], client: f['client'] as string, provider: f['provider'] as string }))
      const { memo, fresh, reused } = both(reqs)
      expect(memo).toEqual(fresh)
      expect(reused).toBeGreaterThan(reqs.length * 5)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('every request of the fixtures, in file order', () => {
    const root = join(import.meta.dirname, '../../../fixtures')
    const reqs = readdirSync(root)
      .filter((x) => x.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(root, f), 'utf8').split('\n').filter((l) => l !== ''))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['type'] === 'flow')
      .map((f) => ({ url: f['url'] as string, body: f['request_body'], client: f['client'] as string, provider: f['provider'] as string }))
    expect(reqs.length).toBeGreaterThan(10)
    const { memo, fresh } = both(reqs)
    expect(memo).toEqual(fresh)
  })
})

describe('sameJson', () => {
  it('is JSON.stringify equality: key order, types, nesting', () => {
    expect(sameJson({ a: 1, b: [1, 'x', null, true] }, { a: 1, b: [1, 'x', null, true] }, 0)).toBe(true)
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 }, 0)).toBe(false)
    expect(sameJson([1, 2], [1, 2, 3], 0)).toBe(false)
    expect(sameJson({ a: '1' }, { a: 1 }, 0)).toBe(false)
    expect(sameJson({ a: [] }, { a: {} }, 0)).toBe(false)
    expect(sameJson({ a: undefined, b: 1 }, { b: 1 }, 0)).toBe(false) // a miss, never a wrong match
    expect(sameJson({ d: new Date(0) }, { d: new Date(1) }, 0)).toBe(false)
  })

  it('leaves out a removable cache_control at the given depths only', () => {
    const m = (extra: object) => ({ role: 'user', content: [{ type: 'text', text: 'hi', ...extra }], ...extra })
    expect(sameJson(m({ cache_control: { type: 'ephemeral' } }), m({}), MESSAGE_DEPTHS)).toBe(true)
    expect(sameJson(m({ cache_control: { type: 'ephemeral', ttl: '1h' } }), m({ cache_control: { type: 'ephemeral' } }), MESSAGE_DEPTHS)).toBe(true)
    // A value withoutCacheControl keeps (a brace in it) is content.
    expect(sameJson(m({ cache_control: { type: 'ephemeral', note: '{' } }), m({}), MESSAGE_DEPTHS)).toBe(false)
    // Depth 1 (the content list) is not a depth messages skip; depth 1 is a list's elements.
    expect(sameJson({ content: { cache_control: cc } }, { content: {} }, MESSAGE_DEPTHS)).toBe(false)
    expect(sameJson([{ name: 'a', cache_control: cc }], [{ name: 'a' }], LIST_DEPTHS)).toBe(true)
    expect(sameJson([{ name: 'a', s: { cache_control: cc } }], [{ name: 'a', s: {} }], LIST_DEPTHS)).toBe(false)
  })
})
