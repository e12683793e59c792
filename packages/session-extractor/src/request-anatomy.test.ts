import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { analyzeRequest } from './request-anatomy.js'
import { assistantUnit, chainHash } from './history-hash.js'

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../../../fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
const flows = (name: string) => fixture(name).filter((r) => r['type'] === 'flow')
/** Every flow's request of every fixture file, with its file name. */
const everyFixtureRequest = () =>
  readdirSync(join(import.meta.dirname, '../../../fixtures'))
    .filter((x) => x.endsWith('.jsonl'))
    .flatMap((f) => flows(f).map((r) => ({ f, flow_id: String(r['flow_id']), req: { body: r['request_body'], url: r['url'] as string, client: r['client'] as string, provider: r['provider'] as string } })))
const anatomyOf = (f: Record<string, unknown>) => analyzeRequest({ url: f['url'] as string, body: f['request_body'], headers: f['request_headers'] as Record<string, string>, client: f['client'] as string, provider: f['provider'] as string })

const A_URL = 'https://api.anthropic.com/v1/messages?beta=true'

describe('analyzeRequest: kind', () => {
  it('non-model endpoints and Claude Code requests without tools are aux; an SDK request without tools is a model call', () => {
    expect(analyzeRequest({ url: 'https://api.anthropic.com/api/claude_code/policy_limits', body: undefined, client: 'claude-code' })).toMatchObject({ kind: 'aux', api: 'unknown', aux_reason: 'not a model endpoint: /api/claude_code/policy_limits' })
    expect(analyzeRequest({ url: 'https://api.anthropic.com/v1/messages/count_tokens', body: { model: 'm', messages: [] } }).kind).toBe('aux')
    expect(analyzeRequest({ url: 'https://chatgpt.com/backend-api/codex/plugins/list', body: undefined }).kind).toBe('aux')
    const title = { model: 'claude-haiku-4-5', max_tokens: 512, messages: [{ role: 'user', content: 'Write a 5-word title for: fix CRLF' }], stream: false }
    expect(analyzeRequest({ url: A_URL, body: title, client: 'claude-code' })).toMatchObject({ kind: 'aux', api: 'anthropic-messages', prompt: 'Write a 5-word title for: fix CRLF' })
    expect(analyzeRequest({ url: A_URL, body: title, client: 'unknown' }).kind).toBe('model')
    expect(analyzeRequest({ url: 'wss://chatgpt.com/backend-api/codex/responses', body: { type: 'response.create', model: 'gpt-5-codex', input: 'hi' } })).toMatchObject({ kind: 'model', api: 'openai-responses', prompt: 'hi' })
  })

  it('an unknown path with a model request body is a model call of the API its shape says', () => {
    expect(analyzeRequest({ url: 'http://127.0.0.1:8080/proxy', body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, provider: 'openai' }).api).toBe('openai-chat')
    expect(analyzeRequest({ url: 'http://127.0.0.1:8080/proxy', body: { model: 'claude', max_tokens: 5, messages: [] } }).api).toBe('anthropic-messages')
  })

  it("Codex's WebSocket prewarm (generate: false) asks the model nothing: aux; the frames that follow are model calls", () => {
    const url = 'https://api.openai.com/v1/responses'
    const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list /tmp' }] }]
    const prewarm = analyzeRequest({ url, body: { type: 'response.create', model: 'gpt-5.1-codex', generate: false, input, tools: [{ type: 'function', name: 'exec_command' }] } })
    expect([prewarm.kind, prewarm.aux_reason]).toEqual(['aux', 'prewarm (generate: false): no answer asked for'])
    expect(analyzeRequest({ url, body: { type: 'response.create', model: 'gpt-5.1-codex', input, tools: [{ type: 'function', name: 'exec_command' }] } }).kind).toBe('model')
    expect(analyzeRequest({ url, body: { type: 'response.create', model: 'gpt-5.1-codex', generate: true, input } }).kind).toBe('model')
  })

  it('a body stored out of line says so and keeps the kind of its endpoint', () => {
    const a = analyzeRequest({ url: A_URL, body: { $ref: 'sse_logs/f1.request.json' }, client: 'claude-code' })
    expect(a).toMatchObject({ kind: 'model', api: 'anthropic-messages', body_ref: 'sse_logs/f1.request.json', history: [], tool_names: [] })
  })

  it('malformed bodies never throw', () => {
    for (const body of ['{not json', new Uint8Array([0xff, 0xfe, 0x00]), 42, null, [1, 2], { messages: 'x' }, { input: { weird: true } }, { messages: [null, 3, 'x'] }]) {
      expect(() => analyzeRequest({ url: A_URL, body })).not.toThrow()
    }
    expect(analyzeRequest({ url: A_URL, body: '{"model":"m","messages":[{"role":"user","content":"from text"}]}' }).prompt).toBe('from text')
  })
})

