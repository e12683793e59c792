import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExtractor, MODE_NAMES, MODES } from '../src/index.js'
import type { Extractor, ModeName, Row } from '../src/index.js'
import { writeDataset } from './support/dataset.js'

// Exact rows of every mode over hand-written ledger output (test/support/dataset.ts): the
// index is built from a capture whose calls a scripted ledger plays back, so what is tested
// here is the index and the SQL, with every input row written out by hand.
let root: string
let x: Extractor
let ledgerModule: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'extractors-modes-'))
  ledgerModule = writeDataset(root)
  x = await createExtractor({ logDir: root, ledgerModule, threads: 1 })
})
afterAll(() => {
  x?.close()
  rmSync(root, { recursive: true, force: true })
})

const pick = (rows: Row[], cols: string[]): unknown[][] => rows.map((r) => cols.map((c) => r[c]))
const run = async (mode: ModeName, opts = {}) => (await x.run(mode, opts)).rows

describe('prompts and content', () => {
  it('user_prompts: the ledger prompts, the retry (a5) collapsed into a4, the aux probe left out', async () => {
    expect(pick(await run('user_prompts'), ['flow_id', 'session_id', 'client', 'text'])).toEqual([
      ['a1', 'sess-a', 'claude-code', 'fix the bug'],
      ['a4', 'sess-a', 'claude-code', 'now read the readme'],
      ['b1', 'sess-b', 'codex', 'add a test'],
      ['b2', 'sess-b', 'codex', 'and run it'],
    ])
  })

  it('assistant_text and reasoning: one row per call that has some', async () => {
    expect(pick(await run('assistant_text'), ['flow_id', 'call', 'text'])).toEqual([
      ['a1', 0, "I'll run the tests."],
      ['a3', 0, 'Done.'],
      ['a5', 0, 'Partial'],
      ['b1', 1, 'Added the test.'],
      ['c1', 0, 'LGTM'],
    ])
    expect(pick(await run('reasoning'), ['flow_id', 'call', 'text'])).toEqual([
      ['a1', 0, 'Let me look'],
      ['b1', 0, 'Planning the test'],
    ])
  })

  it('tool_calls: every call of every response (two responses of one WebSocket flow)', async () => {
    const rows = await run('tool_calls')
    expect(pick(rows, ['flow_id', 'call', 'index', 'call_id', 'name', 'kind', 'complete'])).toEqual([
      ['a1', 0, 0, 'toolu_1', 'Bash', 'function', true],
      ['a1', 0, 1, 'toolu_w', 'WebFetch', 'function', true],
      ['a2', 0, 0, 'toolu_2', 'Edit', 'function', true],
      ['a2', 0, 1, 'toolu_m', 'mcp__github__get_issue', 'mcp', true],
      ['a2', 0, 2, 'toolu_t', 'Task', 'function', true],
      ['a4', 0, 0, 'toolu_r', 'Read', 'function', true],
      ['a5', 0, 0, 'toolu_x', 'Bash', 'function', false],
      ['b1', 0, 0, 'call_1', 'shell', 'function', true],
      ['b1', 0, 1, 'call_2', 'apply_patch', 'custom', true],
      ['b1', 1, 0, 'ws_1', 'web_search', 'server', true],
    ])
    expect(rows[0]!.arguments).toBe('{"command":"npm test"}')
  })

  it('tool_results: each call id once, at its first request; a missing name comes from the call', async () => {
    expect(pick(await run('tool_results'), ['flow_id', 'call_id', 'name', 'is_error', 'output', 'exit_code'])).toEqual([
      ['a2', 'toolu_1', 'Bash', false, 'ok 3 passed', 0],
      ['a2', 'toolu_w', 'WebFetch', false, 'docs page', null],
      ['a3', 'toolu_2', 'Edit', true, 'edit failed', null],
      ['a3', 'toolu_m', 'mcp__github__get_issue', false, 'issue 7', null],
      ['a3', 'toolu_t', 'Task', false, 'explored', null],
      ['b1', 'call_1', 'shell', false, 'export const a = 1', 0],
      ['b1', 'call_2', 'apply_patch', false, 'Success', null],
    ])
  })

  it('config: one row per call', async () => {
    const rows = await run('config')
    expect(rows).toHaveLength(9)
    expect(pick([rows[0]!, rows[5]!], ['flow_id', 'call', 'model', 'reasoning_effort', 'temperature', 'max_tokens', 'tool_count', 'tools'])).toEqual([
      ['a1', 0, 'claude-sonnet-4-5-20250929', 'thinking:1024', 1, 32000, 2, 'Bash,Edit'],
      ['b1', 0, 'gpt-5-codex', 'high', null, null, 2, 'shell,apply_patch'],
    ])
  })

  it('system_prompts and tool_definitions: by the ledger hash, with first/last seen and counts', async () => {
    expect(pick(await run('system_prompts'), ['hash', 'first_seen', 'last_seen', 'flows', 'sessions', 'chars', 'text'])).toEqual([
      ['sys-cc', '2026-01-01T10:00:00.000Z', '2026-01-01T10:01:05.000Z', 5, 1, 20, 'You are Claude Code.'],
      ['sys-cx', '2026-01-01T10:02:00.000Z', '2026-01-01T10:03:00.000Z', 3, 1, 14, 'You are Codex.'],
    ])
    expect(pick(await run('tool_definitions'), ['name', 'kind', 'hash', 'flows', 'sessions', 'description'])).toEqual([
      ['Bash', 'function', 't-bash', 5, 1, 'Run a shell command'],
      ['Edit', 'function', 't-edit', 5, 1, 'Edit a file'],
      ['apply_patch', 'custom', 't-patch', 3, 1, 'Apply a patch'],
      ['shell', 'function', 't-shell', 3, 1, 'Runs a shell command'],
    ])
  })

  it('models and clients', async () => {
    expect(pick(await run('models'), ['model', 'provider', 'flows', 'sessions'])).toEqual([
      ['claude-sonnet-4-5-20250929', 'anthropic', 5, 1],
      ['gpt-5-codex', 'openai', 3, 1],
    ])
    expect(pick(await run('clients'), ['client', 'user_agent', 'version', 'flows', 'sessions'])).toEqual([
      ['claude-code', 'claude-cli/2.0.14 (external, cli)', '2.0.14', 5, 1],
      ['codex', 'codex_cli_rs/0.46.0 (Linux; x86_64)', '0.46.0', 4, 1],
    ])
  })
})

