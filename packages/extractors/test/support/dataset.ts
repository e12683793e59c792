import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { LEDGER_VERSION } from '@agenttap/ledger'
import type { FlowFacts, LedgerContent, LedgerToolCall, LedgerToolResult, ModelCall } from '@agenttap/ledger'

/**
 * Hand-written ledger output for the mode tests: two agent sessions (Claude Code over SSE,
 * Codex over one WebSocket carrying two responses), an HTTP 429, an aborted retry, an
 * overloaded error, an auxiliary request and a subagent's request. Every expected row in
 * test/modes.test.ts follows from these objects.
 */

const T = (s: number): string => new Date(Date.parse('2026-01-01T10:00:00.000Z') + s * 1000).toISOString()

interface CallSpec extends Partial<Omit<ModelCall, 'request' | 'tool_calls' | 'tool_results'>> {
  flow_id: string
  t: number
  request?: Partial<ModelCall['request']>
  tool_calls?: Partial<LedgerToolCall>[]
  tool_results?: LedgerToolResult[]
}

function call(s: CallSpec): ModelCall {
  const { t, request, tool_calls, tool_results, ...rest } = s
  const index = rest.index ?? 0
  const started = T(t)
  return {
    ledger_version: LEDGER_VERSION,
    key: `${s.flow_id}#${index}`,
    source: 'wire',
    index,
    session_id: 'sess-a',
    client: 'claude-code',
    provider: 'anthropic',
    api: 'anthropic-messages',
    transport: 'sse',
    kind: 'model',
    started_at: started,
    outcome: 'completed',
    text: '',
    reasoning: '',
    ...rest,
    tool_calls: (tool_calls ?? []).map((c, i) => ({ call_id: `c${i}`, position: i, name: 'x', kind: 'function', arguments: '{}', complete: true, ...c })),
    tool_results: tool_results ?? [],
    request: { tool_names: [], message_count: 1, ...request },
  }
}

function facts(f: Partial<FlowFacts> & { flow_id: string; t: number; calls: number }): FlowFacts {
  const { t, ...rest } = f
  return { ledger_version: LEDGER_VERSION, session_id: 'sess-a', client: 'claude-code', provider: 'anthropic', kind: 'model', outcome: 'completed', started_at: T(t), ...rest }
}

const ccReq = { model: 'claude-sonnet-4-5-20250929', max_tokens: 32000, temperature: 1, reasoning_effort: 'thinking:1024', tool_names: ['Bash', 'Edit'], system_hash: 'sys-cc', tools_hash: 'tools-cc', user_agent: 'claude-cli/2.0.14 (external, cli)' }
const cxReq = { model: 'gpt-5-codex', reasoning_effort: 'high', tool_names: ['shell', 'apply_patch'], system_hash: 'sys-cx', tools_hash: 'tools-cx', prompt_cache_key: 'sess-b', user_agent: 'codex_cli_rs/0.46.0 (Linux; x86_64)' }
const cx = { session_id: 'sess-b', client: 'codex', provider: 'openai', api: 'openai-responses' as const }
const patch = '*** Begin Patch\n*** Add File: test/x.test.ts\n+hi\n*** Update File: src/x.ts\n@@\n-a\n+b\n*** End Patch\n'