describe('analyzeRequest: configuration', () => {
  it('Claude Code fixture: model, max tokens, thinking budget, stream, tools, counts, user agent', () => {
    const [f1, f2] = flows('claude-code-turn.jsonl')
    const a = anatomyOf(f1!)
    expect(a).toMatchObject({
      kind: 'model', api: 'anthropic-messages', model: 'claude-sonnet-4-5-20250929', max_tokens: 32000, reasoning_effort: 'thinking:31999', stream: true,
      tool_names: ['Bash', 'Read', 'Edit', 'Write', 'WebFetch'], message_count: 1, user_agent: 'claude-cli/2.0.14 (external, cli)',
      prompt: 'List the files in src/ and count the lines of the largest one.', tool_results: [],
    })
    expect(a.system?.text.startsWith("You are Claude Code, Anthropic's official CLI for Claude.\n\nYou are an interactive CLI tool")).toBe(true)
    expect(a.tools.map((t) => t.tool_kind)).toEqual(['function', 'function', 'function', 'function', 'function'])
    expect(JSON.parse(a.tools[0]!.schema!)).toMatchObject({ required: ['command'] })
    const b = anatomyOf(f2!)
    expect(b.system?.hash).toBe(a.system?.hash)
    expect(b.tools_hash).toBe(a.tools_hash)
    expect(b.tool_results).toEqual([{ call_id: 'toolu_01FixtureBash000000001', name: 'Bash', output: expect.stringMatching(/^café\ntotal 24/), is_error: false }])
    expect(b.prompt).toBeUndefined()
  })

  it('Codex fixture: reasoning effort, prompt cache key, instructions as the system prompt, custom tool kind', () => {
    const [f1] = flows('codex-turn.jsonl')
    const a = anatomyOf(f1!)
    expect(a).toMatchObject({ api: 'openai-responses', model: 'gpt-5-codex', reasoning_effort: 'medium', prompt_cache_key: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', message_count: 1, prompt: 'Fix the failing test in tests/parse.test.ts' })
    expect(a.system?.text).toMatch(/^You are Codex/)
    expect(a.tools.map((t) => [t.name, t.tool_kind])).toEqual([['shell', 'function'], ['shell_command', 'function'], ['exec_command', 'function'], ['apply_patch', 'custom']])
  })

  it('adaptive thinking, temperature, Chat reasoning_effort and max_completion_tokens', () => {
    expect(analyzeRequest({ url: A_URL, body: { model: 'm', thinking: { type: 'adaptive' }, temperature: 0.2, messages: [] } })).toMatchObject({ reasoning_effort: 'thinking:adaptive', temperature: 0.2 })
    expect(analyzeRequest({ url: 'https://api.openai.com/v1/chat/completions', body: { model: 'o3', reasoning_effort: 'high', max_completion_tokens: 900, messages: [{ role: 'developer', content: 'Be brief.' }] } })).toMatchObject({ reasoning_effort: 'high', max_tokens: 900, system: { text: 'Be brief.' } })
  })
})

describe('analyzeRequest: history chain', () => {
  it('each request of a fixture conversation extends the previous one: its prefix hash is the previous history hash', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl']) {
      const as = flows(name).map(anatomyOf)
      for (let i = 1; i < as.length; i++) {
        const prev = as[i - 1]!
        expect(as[i]!.history.length).toBeGreaterThan(prev.history.length)
        expect(as[i]!.history[prev.history.length - 1], `${name} request ${i}`).toBe(prev.history_hash)
      }
    }
  })

  it('the previous response, built from what the model streamed, is the next unit of the history', () => {
    const [f1, f2] = flows('claude-code-turn.jsonl').map(anatomyOf)
    const command = 'printf "caf\u00e9\\n" && ls -la src/\necho "a\\"b" | grep -c \'\\\\\' # \ud83d\ude80'
    const args = JSON.stringify({ command, description: 'List src and count lines' }).replace('é', '\\u00e9')
    const turn = { texts: ["I'll list ", 'the files and count ', 'lines in the largest one.'], tool_calls: [{ call_id: 'toolu_01FixtureBash000000001', name: 'Bash', arguments: args }] }
    expect(chainHash(f1!.history_hash!, assistantUnit(turn))).toBe(f2!.history[1])
    const [c1, c2] = flows('codex-turn.jsonl').map(anatomyOf)
    const cturn = {
      texts: [],
      tool_calls: [
        { call_id: 'call_FixtureShell0001', name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', 'cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20'], workdir: '/home/dev/repo', timeout_ms: 120000 }) },
        { call_id: 'call_FixtureShellCmd02', name: 'shell_command', arguments: JSON.stringify({ command: 'rg -n "parseLine" src/ | head -n 5', workdir: '/home/dev/repo', login: true, timeout_ms: 10000 }) },
      ],
    }
    expect(chainHash(c1!.history_hash!, assistantUnit(cturn))).toBe(c2!.history[1])
  })

  it('moved cache markers, dropped thinking blocks, reformatted arguments and a trailing system entry do not change the history', () => {
    const base = [
      { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'text', text: 'Hello' }, { type: 'tool_use', id: 'x', name: 'Bash', input: { command: 'ls' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: 'a.ts' }] },
    ]
    const moved = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello' }, { type: 'tool_use', id: 'x', name: 'Bash', input: { command: 'ls' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: 'a.ts' }], cache_control: { type: 'ephemeral' } }] },
      { role: 'system', content: 'deferred tools: none' },
    ]
    const a = analyzeRequest({ url: A_URL, body: { messages: base } })
    const b = analyzeRequest({ url: A_URL, body: { messages: moved } })
    expect(b.history).toEqual(a.history)
    expect(b.message_count).toBe(4)
    const c = analyzeRequest({ url: A_URL, body: { messages: [...base.slice(0, 2), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: 'b.ts' }] }] } })
    expect(c.history.slice(0, 2)).toEqual(a.history.slice(0, 2))
    expect(c.history_hash).not.toBe(a.history_hash)
    // The same messages under another API are another history.
    expect(analyzeRequest({ url: 'https://api.openai.com/v1/chat/completions', body: { messages: [{ role: 'user', content: 'hi' }] } }).history[0]).not.toBe(a.history[0])
  })

  it('system prompt and tool hashes ignore cache markers and depend on the content', () => {
    const tools = [{ name: 'Bash', description: 'd', input_schema: { type: 'object' } }]
    const a = analyzeRequest({ url: A_URL, body: { system: [{ type: 'text', text: 'S', cache_control: { type: 'ephemeral' } }], tools, messages: [] } })
    const b = analyzeRequest({ url: A_URL, body: { system: 'S', tools: [{ ...tools[0], cache_control: { type: 'ephemeral' } }], messages: [] } })
    expect(b.system).toEqual(a.system)
    expect(b.tools_hash).toBe(a.tools_hash)
    const c = analyzeRequest({ url: A_URL, body: { system: 'S2', tools: [{ ...tools[0], description: 'other' }], messages: [] } })
    expect(c.system?.hash).not.toBe(a.system?.hash)
    expect(c.tools_hash).not.toBe(a.tools_hash)
    expect(a.tools[0]?.hash).toMatch(/^[0-9a-f]{16}$/)
  })
})