describe('tool-derived modes', () => {
  it('shell commands are the ledger’s, edits / reads / web / MCP / subagents from the arguments', async () => {
    expect(pick(await run('shell_commands'), ['flow_id', 'tool', 'command', 'workdir'])).toEqual([
      ['a1', 'Bash', 'npm test', null],
      ['b1', 'shell', 'cat src/x.ts', '/w'],
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
      ['b1', 'web_search', 'search', 'vitest docs'],
    ])
    expect(pick(await run('mcp_calls'), ['flow_id', 'server', 'tool', 'arguments'])).toEqual([['a2', 'github', 'get_issue', '{"number":7}']])
    expect(pick(await run('subagents'), ['flow_id', 'source', 'subagent', 'description'])).toEqual([
      ['a2', 'tool:Task', 'Explore', 'scan repo'],
      ['c1', 'request', 'review', null],
    ])
  })
})

describe('tokens, cost, sessions, turns', () => {
  it('usage: per call, the two responses of one WebSocket flow both counted, cache writes by TTL', async () => {
    expect(pick(await run('usage'), ['flow_id', 'call', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens'])).toEqual([
      ['a1', 0, 10, 1000, 100, 0, 50, null, 1160],
      ['a2', 0, 5, 1100, 50, 30, 30, null, 1185],
      ['a3', 0, 7, 1200, 0, 0, 5, null, 1212],
      ['a4', 0, 20, 1300, 0, 0, 1, null, 1321],
      ['a5', 0, 20, 1300, 0, 0, 1, null, 1321],
      ['b1', 0, 500, 1500, 0, 0, 300, 200, 2300],
      ['b1', 1, 500, 2000, 0, 0, 20, 0, 2520],
      ['c1', 0, 10, 0, 0, 0, 2, null, 12],
    ])
  })

  it('cost: longest model prefix, 1-hour cache writes at 2× input, the table version on every row', async () => {
    const rows = await run('cost')
    expect(pick(rows, ['flow_id', 'call', 'price_key', 'cost_usd'])).toEqual([
      ['a1', 0, 'claude-sonnet-4-5', 0.001455],
      ['a2', 0, 'claude-sonnet-4-5', 0.00105],
      ['a3', 0, 'claude-sonnet-4-5', 0.000456],
      ['a4', 0, 'claude-sonnet-4-5', 0.000465],
      ['a5', 0, 'claude-sonnet-4-5', 0.000465],
      ['b1', 0, 'gpt-5-codex', 0.0038125],
      ['b1', 1, 'gpt-5-codex', 0.001075],
      ['c1', 0, 'gpt-5-codex', 0.0000325],
    ])
    for (const r of rows) expect(r.prices_version).toBe(x.prices.version)
  })

  it('sessions: flows, turns, tokens, cost and errors per session', async () => {
    expect(pick(await run('sessions'), ['session_id', 'client', 'first_seen', 'last_seen', 'flows', 'turns', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'cost_usd', 'unpriced_calls', 'errors'])).toEqual([
      ['sess-a', 'claude-code', '2026-01-01T10:00:00.000Z', '2026-01-01T10:01:06.000Z', 5, 2, 62, 5900, 150, 87, 0.003891, 0, 2],
      ['sess-b', 'codex', '2026-01-01T10:02:00.000Z', '2026-01-01T10:03:20.000Z', 4, 2, 1010, 3500, 0, 322, 0.00492, 0, 2],
    ])
  })

  it('turns: a prompt until the next one; the paired variant', async () => {
    expect(pick(await run('turns'), ['session_id', 'turn', 'prompt', 'response', 'flows', 'tool_calls', 'stop_reason', 'outcome', 'input_tokens', 'output_tokens', 'duration_ms'])).toEqual([
      ['sess-a', 1, 'fix the bug', 'Done.', 3, 5, 'end_turn', 'completed', 3472, 85, 10000],
      ['sess-a', 2, 'now read the readme', 'Partial', 2, 2, null, 'aborted', 2640, 2, 6000],
      ['sess-b', 1, 'add a test', 'LGTM', 2, 3, null, 'completed', 4510, 322, 20000],
      ['sess-b', 2, 'and run it', null, 1, 0, null, 'error', 0, 0, 200],
    ])
    const paired = await x.run('turns', { mode: 'paired', limit: 2 })
    expect(paired.columns).toEqual(['ts', 'session_id', 'turn', 'prompt', 'response'])
    expect(pick(paired.rows, ['prompt', 'response'])).toEqual([
      ['add a test', 'LGTM'],
      ['and run it', null],
    ])
  })

  it('cache and latency', async () => {
    expect(pick(await run('cache_ratio'), ['session_id', 'calls', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'hit_ratio'])).toEqual([
      ['sess-a', 5, 62, 5900, 150, 0.9653],
      ['sess-b', 3, 1010, 3500, 0, 0.7761],
    ])
    expect(pick(await run('latency'), ['client', 'model', 'calls', 'with_ttft', 'ttft_p50', 'ttft_max', 'duration_p50', 'duration_max'])).toEqual([
      ['claude-code', 'claude-sonnet-4-5-20250929', 5, 5, 300, 500, 1200, 2000],
      ['codex', 'gpt-5-codex', 4, 2, 400, 450, 2000, 3000],
    ])
  })
})

describe('flows, errors, stop reasons, rate limits, call validation', () => {
  it('flows: one row per flow, a flow without calls included', async () => {
    expect(pick(await run('flows'), ['flow_id', 'kind', 'model', 'status', 'outcome', 'stop_reason', 'calls'])).toEqual([
      ['a1', 'model', 'claude-sonnet-4-5-20250929', 200, 'completed', 'tool_use', 1],
      ['a2', 'model', 'claude-sonnet-4-5-20250929', 200, 'completed', 'tool_use', 1],
      ['a3', 'model', 'claude-sonnet-4-5-20250929', 200, 'completed', 'end_turn', 1],
      ['a4', 'model', 'claude-sonnet-4-5-20250929', 200, 'error', null, 1],
      ['a5', 'model', 'claude-sonnet-4-5-20250929', 200, 'aborted', null, 1],
      ['b1', 'model', 'gpt-5-codex', 101, 'completed', 'completed', 2],
      ['c1', 'model', 'gpt-5-codex', null, 'completed', null, 1],
      ['b2', 'model', 'gpt-5-codex', 429, 'error', null, 1],
      ['b3', 'model', null, null, 'upstream_error', null, 0],
    ])
  })

  it('errors: the provider error of each failed call, and failed flows without a call', async () => {
    expect(pick(await run('errors'), ['flow_id', 'call', 'kind', 'status', 'outcome', 'error_type', 'message'])).toEqual([
      ['a4', 0, 'overloaded', 200, 'error', 'overloaded_error', 'Overloaded'],
      ['a5', 0, 'aborted', 200, 'aborted', null, 'client closed the connection'],
      ['b2', 0, 'rate_limit', 429, 'error', 'rate_limit_error', 'Rate limit reached'],
      ['b3', null, 'upstream_error', null, 'upstream_error', null, null],
    ])
  })

  it('stop_reasons per provider', async () => {
    expect(pick(await run('stop_reasons'), ['provider', 'stop_reason', 'calls'])).toEqual([
      ['anthropic', '(none)', 2],
      ['anthropic', 'tool_use', 2],
      ['openai', '(none)', 2],
      ['openai', 'completed', 2],
      ['anthropic', 'end_turn', 1],
    ])
  })

  it('rate_limits: the state each response reported', async () => {
    expect(pick(await run('rate_limits'), ['flow_id', 'status', 'retry_after', 'requests_remaining', 'tokens_remaining', 'used_percent'])).toEqual([
      ['a1', 200, null, '49', '80000', null],
      ['b1', 101, null, null, null, '12'],
      ['b2', 429, '30', '0', null, null],
    ])
  })

  it('call_validation: the unanswered call and the incomplete one', async () => {
    expect(pick(await run('call_validation'), ['flow_id', 'kind', 'call_id', 'name', 'position'])).toEqual([
      ['a4', 'unanswered_call', 'toolu_r', 'Read', 'call 0, tool call 0'],
      ['a5', 'incomplete_args', 'toolu_x', 'Bash', 'call 0, tool call 0'],
    ])
  })
})

describe('filters, limits, aux', () => {
  it('--session / --client / --since / --until select whole flows', async () => {
    expect((await run('usage', { session: 'sess-b' })).map((r) => [r.flow_id, r.call])).toEqual([['b1', 0], ['b1', 1], ['c1', 0]])
    expect((await run('tool_calls', { client: 'codex' })).map((r) => r.flow_id)).toEqual(['b1', 'b1', 'b1'])
    expect((await run('flows', { since: '2026-01-01T10:00:09Z', until: '2026-01-01T10:02:00Z' })).map((r) => r.flow_id)).toEqual(['a3', 'a4', 'a5'])
    expect(await run('usage', { session: 'nope' })).toEqual([])
  })

  it('limit keeps the latest N in time order; aggregates keep their top N', async () => {
    expect((await run('flows', { limit: 2 })).map((r) => r.flow_id)).toEqual(['b2', 'b3'])
    expect((await run('sessions', { limit: 1 })).map((r) => r.session_id)).toEqual(['sess-b'])
    expect((await run('stop_reasons', { limit: 2 })).map((r) => r.stop_reason)).toEqual(['(none)', 'tool_use'])
  })

  it('a bad date is a clear BAD_FILTER error, an absurd age too', async () => {
    await expect(x.run('usage', { since: 'yesterdayish' })).rejects.toMatchObject({ code: 'BAD_FILTER' })
    await expect(x.run('usage', { since: '999999999999d' })).rejects.toMatchObject({ code: 'BAD_FILTER', message: expect.stringMatching(/--since "999999999999d" reaches back before any date/) })
  })

  it('aux flows count only with includeAux', async () => {
    // (in memory: this process holds the on-disk index open in `x`, a second opener would wait)
    const all = await createExtractor({ logDir: root, ledgerModule, threads: 1, includeAux: true, index: false })
    try {
      expect((await all.run('user_prompts')).rows.map((r) => r.flow_id)).toEqual(['a1', 'x1', 'a4', 'b1', 'b2'])
      expect((await all.run('flows')).rows.map((r) => r.kind)).toContain('aux')
    } finally {
      all.close()
    }
    expect((await run('flows')).map((r) => r.kind)).not.toContain('aux')
  })

  it('ndjson: SQL modes hand out DuckDB’s lines, the same rows once parsed; TypeScript modes fill rows', async () => {
    for (const mode of ['usage', 'cost', 'tool_calls', 'flows'] as const) {
      const raw = await x.run(mode, { ndjson: true })
      expect(raw.rows).toEqual([])
      expect(raw.ndjson!.map((l) => JSON.parse(l) as Row)).toEqual(await run(mode))
    }
    const derived = await x.run('file_edits', { ndjson: true })
    expect(derived.ndjson).toBeUndefined()
    expect(derived.rows.length).toBe(3)
  })

  it('ndjsonTo: DuckDB writes SQL modes to the file itself (0600), TypeScript modes are written from their rows', async () => {
    for (const mode of ['usage', 'tool_calls', 'file_edits'] as const) {
      const path = join(root, `${mode}.ndjson`)
      const r = await x.run(mode, { ndjsonTo: path })
      expect(r.rows).toEqual([])
      const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row)
      expect(r.written).toBe(lines.length)
      expect(lines).toEqual(await run(mode))
      expect(statSync(path).mode & 0o777).toBe(0o600)
    }
  })

  it('every mode answers, with its declared columns when it has rows', async () => {
    for (const mode of MODE_NAMES) {
      const r = await x.run(mode)
      expect(r.engine).toBe('index')
      if (r.rows.length > 0) expect(Object.keys(r.rows[0]!)).toEqual(MODES[mode].columns)
      else expect(r.columns).toEqual(MODES[mode].columns)
    }
  })
})