export const CALLS: ModelCall[] = [
  call({ flow_id: 'a1', t: 0, prompt: 'fix the bug', text: "I'll run the tests.", reasoning: 'Let me look', stop_reason: 'tool_use', model: 'claude-sonnet-4-5-20250929',
    first_token_at: T(0.3), ended_at: T(2), ttft_ms: 300, duration_ms: 2000, http_status: 200, response_id: 'msg_1', request_id: 'req_1',
    usage: { input: 10, cache_read: 1000, cache_write_5m: 100, cache_write_1h: 0, output: 50 },
    rate_limits: { 'anthropic-ratelimit-requests-remaining': '49', 'anthropic-ratelimit-tokens-remaining': '80000' },
    tool_calls: [
      { call_id: 'toolu_1', name: 'Bash', arguments: '{"command":"npm test"}', command: 'npm test' },
      { call_id: 'toolu_w', name: 'WebFetch', arguments: '{"url":"https://example.com/docs"}' },
    ],
    request: { ...ccReq, message_count: 1, history_hash: 'h1' } }),
  call({ flow_id: 'a2', t: 5, stop_reason: 'tool_use', model: 'claude-sonnet-4-5-20250929', ended_at: T(7), ttft_ms: 200, duration_ms: 1500, http_status: 200,
    usage: { input: 5, cache_read: 1100, cache_write_5m: 20, cache_write_1h: 30, output: 30 },
    tool_results: [
      { call_id: 'toolu_1', name: 'Bash', output: 'ok 3 passed', is_error: false, exit_code: 0 },
      { call_id: 'toolu_w', output: 'docs page', is_error: false },
    ],
    tool_calls: [
      { call_id: 'toolu_2', name: 'Edit', arguments: '{"file_path":"/repo/src/a.ts","old_string":"a","new_string":"b"}' },
      { call_id: 'toolu_m', name: 'mcp__github__get_issue', kind: 'mcp', server: 'github', arguments: '{"number":7}' },
      { call_id: 'toolu_t', name: 'Task', arguments: '{"subagent_type":"Explore","description":"scan repo"}' },
    ],
    request: { ...ccReq, message_count: 3 } }),
  call({ flow_id: 'a3', t: 9, text: 'Done.', stop_reason: 'end_turn', model: 'claude-sonnet-4-5-20250929', ended_at: T(10), ttft_ms: 500, duration_ms: 1000, http_status: 200,
    usage: { input: 7, cache_read: 1200, cache_write_5m: 0, cache_write_1h: 0, output: 5 },
    tool_results: [
      { call_id: 'toolu_2', name: 'Edit', output: 'edit failed', is_error: true },
      { call_id: 'toolu_m', name: 'mcp__github__get_issue', output: 'issue 7', is_error: false },
      { call_id: 'toolu_t', name: 'Task', output: 'explored', is_error: false },
      // replayed history: toolu_1 again (counted at its first request only)
      { call_id: 'toolu_1', name: 'Bash', output: 'ok 3 passed', is_error: false },
    ],
    request: { ...ccReq, message_count: 5 } }),
  call({ flow_id: 'a4', t: 60, prompt: 'now read the readme', outcome: 'error', model: 'claude-sonnet-4-5-20250929', ended_at: T(61), ttft_ms: 400, duration_ms: 900, http_status: 200,
    error: { type: 'overloaded_error', message: 'Overloaded' },
    usage: { input: 20, cache_read: 1300, cache_write_5m: 0, cache_write_1h: 0, output: 1 },
    tool_calls: [{ call_id: 'toolu_r', name: 'Read', arguments: '{"file_path":"/repo/README.md"}' }],
    request: { ...ccReq, message_count: 7 } }),
  call({ flow_id: 'a5', t: 65, prompt: 'now read the readme', outcome: 'aborted', text: 'Partial', model: 'claude-sonnet-4-5-20250929', ended_at: T(66), ttft_ms: 300, duration_ms: 1200, http_status: 200,
    error: { message: 'client closed the connection' },
    usage: { input: 20, cache_read: 1300, cache_write_5m: 0, cache_write_1h: 0, output: 1 },
    tool_calls: [{ call_id: 'toolu_x', name: 'Bash', arguments: '{"comm', complete: false }],
    request: { ...ccReq, message_count: 7 } }),
  // Codex: one WebSocket flow, two responses.
  call({ ...cx, flow_id: 'b1', index: 0, t: 120, transport: 'ws', prompt: 'add a test', reasoning: 'Planning the test', stop_reason: 'completed', model: 'gpt-5-codex',
    ended_at: T(123), ttft_ms: 450, duration_ms: 3000, http_status: 101, response_id: 'resp_1',
    usage: { input: 500, cache_read: 1500, cache_write_5m: 0, cache_write_1h: 0, output: 300, reasoning: 200 },
    rate_limits: { 'x-codex-primary-used-percent': '12' },
    tool_calls: [
      { call_id: 'call_1', name: 'shell', arguments: '{"command":["bash","-lc","cat src/x.ts"]}', command: 'cat src/x.ts', workdir: '/w' },
      { call_id: 'call_2', name: 'apply_patch', kind: 'custom', arguments: patch },
    ],
    request: { ...cxReq, message_count: 2 } }),
  call({ ...cx, flow_id: 'b1', index: 1, t: 130, transport: 'ws', text: 'Added the test.', stop_reason: 'completed', model: 'gpt-5-codex',
    ended_at: T(132), ttft_ms: 350, duration_ms: 2000, http_status: 101, response_id: 'resp_2',
    usage: { input: 500, cache_read: 2000, cache_write_5m: 0, cache_write_1h: 0, output: 20, reasoning: 0 },
    tool_results: [
      { call_id: 'call_1', name: 'shell', output: 'export const a = 1', is_error: false, exit_code: 0 },
      { call_id: 'call_2', name: 'apply_patch', output: 'Success', is_error: false },
    ],
    tool_calls: [{ call_id: 'ws_1', name: 'web_search', kind: 'server', arguments: '{"type":"search","query":"vitest docs"}' }],
    request: { ...cxReq, message_count: 6 } }),
  call({ ...cx, flow_id: 'b2', t: 180, prompt: 'and run it', outcome: 'error', http_status: 429, ended_at: T(180.2), duration_ms: 200,
    error: { type: 'rate_limit_error', message: 'Rate limit reached' },
    rate_limits: { 'retry-after': '30', 'x-ratelimit-remaining-requests': '0' },
    request: { ...cxReq, message_count: 3 } }),
  // Claude Code's quota probe: auxiliary.
  call({ flow_id: 'x1', t: 1, kind: 'aux', prompt: 'quota', model: 'claude-haiku-4-5', usage: { input: 8, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 1 },
    request: { model: 'claude-haiku-4-5', max_tokens: 1, tool_names: [], message_count: 1 } }),
  // A request a Codex subagent sent.
  call({ ...cx, flow_id: 'c1', t: 140, agent: 'review', text: 'LGTM', model: 'gpt-5-codex', usage: { input: 10, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 2 },
    request: { ...cxReq, message_count: 1 } }),
]