describe('analyzeClientFrame', () => {
  it('reads a response.create frame as its request; other frames are no request', async () => {
    const { analyzeClientFrame } = await import('./request-anatomy.js')
    const frame = JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', input: [{ type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'Process exited with code 2\nOutput:\nno' }] })
    expect(analyzeClientFrame(frame, { url: 'https://chatgpt.com/backend-api/codex/responses' })).toMatchObject({ api: 'openai-responses', model: 'gpt-5.1-codex', tool_results: [{ call_id: 'c1', name: 'exec_command', output: 'no', is_error: true, exit_code: 2 }] })
    expect(analyzeClientFrame('{"type":"response.cancel"}')).toBeUndefined()
    expect(analyzeClientFrame('not json')).toBeUndefined()
  })
})

describe('withoutCacheControl', () => {
  it('equals JSON.stringify with a replacer that drops cache_control, wherever the key is', async () => {
    const { withoutCacheControl } = await import('./history-hash.js')
    const cc = { type: 'ephemeral', ttl: '1h' }
    const values = [
      { cache_control: cc },
      { cache_control: cc, a: 1 },
      { a: 1, cache_control: cc },
      { a: 1, cache_control: cc, b: [{ cache_control: cc }, { text: 'say "cache_control":{} here', cache_control: cc }] },
      [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }, { name: 'Bash', input_schema: { cache_control: { type: 'string' } } }],
      { text: '"cache_control":{"type":"ephemeral"}' },
      'plain',
      undefined,
    ]
    for (const v of values) expect(withoutCacheControl(v)).toBe(JSON.stringify(v, (k, x: unknown) => (k === 'cache_control' ? undefined : x)) ?? '')
  })
})

