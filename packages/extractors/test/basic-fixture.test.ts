import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExtractor, MODE_NAMES, MODES } from '../src/index.js'
import type { Extractor, ModeName, Row } from '../src/index.js'

// Exact rows of every mode over test/fixtures/basic (built by test/fixtures/build.mjs, where each
// record these numbers come from is written out by hand).
const DIR = join(import.meta.dirname, 'fixtures', 'basic')
let x: Extractor

beforeAll(async () => {
  x = await createExtractor({ logDir: DIR, threads: 1 })
})
afterAll(() => x.close())

const pick = (rows: Row[], cols: string[]): unknown[][] => rows.map((r) => cols.map((c) => r[c]))
const run = async (mode: ModeName, opts = {}) => (await x.run(mode, opts)).rows

describe('request-side modes', () => {
  it('user_prompts: new prompts only, system wrappers stripped, retry (a5) collapsed into a4', async () => {
    expect(pick(await run('user_prompts'), ['flow_id', 'session_id', 'client', 'text'])).toEqual([
      ['a1', 'sess-a', 'claude-code', 'fix the bug'],
      ['a4', 'sess-a', 'claude-code', 'now read the readme'],
      ['b1', 'sess-b', 'codex', 'add a test'],
      ['b3', 'sess-b', 'codex', 'and run it'],
    ])
  })

  it('tool_results: each call id once, at the first request that carried it, with its tool name', async () => {
    expect(pick(await run('tool_results'), ['flow_id', 'call_id', 'name', 'is_error', 'output'])).toEqual([
      ['a2', 'toolu_1', 'Bash', null, 'ok 3 passed'],
      ['a2', 'toolu_w', 'WebFetch', false, 'docs page'],
      ['a3', 'toolu_2', 'Edit', true, 'edit failed'],
      ['a3', 'toolu_m', 'mcp__github__get_issue', null, 'issue 7'],
      ['a3', 'toolu_t', 'Task', null, 'explored'],
      ['b2', 'call_1', 'shell', null, 'export const a = 1'],
      ['b2', 'call_2', 'apply_patch', null, 'Success'],
    ])
  })

  it('config: model, effort, temperature, max tokens and tools per flow', async () => {
    const rows = await run('config')
    expect(rows).toHaveLength(8)
    expect(pick([rows[0]!, rows[5]!], ['flow_id', 'model', 'reasoning_effort', 'temperature', 'max_tokens', 'tool_count', 'tools'])).toEqual([
      ['a1', 'claude-sonnet-4-5-20250929', 'thinking:1024', 1, 32000, 2, 'Bash,Edit'],
      ['b1', 'gpt-5-codex', 'high', null, null, 2, 'shell,apply_patch'],
    ])
  })

  it('system_prompts: deduplicated with hash, first/last seen and counts', async () => {
    const rows = await run('system_prompts')
    expect(pick(rows, ['first_seen', 'last_seen', 'flows', 'sessions', 'chars', 'text'])).toEqual([
      ['2026-01-01T10:00:00.000Z', '2026-01-01T10:01:05.000Z', 5, 1, 20, 'You are Claude Code.'],
      ['2026-01-01T10:02:00.000Z', '2026-01-01T10:03:00.000Z', 3, 1, 14, 'You are Codex.'],
    ])
    for (const r of rows) expect(r.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(rows[0]!.hash).not.toBe(rows[1]!.hash)
  })

  it('tool_definitions: one row per name + schema', async () => {
    expect(pick(await run('tool_definitions'), ['name', 'kind', 'flows', 'sessions', 'description'])).toEqual([
      ['Bash', 'function', 5, 1, 'Run a shell command'],
      ['Edit', 'function', 5, 1, 'Edit a file'],
      ['apply_patch', 'custom', 3, 1, 'Apply a patch'],
      ['shell', 'function', 3, 1, 'Runs a shell command'],
    ])
  })

  it('models, clients', async () => {
    expect(pick(await run('models'), ['model', 'provider', 'flows', 'sessions'])).toEqual([
      ['claude-sonnet-4-5-20250929', 'anthropic', 5, 1],
      ['gpt-5-codex', 'openai', 3, 1],
    ])
    expect(pick(await run('clients'), ['client', 'user_agent', 'version', 'flows', 'sessions'])).toEqual([
      ['claude-code', 'claude-cli/2.0.14 (external, cli)', '2.0.14', 5, 1],
      ['codex', 'codex_cli_rs/0.46.0 (Linux; x86_64)', '0.46.0', 3, 1],
    ])
  })

  it('rate_limits: headers per flow, common ones as columns', async () => {
    expect(pick(await run('rate_limits'), ['flow_id', 'status', 'retry_after', 'requests_remaining', 'tokens_remaining', 'used_percent'])).toEqual([
      ['a1', 200, null, '49', '80000', null],
      ['b1', 200, null, null, null, '12'],
      ['b3', 429, '30', '0', null, null],
    ])
  })
})

describe('stream modes', () => {
  it('assistant_text: deltas joined per block, the aborted flow keeps its partial text', async () => {
    expect(pick(await run('assistant_text'), ['flow_id', 'block', 'text'])).toEqual([
      ['a1', 1, "I'll run the tests."],
      ['a3', 0, 'Done.'],
      ['a5', 0, 'Partial'],
      ['b2', 1, 'Added the test.'],
    ])
  })

  it('reasoning: thinking and summaries (signatures are not text)', async () => {
    expect(pick(await run('reasoning'), ['flow_id', 'block', 'kind', 'text'])).toEqual([
      ['a1', 0, 'thinking', 'Let me look'],
      ['b1', 0, 'summary', 'Planning the test'],
    ])
  })

  it('tool_calls: fragments joined, Responses items, custom and server calls', async () => {
    const rows = await run('tool_calls')
    expect(pick(rows, ['flow_id', 'index', 'call_id', 'name', 'kind', 'complete'])).toEqual([
      ['a1', 2, 'toolu_1', 'Bash', 'function', true],
      ['a1', 3, 'toolu_w', 'WebFetch', 'function', true],
      ['a2', 0, 'toolu_2', 'Edit', 'function', true],
      ['a2', 1, 'toolu_m', 'mcp__github__get_issue', 'function', true],
      ['a2', 2, 'toolu_t', 'Task', 'function', true],
      ['a4', 0, 'toolu_r', 'Read', 'function', true],
      ['b1', 1, 'call_1', 'shell', 'function', true],
      ['b1', 2, 'call_2', 'apply_patch', 'custom', true],
      ['b2', 0, 'ws_1', 'web_search', 'server', true],
    ])
    expect(rows[0]!.arguments).toBe('{"command":"npm test"}')
    expect(rows[7]!.arguments).toBe('*** Begin Patch\n*** Add File: test/x.test.ts\n+hi\n*** Update File: src/x.ts\n@@\n-a\n+b\n*** End Patch\n')
    expect(JSON.parse(String(rows[8]!.arguments))).toEqual({ type: 'search', query: 'vitest docs' })
  })

  it('derived tool modes', async () => {
    expect(pick(await run('shell_commands'), ['flow_id', 'tool', 'command'])).toEqual([
      ['a1', 'Bash', 'npm test'],
      ['b1', 'shell', 'cat src/x.ts'],
    ])
    expect(pick(await run('file_edits'), ['flow_id', 'tool', 'op', 'path'])).toEqual([
      ['a2', 'Edit', 'edit', '/repo/src/a.ts'],
      ['b1', 'apply_patch', 'add', 'test/x.test.ts'],
      ['b1', 'apply_patch', 'update', 'src/x.ts'],
    ])
    expect(pick(await run('files_read'), ['flow_id', 'tool', 'path', 'via'])).toEqual([
      ['a4', 'Read', '/repo/README.md', 'tool'],
      ['b1', 'shell', 'src/x.ts', 'shell'],
    ])
    expect(pick(await run('web_access'), ['flow_id', 'tool', 'kind', 'target'])).toEqual([
      ['a1', 'WebFetch', 'fetch', 'https://example.com/docs'],
      ['b2', 'web_search', 'search', 'vitest docs'],
    ])
    expect(pick(await run('mcp_calls'), ['flow_id', 'server', 'tool', 'arguments'])).toEqual([['a2', 'github', 'get_issue', '{"number":7}']])
    expect(pick(await run('subagents'), ['flow_id', 'source', 'subagent', 'description'])).toEqual([
      ['a2', 'tool:Task', 'Explore', 'scan repo'],
      ['b2', 'header:x-openai-subagent', 'review', null],
    ])
  })

  it('usage: cumulative message_delta not summed, the repeated line counted once, OpenAI cached split out', async () => {
    expect(pick(await run('usage'), ['flow_id', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens'])).toEqual([
      ['a1', 10, 1000, 100, 50, null, 1160],
      ['a2', 5, 1100, 50, 30, null, 1185],
      ['a3', 7, 1200, 0, 5, null, 1212],
      ['a4', 20, 1300, 0, 1, null, 1321],
      ['a5', 20, 1300, 0, 1, null, 1321],
      ['b1', 500, 1500, 0, 300, 200, 2300],
      ['b2', 500, 2000, 0, 20, 0, 2520],
    ])
  })

  it('cost: priced by longest model prefix, every row names the table version', async () => {
    const rows = await run('cost')
    expect(pick(rows, ['flow_id', 'price_key', 'cost_usd'])).toEqual([
      ['a1', 'claude-sonnet-4-5', 0.001455],
      ['a2', 'claude-sonnet-4-5', 0.0009825],
      ['a3', 'claude-sonnet-4-5', 0.000456],
      ['a4', 'claude-sonnet-4-5', 0.000465],
      ['a5', 'claude-sonnet-4-5', 0.000465],
      ['b1', 'gpt-5-codex', 0.0038125],
      ['b2', 'gpt-5-codex', 0.001075],
    ])
    for (const r of rows) expect(r.prices_version).toBe(x.prices.version)
  })

  it('sessions: one row per session', async () => {
    expect(pick(await run('sessions'), ['session_id', 'client', 'first_seen', 'last_seen', 'flows', 'turns', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'cost_usd', 'errors'])).toEqual([
      ['sess-a', 'claude-code', '2026-01-01T10:00:00.000Z', '2026-01-01T10:01:06.000Z', 5, 2, 62, 5900, 150, 87, 0.0038235, 2],
      ['sess-b', 'codex', '2026-01-01T10:02:00.000Z', '2026-01-01T10:03:00.200Z', 3, 2, 1000, 3500, 0, 320, 0.0048875, 1],
    ])
  })

  it('turns: prompt → idle, and the paired variant', async () => {
    expect(pick(await run('turns'), ['session_id', 'turn', 'prompt', 'response', 'flows', 'tool_calls', 'stop_reason', 'outcome', 'duration_ms'])).toEqual([
      ['sess-a', 1, 'fix the bug', 'Done.', 3, 5, 'end_turn', 'completed', 10000],
      ['sess-a', 2, 'now read the readme', 'Partial', 2, 1, null, 'aborted', 6000],
      ['sess-b', 1, 'add a test', 'Added the test.', 2, 3, 'completed', 'completed', 12000],
      ['sess-b', 2, 'and run it', null, 1, 0, null, 'upstream_error', 200],
    ])
    const paired = await x.run('turns', { mode: 'paired', limit: 2 })
    expect(paired.columns).toEqual(['ts', 'session_id', 'turn', 'prompt', 'response'])
    expect(pick(paired.rows, ['prompt', 'response'])).toEqual([
      ['add a test', 'Added the test.'],
      ['and run it', null],
    ])
  })

  it('flows, errors, stop_reasons', async () => {
    expect(pick(await run('flows'), ['flow_id', 'status', 'outcome', 'stop_reason', 'ttfb_ms', 'duration_ms'])).toEqual([
      ['a1', 200, 'completed', 'tool_use', 300, 2000],
      ['a2', 200, 'completed', 'tool_use', 200, 1500],
      ['a3', 200, 'completed', 'end_turn', 500, 1000],
      ['a4', 200, 'error', null, 400, 900],
      ['a5', 200, 'aborted', null, 300, 1200],
      ['b1', 200, 'completed', 'completed', 450, 3000],
      ['b2', 200, 'completed', 'completed', 350, 2000],
      ['b3', 429, 'upstream_error', null, null, 200],
    ])
    expect(pick(await run('errors'), ['flow_id', 'kind', 'status', 'outcome', 'error_type', 'message'])).toEqual([
      ['a4', 'overloaded', 200, 'error', 'overloaded_error', 'Overloaded'],
      ['a5', 'aborted', 200, 'aborted', null, 'client closed the connection'],
      ['b3', 'rate_limit', 429, 'upstream_error', 'rate_limit_error', 'Rate limit reached'],
    ])
    expect(pick(await run('stop_reasons'), ['provider', 'stop_reason', 'flows'])).toEqual([
      ['anthropic', '(none)', 2],
      ['anthropic', 'tool_use', 2],
      ['openai', 'completed', 2],
      ['anthropic', 'end_turn', 1],
      ['openai', '(none)', 1],
    ])
  })

  it('cache and latency', async () => {
    expect(pick(await run('cache'), ['session_id', 'flows', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'hit_ratio'])).toEqual([
      ['sess-a', 5, 62, 5900, 150, 0.9653],
      ['sess-b', 2, 1000, 3500, 0, 0.7778],
    ])
    expect(pick(await run('latency'), ['client', 'flows', 'with_ttfb', 'ttfb_p50', 'ttfb_max', 'duration_p50', 'duration_max'])).toEqual([
      ['claude-code', 5, 5, 300, 500, 1200, 2000],
      ['codex', 3, 2, 400, 450, 2000, 3000],
    ])
  })
})

describe('call_validation (flow-fsm validator over every record)', () => {
  it('reports the call nobody answered and none of the answered ones', async () => {
    const r = await x.run('call_validation')
    expect(r.engine).toBe('node')
    expect(r.rows.find((f) => f.call_id === 'toolu_r')).toMatchObject({ kind: 'unanswered_call', flow_id: 'a4', session_id: 'sess-a', name: 'Read' })
    const answered = ['toolu_1', 'toolu_w', 'toolu_2', 'toolu_m', 'toolu_t', 'call_1', 'call_2']
    expect(r.rows.filter((f) => answered.includes(String(f.call_id)))).toEqual([])
    expect(r.warnings.join(' ')).toMatch(/3 malformed line/)
  })

  it('honours --session', async () => {
    const r = await x.run('call_validation', { session: 'sess-b' })
    expect(r.rows.every((f) => f.session_id === 'sess-b')).toBe(true)
    expect(r.rows.some((f) => f.call_id === 'toolu_r')).toBe(false)
  })
})

describe('filters and limits', () => {
  it('--session / --client / --since / --until select whole flows', async () => {
    expect((await run('usage', { session: 'sess-b' })).map((r) => r.flow_id)).toEqual(['b1', 'b2'])
    expect((await run('tool_calls', { client: 'codex' })).map((r) => r.flow_id)).toEqual(['b1', 'b1', 'b2'])
    expect((await run('flows', { since: '2026-01-01T10:00:09Z', until: '2026-01-01T10:02:00Z' })).map((r) => r.flow_id)).toEqual(['a3', 'a4', 'a5'])
    expect(await run('usage', { session: 'nope' })).toEqual([])
  })

  it('limit keeps the latest N in time order', async () => {
    expect((await run('flows', { limit: 2 })).map((r) => r.flow_id)).toEqual(['b2', 'b3'])
  })

  it('a bad date is a clear BAD_FILTER error', async () => {
    await expect(x.run('usage', { since: 'yesterdayish' })).rejects.toMatchObject({ code: 'BAD_FILTER' })
  })
})

describe('engines agree', () => {
  const prefiltered = MODE_NAMES.filter((m) => MODES[m].linesPattern !== undefined)

  it.each(prefiltered)('rg and duckdb give the same rows: %s', async (mode) => {
    const a = await x.run(mode, { engine: 'duckdb' })
    const b = await x.run(mode, { engine: 'rg' })
    expect(b.engine).toBe('rg')
    expect(b.rows).toEqual(a.rows)
    expect(a.rows.length).toBeGreaterThan(0)
  })

  it('rg falls back (with a warning) for modes that read no lines', async () => {
    const r = await x.run('config', { engine: 'rg' })
    expect(r.engine).toBe('duckdb')
    expect(r.warnings[0]).toMatch(/rg prefilter does not apply/)
  })

  it.each([1, 2, 3, 4, 10])('reverse scan equals the DuckDB latest %i prompts', async (n) => {
    const rev = await x.run('user_prompts', { limit: n })
    const db = await x.run('user_prompts', { limit: n, engine: 'duckdb' })
    expect(rev.engine).toBe('reverse')
    expect(rev.rows).toEqual(db.rows)
  })

  it('reverse scan honours filters', async () => {
    const rev = await x.run('user_prompts', { limit: 5, session: 'sess-a' })
    expect(rev.rows.map((r) => r.text)).toEqual(['fix the bug', 'now read the readme'])
    expect((await x.run('user_prompts', { limit: 5, client: 'codex', until: '2026-01-01T10:02:30Z' })).rows.map((r) => r.text)).toEqual(['add a test'])
  })

  it('reverse engine refuses modes it cannot answer', async () => {
    await expect(x.run('usage', { engine: 'reverse' })).rejects.toMatchObject({ code: 'ENGINE_UNSUPPORTED' })
  })
})

describe('malformed lines', () => {
  it('are skipped by every mode and counted per file', async () => {
    const counts = await x.countMalformed()
    const byName = Object.fromEntries(Object.entries(counts).map(([f, n]) => [f.split('/').pop(), n]))
    expect(byName).toEqual({ 'sse_flows.jsonl': 1, 'sse_lines.jsonl': 2, 'sse_flow_ends.jsonl': 0 })
  })

  it('are located with line numbers', async () => {
    const lines = await x.locateMalformed(x.files.lines[0]!)
    expect(lines.map((l) => l.line)).toEqual([31, 32])
    const flows = await x.locateMalformed(x.files.flows[0]!)
    expect(flows.map((l) => l.line)).toEqual([4])
    expect(flows[0]!.message).toMatch(/sse_flows\.jsonl:4/)
  })
})

describe('limit on aggregate modes', () => {
  it('sessions -n 1 is the most recently active session; stop_reasons -n 2 the top two', async () => {
    expect((await run('sessions', { limit: 1 })).map((r) => r.session_id)).toEqual(['sess-b'])
    expect((await run('stop_reasons', { limit: 2 })).map((r) => r.stop_reason)).toEqual(['(none)', 'tool_use'])
  })
})

describe('turns -n N only rebuilds the flows it needs', () => {
  it.each([1, 2, 3, 4, 6])('same rows as the full turns list, last %i', async (n) => {
    const all = await run('turns')
    expect(await run('turns', { limit: n })).toEqual(all.slice(Math.max(0, all.length - n)))
  })
})
