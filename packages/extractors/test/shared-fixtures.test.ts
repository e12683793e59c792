import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import type { Extractor, Row } from '../src/index.js'

// The project's shared fixture capture (fixtures/capture, all scenarios of fixtures/README.md)
// through the real ledger, with an in-memory index (nothing written into the repo): real wire
// shapes, escapes split across fragments, and the cases of issue 14 analyze used to get wrong.
const DIR = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'capture')
let x: Extractor
let all: Extractor

beforeAll(async () => {
  x = await createExtractor({ logDir: DIR, threads: 1, index: false })
  all = await createExtractor({ logDir: DIR, threads: 1, index: false, includeAux: true })
})
afterAll(() => {
  x?.close()
  all?.close()
})

const rows = async (mode: Parameters<Extractor['run']>[0], flow?: string): Promise<Row[]> =>
  (await x.run(mode)).rows.filter((r) => flow === undefined || r.flow_id === flow)

describe('shared fixtures', () => {
  it('tool arguments joined across split escapes parse as JSON', async () => {
    const calls = (await rows('tool_calls')).filter((r) => r.kind === 'function' && r.complete)
    expect(calls.length).toBeGreaterThan(0)
    for (const r of calls) expect(() => JSON.parse(String(r.arguments))).not.toThrow()
    const bash = calls.find((r) => r.name === 'Bash' && r.flow_id === 'cc-turn-1')
    expect((JSON.parse(String(bash!.arguments)) as { command: string }).command).toContain('café')
  })

  it('errors inside HTTP 200 streams, and HTTP 429 / 529 error bodies, with their type and message', async () => {
    const e = (await rows('errors')).map((r) => [r.flow_id, r.kind, r.status, r.error_type])
    expect(e).toContainEqual(['err-anthropic-1', 'overloaded', 200, 'overloaded_error'])
    expect(e).toContainEqual(['err-responses-1', 'rate_limit', 200, 'rate_limit_exceeded'])
    expect(e).toContainEqual(['err-http-429', 'rate_limit', 429, 'rate_limit_error'])
    expect(e).toContainEqual(['err-http-529', 'overloaded', 529, 'overloaded_error'])
    expect(e).toContainEqual(['err-http-openai-429', 'rate_limit', 429, 'tokens'])
    for (const r of await rows('errors')) expect(r.message).toEqual(expect.any(String))
  })

  it('usage totals equal the sum of per-call usage, each call once', async () => {
    const usage = await rows('usage')
    expect(new Set(usage.map((r) => `${r.flow_id}#${r.call}`)).size).toBe(usage.length)
    const sessions = await rows('sessions')
    const sum = (rs: Row[], k: string) => rs.reduce((n, r) => n + Number(r[k] ?? 0), 0)
    for (const k of ['input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens']) expect(sum(sessions, k)).toBe(sum(usage, k))
  })

  it('Claude Code 2.1.x: the prompt before the trailing system entry is found; 1-hour cache writes are split out', async () => {
    expect((await rows('user_prompts', 'cc2-turn-1')).map((r) => r.text)).toEqual(['Why does parseLine drop the last field on CRLF input?'])
    expect((await rows('turns')).some((t) => t.prompt === 'Why does parseLine drop the last field on CRLF input?')).toBe(true)
    expect((await rows('usage', 'cc2-turn-1')).map((r) => [r.cache_write_tokens, r.cache_write_1h_tokens])).toEqual([[2200, 1800]])
  })

  it('Codex over one WebSocket: every response is a call (6,870 tokens, not the last 2,630), prompts and results from the client frames', async () => {
    const u = await rows('usage', 'cx-ws-1')
    expect(u.map((r) => [r.call, r.total_tokens])).toEqual([[0, 2240], [1, 2000], [2, 2630]])
    expect(u.reduce((n, r) => n + Number(r.total_tokens), 0)).toBe(6870)
    expect((await rows('tool_calls', 'cx-ws-1')).map((r) => [r.call, r.name])).toEqual([[0, 'exec_command'], [1, 'apply_patch']])
    expect((await rows('user_prompts', 'cx-ws-1')).map((r) => r.text)).toEqual(['Why is the CRLF test failing? Fix it.'])
    expect((await rows('tool_results', 'cx-ws-1')).map((r) => [r.call_id, r.name, r.is_error])).toEqual([
      ['call_WsExec0001', 'exec_command', true],
      ['call_WsPatch0002', 'apply_patch', false],
    ])
  })

  it('Chat Completions tool calls and their results', async () => {
    expect((await rows('tool_calls', 'chat-tools-1')).map((r) => [r.call_id, r.name])).toEqual([
      ['call_FixtureChatMain', 'get_build_status'],
      ['call_FixtureChatRel', 'get_build_status'],
    ])
    expect((await rows('tool_results', 'chat-tools-2')).map((r) => r.call_id)).toEqual(['call_FixtureChatMain', 'call_FixtureChatRel'])
  })

  it('a Codex flow closed right after response.completed is completed, not an error', async () => {
    expect((await rows('flows', 'cx-early-close')).map((r) => r.outcome)).toEqual(['completed'])
    expect(await rows('errors', 'cx-early-close')).toEqual([])
  })

  it('SDK requests without a session id are chained into conversations by their history', async () => {
    const s = Object.fromEntries((await rows('usage')).filter((r) => String(r.flow_id).startsWith('sdk-')).map((r) => [r.flow_id, r.session_id]))
    expect(s['sdk-turn-2']).toBe(s['sdk-turn-1'])
    expect(s['sdk-turn-3']).toBe(s['sdk-turn-1'])
    expect(s['sdk-other-1']).not.toBe(s['sdk-turn-1'])
  })

  it('auxiliary requests stay out of model views unless asked for', async () => {
    const aux = ['cc-aux-policy', 'cc-aux-settings', 'cc-aux-title']
    expect((await rows('flows')).filter((r) => aux.includes(String(r.flow_id)))).toEqual([])
    expect((await rows('user_prompts')).filter((r) => aux.includes(String(r.flow_id)))).toEqual([])
    expect((await all.run('flows')).rows.filter((r) => aux.includes(String(r.flow_id))).map((r) => [r.flow_id, r.kind])).toEqual(aux.map((a) => [a, 'aux']))
  })

  it('Codex tool results are unwrapped, with the exit code', async () => {
    const r = (await rows('tool_results', 'cx-turn-2')).find((t) => t.call_id === 'call_FixtureShell0001')
    expect(r).toMatchObject({ name: 'shell', is_error: true })
    expect(String(r!.output)).toMatch(/^FAIL /)
  })
})