describe("analyzeRequest facts: 'call'", () => {
  it('every fixture request: the same kind, api, model, settings, tool names and message count as a full read, nothing else', async () => {
    let n = 0
    for (const { f, flow_id, req } of everyFixtureRequest()) {
      const all = analyzeRequest(req)
      const call = analyzeRequest(req, { facts: 'call' })
      const pick = (a: typeof all) => ({ kind: a.kind, api: a.api, model: a.model, max_tokens: a.max_tokens, temperature: a.temperature, reasoning_effort: a.reasoning_effort, stream: a.stream, tool_names: a.tool_names, message_count: a.message_count, aux_reason: a.aux_reason })
      expect(pick(call), `${f} ${flow_id}`).toEqual(pick(all))
      expect(call).toMatchObject({ tools: [], history: [], tool_results: [] })
      expect(call.system ?? call.tools_hash ?? call.history_hash ?? call.prompt).toBeUndefined()
      n++
    }
    expect(n).toBeGreaterThan(20)
  })
})

describe('requestHistoryUnits', () => {
  it('gives the units the history chain hashes, so two requests can be told apart message by message', async () => {
    const { requestHistoryUnits } = await import('./request-anatomy.js')
    const { historyChain } = await import('./history-hash.js')
    for (const name of ['claude-code-turn.jsonl', 'claude-code-2x.jsonl', 'codex-turn.jsonl', 'chat-completions-tools.jsonl']) {
      for (const f of flows(name)) {
        const a = analyzeRequest({ body: f['request_body'], url: f['url'] as string, client: f['client'] as string })
        const units = requestHistoryUnits(f['request_body'], a.api)
        expect(units.length).toBeGreaterThan(0)
        expect(historyChain(a.api, units)).toEqual(a.history)
      }
    }
    expect(requestHistoryUnits({ messages: [{ role: 'user', content: ' hi ' }, { role: 'system', content: 'deferred' }] }, 'anthropic-messages')).toEqual(['u["hi"]'])
    expect(requestHistoryUnits('{"type":"response.create","input":"go"}', 'unknown')).toEqual(['u["go"]'])
    expect(requestHistoryUnits('not json', 'anthropic-messages')).toEqual([])
  })
})

describe('requestHistory', () => {
  it("is analyzeRequest's history for every fixture request (every API, Codex frames, bodies as text or bytes), read alone", async () => {
    const { requestHistory } = await import('./request-anatomy.js')
    let withHistory = 0
    for (const { f, flow_id, req } of everyFixtureRequest()) {
      const expected = analyzeRequest(req).history
      expect(requestHistory(req), `${f} ${flow_id}`).toEqual(expected)
      if (typeof req.body === 'object' && req.body !== null) expect(requestHistory({ ...req, body: Buffer.from(JSON.stringify(req.body)) })).toEqual(expected)
      if (expected.length > 0) withHistory++
    }
    expect(withHistory).toBeGreaterThan(10)
    // Not a model request, an out-of-line body, no body: no history.
    expect(requestHistory({ url: 'https://api.anthropic.com/v1/models', body: { model: 'm', messages: [{ role: 'user', content: 'x' }] } })).toEqual([])
    expect(requestHistory({ url: A_URL, body: { $ref: 'sse_logs/f.request.json', bytes: 9 } })).toEqual([])
    expect(requestHistory({ url: A_URL, body: undefined })).toEqual([])
  })
})
