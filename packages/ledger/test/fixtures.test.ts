/**
 * Every fixture scenario → its exact model calls (the key fields of each), and the defect of
 * issue 14 each one covers.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ledgerFromRecords, type ModelCall } from '../src/index.js'
import { FIXTURES, fixture } from './helpers.js'

const run = (name: string) => ledgerFromRecords(fixture(name))
const byKey = (calls: ModelCall[]) => new Map(calls.map((c) => [c.key, c]))
const tools = (c: ModelCall | undefined) => c?.tool_calls.map((t) => [t.name, t.kind, t.call_id, t.complete, t.command ?? null, t.workdir ?? null])
const results = (c: ModelCall | undefined) => c?.tool_results.map((t) => [t.call_id, t.name ?? null, t.is_error, t.exit_code ?? null])

describe('claude-code-turn', () => {
  const r = run('claude-code-turn.jsonl')
  const c = byKey(r.calls)

  it('turn 1: prompt, thinking, text, the Bash call with its command decoded from split escapes, usage, rate limits', () => {
    expect(r.errors).toEqual([])
    const c1 = c.get('cc-turn-1#0')
    expect(c1).toMatchObject({
      flow_id: 'cc-turn-1', index: 0, response_id: 'msg_01Fixture0000000000000001', request_id: 'req_011CVfixture0001', session_id: '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912', session_source: 'header:x-claude-code-session-id',
      client: 'claude-code', provider: 'anthropic', api: 'anthropic-messages', transport: 'sse', kind: 'model', model: 'claude-sonnet-4-5-20250929',
      outcome: 'completed', stop_reason: 'tool_use', http_status: 200, prompt: 'List the files in src/ and count the lines of the largest one.',
      text: "I'll list the files and count lines in the largest one.",
      reasoning: 'The user wants the files in src/ and the line count of the largest. I will run one shell command: ls, then wc -l.',
      usage: { input: 9, cache_read: 14210, cache_write_5m: 1320, cache_write_1h: 0, output: 187 },
      rate_limits: { 'anthropic-ratelimit-unified-status': 'allowed', 'anthropic-ratelimit-unified-5h-utilization': '0.12' },
      started_at: '2026-11-20T10:00:00.000Z', first_token_at: '2026-11-20T10:00:00.429Z', ttft_ms: 429,
      request: { model: 'claude-sonnet-4-5-20250929', max_tokens: 32000, reasoning_effort: 'thinking:31999', stream: true, tool_names: ['Bash', 'Read', 'Edit', 'Write', 'WebFetch'], message_count: 1 },
    })
    expect(tools(c1)).toEqual([['Bash', 'function', 'toolu_01FixtureBash000000001', true, 'printf "café\\n" && ls -la src/\necho "a\\"b" | grep -c \'\\\\\' # 🚀', null]])
    expect(JSON.parse(c1!.tool_calls[0]!.arguments)).toEqual({ command: c1!.tool_calls[0]!.command, description: 'List src and count lines' })
    expect(c1?.tool_results).toEqual([])
  })

  it('turn 2: no new prompt, the Bash result named from the history', () => {
    const c2 = c.get('cc-turn-2#0')
    expect(c2?.prompt).toBeUndefined()
    expect(results(c2)).toEqual([['toolu_01FixtureBash000000001', 'Bash', false, null]])
    expect(c2?.text).toBe('The largest file is `src/parser.ts` (12 KiB).\n\n- `index.ts`\n- `parser.ts`')
    expect(c2?.request.history_hash).not.toBe(c.get('cc-turn-1#0')?.request.history_hash)
    expect(c2?.request.system_hash).toBe(c.get('cc-turn-1#0')?.request.system_hash)
  })

  it('content comes once per hash: one system prompt, five tools, one tool list', () => {
    expect(r.contents.map((x) => x.kind)).toEqual(['system', 'tool', 'tool', 'tool', 'tool', 'tool', 'tools'])
    expect(r.flows.map((f) => [f.flow_id, f.kind, f.outcome, f.calls])).toEqual([['cc-turn-1', 'model', 'completed', 1], ['cc-turn-2', 'model', 'completed', 1]])
  })
})

describe('codex-turn', () => {
  const r = run('codex-turn.jsonl')
  const c = byKey(r.calls)
  it('shell argv, shell_command, exec_command commands with workdirs; apply_patch custom; results unwrapped with exit codes', () => {
    expect(r.errors).toEqual([])
    expect(tools(c.get('cx-turn-1#0'))).toEqual([
      ['shell', 'function', 'call_FixtureShell0001', true, 'cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20', '/home/dev/repo'],
      ['shell_command', 'function', 'call_FixtureShellCmd02', true, 'rg -n "parseLine" src/ | head -n 5', '/home/dev/repo'],
    ])
    expect(tools(c.get('cx-turn-2#0'))).toEqual([
      ['exec_command', 'function', 'call_FixtureExecCmd03', true, "sed -n '1,40p' src/parse.ts", '/home/dev/repo'],
      ['apply_patch', 'custom', 'call_FixturePatch0004', true, null, null],
    ])
    expect(results(c.get('cx-turn-2#0'))).toEqual([['call_FixtureShell0001', 'shell', true, 1], ['call_FixtureShellCmd02', 'shell_command', false, null]])
    expect(c.get('cx-turn-2#0')?.tool_results[0]?.output).toBe('FAIL tests/parse.test.ts\n  ✕ splits CRLF (4 ms)\n')
    expect(results(c.get('cx-turn-3#0'))).toEqual([['call_FixtureExecCmd03', 'exec_command', false, 0], ['call_FixturePatch0004', 'apply_patch', false, null]])
  })
  it('usage: OpenAI input includes the cached part, which the ledger takes out; reasoning is part of output', () => {
    expect(c.get('cx-turn-1#0')).toMatchObject({ prompt: 'Fix the failing test in tests/parse.test.ts', reasoning: '**Inspecting the failing test**\n\nI need to run the test suite to see the failure.', usage: { input: 346, cache_read: 4864, cache_write_5m: 0, cache_write_1h: 0, output: 312, reasoning: 192 }, request: { reasoning_effort: 'medium', prompt_cache_key: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' } })
    expect(c.get('cx-turn-3#0')?.text).toBe('Fixed: `parseLine` now splits on `\\r?\\n`, so CRLF input passes.')
  })
})

describe('truncated-stream and api-error-in-200', () => {
  it('a stream cut by the upstream is truncated, with the capture\'s error', () => {
    const r = run('truncated-stream.jsonl')
    expect(r.calls).toHaveLength(1)
    expect(r.calls[0]).toMatchObject({ outcome: 'truncated', error: { type: 'ECONNRESET', message: 'upstream socket closed before the stream ended' }, text: 'The retry logic uses exponential backoff with jitter: each attempt waits' })
    expect(r.calls[0]?.stop_reason).toBeUndefined()
    expect(r.errors.map((e) => [e.code, e.flow_id])).toEqual([['STREAM', 'trunc-1']])
  })
  it('errors inside HTTP 200 streams give the error type and message', () => {
    const r = run('api-error-in-200.jsonl')
    expect(r.calls.map((x) => [x.flow_id, x.outcome, x.error?.type ?? null, x.error?.code ?? null])).toEqual([
      ['err-anthropic-1', 'error', 'overloaded_error', null],
      ['err-responses-1', 'error', null, 'rate_limit_exceeded'],
    ])
    expect(r.errors).toEqual([])
  })
})

describe('claude-code-2x (issue 14: no prompt found for Claude Code 2.1.x)', () => {
  const r = run('claude-code-2x.jsonl')
  it('the prompt is the last user message before the trailing system entry, without its system-reminder', () => {
    expect(r.errors).toEqual([])
    expect(r.calls[0]).toMatchObject({ prompt: 'Why does parseLine drop the last field on CRLF input?', request: { message_count: 2 } })
    expect(r.calls[1]?.prompt).toBeUndefined()
    expect(results(r.calls[1])).toEqual([['toolu_01Fixture2xRead0000001', 'Read', false, null]])
  })
  it('1-hour cache writes are split from 5-minute ones', () => {
    expect(r.calls.map((x) => x.usage)).toEqual([
      { input: 6, cache_read: 11800, cache_write_5m: 400, cache_write_1h: 1800, output: 58 },
      { input: 3, cache_read: 14000, cache_write_5m: 0, cache_write_1h: 180, output: 31 },
    ])
  })
  it('the breakpoints are in an order the API takes: 1-hour ones (the system blocks\') before the 5-minute one of turn 1', () => {
    expect(r.calls.map((x) => x.request.segments?.filter((s) => s.breakpoint !== undefined).map((s) => `${s.kind}:${s.breakpoint}`))).toEqual([
      ['system:1h', 'system:1h', 'message:5m'],
      ['system:1h', 'system:1h', 'message:1h'],
    ])
  })
  it('the trailing system entry is no history: turn 2 extends turn 1', () => {
    expect(r.calls[0]?.request.history_hash).toMatch(/^[0-9a-f]{16}$/)
    expect(r.calls[1]?.request.history_hash).not.toBe(r.calls[0]?.request.history_hash)
  })
})

describe('claude-code-aux (issue 14: non-model requests shown as empty flows)', () => {
  const r = run('claude-code-aux.jsonl')
  it('policy_limits and settings are aux flows without calls; the no-tools title request is an aux call from a JSON body', () => {
    expect(r.errors).toEqual([])
    expect(r.flows.map((f) => [f.flow_id, f.kind, f.calls, f.outcome, f.method, f.path])).toEqual([
      ['cc-aux-policy', 'aux', 0, 'completed', 'GET', '/api/claude_code/policy_limits'],
      ['cc-aux-settings', 'aux', 0, 'completed', 'GET', '/api/claude_code/settings'],
      ['cc-aux-title', 'aux', 1, 'completed', 'POST', '/v1/messages'],
    ])
    expect(r.calls).toHaveLength(1)
    expect(r.calls[0]).toMatchObject({ kind: 'aux', transport: 'http', outcome: 'completed', stop_reason: 'end_turn', text: 'Fix CRLF field loss in parseLine', model: 'claude-haiku-4-5-20251001', usage: { input: 96, output: 11 }, ttft_ms: 700, duration_ms: 720, request: { temperature: 0, stream: false, tool_names: [] } })
  })
})

describe('codex-websocket (issue 14: earlier calls vanish, usage keeps the last response, client frames unread)', () => {
  const r = run('codex-websocket.jsonl')
  it('three calls on one flow, each with its request from the client frames: prompt, then the function outputs', () => {
    expect(r.errors).toEqual([])
    expect(r.calls.map((x) => [x.key, x.response_id, x.transport, x.http_status, x.outcome, x.prompt ?? null])).toEqual([
      ['cx-ws-1#0', 'resp_ws_fixture_1', 'ws', 101, 'completed', 'Why is the CRLF test failing? Fix it.'],
      ['cx-ws-1#1', 'resp_ws_fixture_2', 'ws', 101, 'completed', null],
      ['cx-ws-1#2', 'resp_ws_fixture_3', 'ws', 101, 'completed', null],
    ])
    expect(tools(r.calls[0])).toEqual([['exec_command', 'function', 'call_WsExec0001', true, 'npm test -- tests/parse.test.ts', '/home/dev/repo']])
    expect(tools(r.calls[1])).toEqual([['apply_patch', 'custom', 'call_WsPatch0002', true, null, null]])
    expect(results(r.calls[1])).toEqual([['call_WsExec0001', 'exec_command', true, 1]])
    expect(r.calls[1]?.tool_results[0]?.output).toBe('FAIL tests/parse.test.ts\n  ✕ splits CRLF (3 ms)\n')
    expect(results(r.calls[2])).toEqual([['call_WsPatch0002', 'apply_patch', false, null]])
    expect(r.calls.map((x) => x.request.message_count)).toEqual([2, 5, 7])
  })
  it('every response\'s usage counts: 2,240 + 2,000 + 2,630 = 6,870 tokens, not the last response\'s 2,630', () => {
    const total = (u: ModelCall['usage']) => (u === undefined ? 0 : u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h + u.output)
    expect(r.calls.map((x) => total(x.usage))).toEqual([2240, 2000, 2630])
    expect(r.calls.reduce((n, x) => n + total(x.usage), 0)).toBe(6870)
  })
  it('each response starts when its client frame was sent; the socket closed by Codex after the last one is no error', () => {
    expect(r.calls.map((x) => x.started_at)).toEqual(['2026-11-20T10:07:00.004Z', '2026-11-20T10:07:01.623Z', '2026-11-20T10:07:02.824Z'])
    expect(r.calls.every((x) => x.error === undefined)).toBe(true)
    expect(r.flows).toMatchObject([{ flow_id: 'cx-ws-1', outcome: 'completed', calls: 3, http_status: 101 }])
  })
})

describe('codex-early-close (issue 14: completed responses counted as errors)', () => {
  it('response.completed was captured: completed, whatever the socket did after', () => {
    const r = run('codex-early-close.jsonl')
    expect(r.calls[0]).toMatchObject({ outcome: 'completed', stop_reason: 'completed', text: 'It exports `fetchWithRetry` and `RetryPolicy`.' })
    expect(r.calls[0]?.error).toBeUndefined()
    expect(r.flows[0]?.outcome).toBe('completed')
  })
})

describe('http-errors (issue 14: null error_type and message for HTTP errors)', () => {
  it('429, 529 and OpenAI 429 bodies in flow_end.body give type, code and message', () => {
    const r = run('http-errors.jsonl')
    expect(r.errors).toEqual([])
    expect(r.calls.map((x) => [x.flow_id, x.http_status, x.outcome, x.transport, x.error?.type, x.error?.code ?? null])).toEqual([
      ['err-http-429', 429, 'error', 'http', 'rate_limit_error', null],
      ['err-http-529', 529, 'error', 'http', 'overloaded_error', null],
      ['err-http-openai-429', 429, 'error', 'http', 'tokens', 'rate_limit_exceeded'],
    ])
    expect(r.calls[0]?.error?.message).toBe("This request would exceed your account's rate limit. Please try again later.")
    expect(r.calls[0]?.rate_limits).toEqual({ 'retry-after': '37', 'x-should-retry': 'true', 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-5h-utilization': '1.02', 'anthropic-ratelimit-unified-reset': '1763650800' })
    expect(r.calls.every((x) => x.usage === undefined && x.text === '')).toBe(true)
  })
})

describe('sdk-conversation (issue 14: derived session ids split a conversation and merge unrelated runs)', () => {
  const r = run('sdk-conversation.jsonl')
  const c = byKey(r.calls)
  it('the three turns share one session, chained by history; the unrelated run has its own', () => {
    const raw = new Map(fixture('sdk-conversation.jsonl').filter((x) => x['type'] === 'flow').map((x) => [x['flow_id'], x['session_id']]))
    // What the capture recorded: three ids for one conversation, one id shared with another run.
    expect(new Set([raw.get('sdk-turn-1'), raw.get('sdk-turn-2'), raw.get('sdk-turn-3')]).size).toBe(3)
    expect(raw.get('sdk-other-1')).toBe(raw.get('sdk-turn-1'))
    const s = ['sdk-turn-1#0', 'sdk-turn-2#0', 'sdk-turn-3#0'].map((k) => c.get(k)?.session_id)
    expect(new Set(s).size).toBe(1)
    expect(c.get('sdk-other-1#0')?.session_id).not.toBe(s[0])
    expect(r.calls.every((x) => x.session_source === 'history')).toBe(true)
    expect(r.flows.map((f) => f.session_id)).toEqual(r.calls.map((x) => x.session_id))
    expect(['sdk-turn-1#0', 'sdk-turn-2#0', 'sdk-turn-3#0', 'sdk-other-1#0'].map((k) => c.get(k)?.prompt)).toEqual(['Plan a two-day trip to Lyon for a food lover.', 'Add one museum on day 2.', 'Roughly what budget per person?', 'Translate "good morning" into Italian.!!!!'])
  })
  it('without a session chain the derived ids stay', () => {
    const plain = ledgerFromRecords(fixture('sdk-conversation.jsonl'), { sessionChain: false })
    expect(plain.calls.every((x) => x.session_source === 'derived')).toBe(true)
  })
})

describe('chat-completions-tools (issue 14: Chat Completions tool calls missing)', () => {
  it('both parallel calls with their arguments; the next request carries both results; one session by history', () => {
    const r = run('chat-completions-tools.jsonl')
    expect(r.errors).toEqual([])
    expect(r.calls[0]?.tool_calls.map((t) => [t.call_id, t.name, t.arguments, t.position])).toEqual([
      ['call_FixtureChatMain', 'get_build_status', '{"branch":"main"}', 0],
      ['call_FixtureChatRel', 'get_build_status', '{"branch":"release-2.4"}', 1],
    ])
    expect(r.calls[0]).toMatchObject({ api: 'openai-chat', stop_reason: 'tool_calls', usage: { input: 142, cache_read: 0, output: 46 } })
    expect(results(r.calls[1])).toEqual([['call_FixtureChatMain', 'get_build_status', false, null], ['call_FixtureChatRel', 'get_build_status', false, null]])
    expect(r.calls[1]).toMatchObject({ text: 'main is green; release-2.4 failed in test:e2e.', usage: { input: 93, cache_read: 128, output: 14 } })
    expect(r.calls[1]?.session_id).toBe(r.calls[0]?.session_id)
  })
})

describe('interleaved-sessions', () => {
  it('two sessions streaming at once give two calls, each its own text', () => {
    const r = run('interleaved-sessions.jsonl')
    const c = byKey(r.calls)
    expect(c.get('inter-a#0')?.text).toBe('Session A: checking the git status first.')
    expect(c.get('inter-b#0')?.text).toBe('Session B: lines removed, lines added, green and red.')
    expect(tools(c.get('inter-a#0'))).toEqual([['Bash', 'function', 'toolu_01FixtureInterA0000001', true, 'git status --short', null]])
  })
})

describe('every fixture', () => {
  // Anthropic refuses a request whose 1-hour cache breakpoints come after 5-minute ones (in the
  // order tools, system, messages): a fixture must not show a request no client could send.
  const names = [...readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl')), ...readdirSync(join(FIXTURES, 'standalone')).map((f) => join('standalone', f))]
  it.each(names)('%s: no 1-hour cache breakpoint after a 5-minute one', (name) => {
    const late = run(name).calls.flatMap((c) => {
      const ttls = (c.request.segments ?? []).flatMap((s) => (s.breakpoint === undefined ? [] : [s.breakpoint]))
      const first5m = ttls.indexOf('5m')
      return first5m !== -1 && ttls.lastIndexOf('1h') > first5m ? [c.key] : []
    })
    expect(late).toEqual([])
  })
})