export const FLOWS: FlowFacts[] = [
  facts({ flow_id: 'a1', t: 0, calls: 1, http_status: 200, method: 'POST', url: 'https://api.anthropic.com/v1/messages', ended_at: T(2), ttfb_ms: 300, duration_ms: 2000, events: 21, bytes: 2100, user_agent: ccReq.user_agent }),
  facts({ flow_id: 'a2', t: 5, calls: 1, http_status: 200, ended_at: T(7), ttfb_ms: 200, duration_ms: 1500, user_agent: ccReq.user_agent }),
  facts({ flow_id: 'a3', t: 9, calls: 1, http_status: 200, ended_at: T(10), user_agent: ccReq.user_agent }),
  facts({ flow_id: 'a4', t: 60, calls: 1, http_status: 200, outcome: 'error', ended_at: T(61), user_agent: ccReq.user_agent }),
  facts({ flow_id: 'a5', t: 65, calls: 1, http_status: 200, outcome: 'aborted', ended_at: T(66), user_agent: ccReq.user_agent }),
  facts({ ...cx, flow_id: 'b1', t: 120, calls: 2, http_status: 101, ended_at: T(133), user_agent: cxReq.user_agent }),
  facts({ ...cx, flow_id: 'b2', t: 180, calls: 1, http_status: 429, outcome: 'error', ended_at: T(180.2), user_agent: cxReq.user_agent }),
  facts({ flow_id: 'x1', t: 1, calls: 1, kind: 'aux', user_agent: ccReq.user_agent }),
  facts({ ...cx, flow_id: 'c1', t: 140, calls: 1, agent: 'review', user_agent: cxReq.user_agent }),
  // The upstream could not be reached: a flow with no call.
  facts({ ...cx, flow_id: 'b3', t: 200, calls: 0, outcome: 'upstream_error', user_agent: cxReq.user_agent }),
]

export const CONTENTS: LedgerContent[] = [
  { kind: 'system', hash: 'sys-cc', text: 'You are Claude Code.' },
  { kind: 'system', hash: 'sys-cx', text: 'You are Codex.' },
  { kind: 'tool', hash: 't-bash', name: 'Bash', tool_kind: 'function', description: 'Run a shell command', schema: '{"type":"object"}' },
  { kind: 'tool', hash: 't-edit', name: 'Edit', tool_kind: 'function', description: 'Edit a file', schema: '{"type":"object"}' },
  { kind: 'tool', hash: 't-shell', name: 'shell', tool_kind: 'function', description: 'Runs a shell command', schema: '{"type":"object"}' },
  { kind: 'tool', hash: 't-patch', name: 'apply_patch', tool_kind: 'custom', description: 'Apply a patch' },
  { kind: 'tools', hash: 'tools-cc', tool_hashes: ['t-bash', 't-edit'] },
  { kind: 'tools', hash: 'tools-cx', tool_hashes: ['t-shell', 't-patch'] },
]

/**
 * Writes a capture (a flow record and a flow_end per flow, in time order) and the script the
 * scripted ledger plays back ($AGENTTAP_LEDGER_SCRIPT); returns the ledger module specifier to
 * pass as `ledgerModule`.
 */
export function writeDataset(root: string, opts: { open?: string[] } = {}): string {
  const cap = join(root, 'all-mitm-sse')
  mkdirSync(cap, { recursive: true })
  const flows = [...FLOWS].sort((a, b) => a.started_at.localeCompare(b.started_at))
  const rec = (type: string, f: FlowFacts, ts: string, extra: object = {}) => JSON.stringify({ v: 1, type, ts, flow_id: f.flow_id, session_id: f.session_id, ...extra })
  writeFileSync(join(cap, 'sse_flows.jsonl'), flows.map((f) => rec('flow', f, f.started_at, { client: f.client, provider: f.provider })).join('\n') + '\n')
  writeFileSync(join(cap, 'sse_flow_ends.jsonl'), flows.filter((f) => !opts.open?.includes(f.flow_id)).map((f) => rec('flow_end', f, f.ended_at ?? f.started_at, { outcome: f.outcome })).join('\n') + '\n')
  writeFileSync(join(cap, 'sse_lines.jsonl'), '')
  const script = {
    flows: Object.fromEntries(FLOWS.map((f) => [f.flow_id, { facts: f, calls: CALLS.filter((c) => c.flow_id === f.flow_id) }])),
    contents: CONTENTS,
  }
  const scriptPath = join(root, 'ledger-script.data')
  writeFileSync(scriptPath, JSON.stringify(script))
  process.env.AGENTTAP_LEDGER_SCRIPT = scriptPath
  return pathToFileURL(join(import.meta.dirname, 'scripted-ledger.mjs')).href
}
