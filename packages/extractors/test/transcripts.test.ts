import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { claudeAssistantLine, claudeUserLine, codexLine, codexTokenCount, TRAP_IDS, writeTrapTree } from '@agenttap/transcripts/generate'
import { createExtractor } from '../src/index.js'
import type { Row } from '../src/index.js'

// The transcript importers through the index: the trap tree of @agenttap/transcripts (one
// fixture per counting trap), exact tokens and cost per day and session, incremental updates
// on appended bytes, idempotent re-imports, and reconcile against the shared wire fixture.
let dir: string
let dirs: { claudeDir: string; codexDir: string }
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'extract-transcripts-'))
  dirs = writeTrapTree(join(dir, 'tree'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const open = (extra: Record<string, unknown> = {}) =>
  createExtractor({ logDir: '', wire: false, transcripts: { claude: [dirs.claudeDir], codex: [dirs.codexDir] }, indexDir: join(dir, 'idx'), threads: 1, ...extra })
const pick = (rows: Row[], keys: string[]) => rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])))
const DAILY = ['date', 'model', 'calls', 'input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'cost_usd']

const EXPECTED_DAILY = [
  { date: '2026-11-20', model: 'claude-haiku-4-5-20251001', calls: 1, input_tokens: 20, cache_read_tokens: 500, cache_write_5m_tokens: 100, cache_write_1h_tokens: 0, output_tokens: 80, cost_usd: 0.000595 },
  // 10×3 + 1000×0.3 + 2000×3.75 + 120×15 and 5×3 + 3000×0.3 + 500×6 (1-hour writes at 2× input) + 200×15, per million
  { date: '2026-11-20', model: 'claude-sonnet-4-5-20250929', calls: 2, input_tokens: 15, cache_read_tokens: 4000, cache_write_5m_tokens: 2000, cache_write_1h_tokens: 500, output_tokens: 320, cost_usd: 0.016545 },
  { date: '2026-11-20', model: 'gpt-5', calls: 3, input_tokens: 1500, cache_read_tokens: 1500, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 300, cost_usd: 0.0050625 },
  { date: '2026-11-21', model: 'claude-haiku-4-5-20251001', calls: 1, input_tokens: 100, cache_read_tokens: 0, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 50, cost_usd: 0.00035 },
  { date: '2026-11-21', model: 'claude-sonnet-4-5-20250929', calls: 1, input_tokens: 50, cache_read_tokens: 0, cache_write_5m_tokens: 400, cache_write_1h_tokens: 600, output_tokens: 300, cost_usd: 0.00975 },
  { date: '2026-11-21', model: 'gpt-5', calls: 2, input_tokens: 1000, cache_read_tokens: 600, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 160, cost_usd: 0.002925 },
]

describe('transcripts in the index', () => {
  it('exact tokens and cost per day, model and session', async () => {
    const x = await open()
    try {
      expect(pick((await x.run('daily')).rows, DAILY)).toEqual(EXPECTED_DAILY)
      const s = (await x.run('sessions')).rows
      expect(pick(s, ['session_id', 'client', 'flows', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'cost_usd'])).toEqual([
        { session_id: TRAP_IDS.claudeSessionA, client: 'claude-code', flows: 4, input_tokens: 135, cache_read_tokens: 4500, cache_write_tokens: 2600, output_tokens: 450, cost_usd: 0.01749 },
        { session_id: TRAP_IDS.codexSessionC, client: 'codex', flows: 3, input_tokens: 1500, cache_read_tokens: 1500, cache_write_tokens: 0, output_tokens: 300, cost_usd: 0.0050625 },
        { session_id: TRAP_IDS.codexForkD, client: 'codex', flows: 1, input_tokens: 500, cache_read_tokens: 500, cache_write_tokens: 0, output_tokens: 100, cost_usd: 0.0016875 },
        { session_id: TRAP_IDS.claudeSessionB, client: 'claude-code', flows: 1, input_tokens: 50, cache_read_tokens: 0, cache_write_tokens: 1000, output_tokens: 300, cost_usd: 0.00975 },
        { session_id: TRAP_IDS.codexSubagentE, client: 'codex', flows: 1, input_tokens: 500, cache_read_tokens: 100, cache_write_tokens: 0, output_tokens: 60, cost_usd: 0.0012375 },
      ])
      expect(pick((await x.run('compactions')).rows, ['session_id', 'source', 'trigger', 'pre_tokens'])).toEqual([
        { session_id: TRAP_IDS.codexSessionC, source: 'codex-rollout', trigger: null, pre_tokens: 1500 },
        { session_id: TRAP_IDS.claudeSessionA, source: 'claude-transcript', trigger: 'auto', pre_tokens: 150000 },
      ])
      expect((await x.run('rate_limits')).rows.map((r) => r.used_percent)).toEqual(['13', '14', '15', '20'])
      expect((await x.run('subagents')).rows.length).toBeGreaterThanOrEqual(0)
      expect((await x.run('tool_calls')).rows.map((r) => r.call_id).sort()).toEqual(['call_C1', 'toolu_A1'])
    } finally {
      x.close()
    }
  })

  it('is incremental on appended bytes: a call finished in a later update keeps its final usage', async () => {
    const a = join(dirs.claudeDir, 'projects', TRAP_IDS.project, `${TRAP_IDS.claudeSessionA}.jsonl`)
    const lines = readFileSync(a, 'utf8').split('\n')
    // Only the first two (partial) blocks of msg_A1 are written yet.
    writeFileSync(a, lines.slice(0, 3).join('\n') + '\n')
    const x1 = await open()
    await x1.refresh()
    const first = x1.lastUpdate!.bytes
    const u1 = (await x1.run('usage')).rows.find((r) => r.flow_id === 'claude-transcript:msg_A1:req_A1')!
    expect(u1.output_tokens).toBe(10)
    x1.close()
    // Nothing new: the index answers without reading anything.
    const x2 = await open()
    await x2.refresh()
    expect(x2.lastUpdate!.bytes).toBe(0)
    x2.close()
    const rest = lines.slice(3).join('\n')
    appendFileSync(a, rest)
    const x3 = await open()
    try {
      await x3.refresh()
      expect(x3.lastUpdate!.bytes).toBe(Buffer.byteLength(rest))
      expect(x3.lastUpdate!.rebuilt).toBeUndefined()
      expect(first).toBeGreaterThan(0)
      expect(pick((await x3.run('daily')).rows, DAILY)).toEqual(EXPECTED_DAILY)
      const a1 = (await x3.run('usage')).rows.find((r) => r.flow_id === 'claude-transcript:msg_A1:req_A1')!
      expect(a1.output_tokens).toBe(120)
      expect((await x3.run('assistant_text')).rows.find((r) => r.flow_id === 'claude-transcript:msg_A1:req_A1')?.text).toBe('Reading the parser.')
      expect((await x3.run('tool_calls')).rows.map((r) => r.call_id).sort()).toEqual(['call_C1', 'toolu_A1'])
    } finally {
      x3.close()
    }
  })

  it('re-importing the same content changes nothing; a rewritten file rebuilds', async () => {
    const x1 = await open()
    await x1.refresh()
    x1.close()
    // A resumed session copies earlier lines into a new file: same calls, same keys.
    const src = join(dirs.claudeDir, 'projects', TRAP_IDS.project, `${TRAP_IDS.claudeSessionB}.jsonl`)
    copyFileSync(src, join(dirs.claudeDir, 'projects', TRAP_IDS.project, 'ffffffff-0000-4000-a000-00000000000f.jsonl'))
    const x2 = await open()
    try {
      await x2.refresh()
      expect(x2.lastUpdate!.bytes).toBe(readFileSync(src).length)
      expect(pick((await x2.run('daily')).rows, DAILY)).toEqual(EXPECTED_DAILY)
    } finally {
      x2.close()
    }
    writeFileSync(src, readFileSync(src, 'utf8').replace('"output_tokens":300', '"output_tokens":301'))
    const x3 = await open()
    try {
      await x3.refresh()
      expect(x3.lastUpdate!.rebuilt).toMatch(/rewritten|shrank/)
      // The copy still has 300 and the rewrite 301: the final usage of the call is the larger one.
      expect((await x3.run('daily')).rows.find((r) => r.date === '2026-11-21' && String(r.model).startsWith('claude-sonnet'))!.output_tokens).toBe(301)
    } finally {
      x3.close()
    }
  })
})

describe('prompts and files replaced in place', () => {
  it('user_prompts lists the prompts read from the transcripts, each on its session', async () => {
    const x = await open({ threads: 2, workerMinBytes: 1 })
    try {
      expect(pick((await x.run('user_prompts')).rows, ['ts', 'session_id', 'flow_id', 'text'])).toEqual([
        { ts: '2026-11-20T10:00:02.000Z', session_id: TRAP_IDS.claudeSessionA, flow_id: 'claude-transcript:msg_A1:req_A1', text: 'fix the failing test in parser.ts' },
        { ts: '2026-11-20T11:00:05.000Z', session_id: TRAP_IDS.codexSessionC, flow_id: `codex-rollout:${TRAP_IDS.codexSessionC}:1100`, text: 'add a --json flag' },
        { ts: '2026-11-21T00:10:04.000Z', session_id: TRAP_IDS.claudeSessionA, flow_id: 'claude-transcript:msg_A3:req_A3', text: 'now the docs' },
        { ts: '2026-11-21T08:00:06.000Z', session_id: TRAP_IDS.codexForkD, flow_id: `codex-rollout:${TRAP_IDS.codexForkD}:4400`, text: 'try another approach' },
        { ts: '2026-11-21T09:00:05.000Z', session_id: TRAP_IDS.claudeSessionB, flow_id: 'claude-transcript:msg_B1:req_B1', text: 'write a changelog' },
      ])
    } finally {
      x.close()
    }
  })

  it('the same prompt typed twice in one session is two prompts (no retries on disk)', async () => {
    const S = 'eeeeeeee-0000-4000-a000-00000000000e'
    const proj = join(dirs.claudeDir, 'projects', TRAP_IDS.project)
    const turn = (n: number, ts: string) => [
      claudeUserLine({ session: S, uuid: `p${n}`, parent: null, ts: `2026-11-22T09:0${n}:00.000Z`, content: 'run the tests again' }),
      claudeAssistantLine({ session: S, uuid: `a${n}`, parent: `p${n}`, ts, messageId: `msg_E${n}`, requestId: `req_E${n}`, model: 'claude-sonnet-4-5-20250929', block: { type: 'text', text: 'done' }, stop: 'end_turn', usage: { input: 5, cache_read: 0, cache_5m: 0, cache_1h: 0, output: 2 } }),
    ]
    writeFileSync(join(proj, `${S}.jsonl`), [...turn(1, '2026-11-22T09:01:01.000Z'), ...turn(2, '2026-11-22T09:02:01.000Z')].join('\n') + '\n')
    const x = await open()
    try {
      const rows = (await x.run('user_prompts')).rows.filter((r) => r.session_id === S)
      expect(pick(rows, ['ts', 'flow_id', 'text'])).toEqual([
        { ts: '2026-11-22T09:01:01.000Z', flow_id: 'claude-transcript:msg_E1:req_E1', text: 'run the tests again' },
        { ts: '2026-11-22T09:02:01.000Z', flow_id: 'claude-transcript:msg_E2:req_E2', text: 'run the tests again' },
      ])
    } finally {
      x.close()
    }
  })

  it('a new file that got a removed file\'s inode is read as new, with no rebuild', async () => {
    const x1 = await open()
    await x1.refresh()
    x1.close()
    // Session B's file is gone and a new session's file holds its inode (renamed, then rewritten
    // in place: the inode is kept, the first bytes are not the old file's).
    const proj = join(dirs.claudeDir, 'projects', TRAP_IDS.project)
    const old = join(proj, `${TRAP_IDS.claudeSessionB}.jsonl`)
    const S = 'dddddddd-0000-4000-a000-00000000000d'
    const now = join(proj, `${S}.jsonl`)
    renameSync(old, now)
    const body = claudeAssistantLine({ session: S, uuid: 'u-d1', parent: null, ts: '2026-11-22T09:00:00.000Z', messageId: 'msg_D1', requestId: 'req_D1', model: 'claude-sonnet-4-5-20250929', block: { type: 'text', text: 'hi' }, stop: 'end_turn', usage: { input: 7, cache_read: 0, cache_5m: 0, cache_1h: 0, output: 3 } }) + '\n'
    const ino = statSync(now).ino
    writeFileSync(now, body)
    expect(statSync(now).ino).toBe(ino)
    const x2 = await open()
    try {
      await x2.refresh()
      expect(x2.lastUpdate!.rebuilt).toBeUndefined()
      expect(x2.lastUpdate!.bytes).toBe(Buffer.byteLength(body))
      // B's calls stay (history), D's is new.
      expect(pick((await x2.run('daily')).rows, DAILY)).toEqual([...EXPECTED_DAILY, { date: '2026-11-22', model: 'claude-sonnet-4-5-20250929', calls: 1, input_tokens: 7, cache_read_tokens: 0, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 3, cost_usd: 0.000066 }])
    } finally {
      x2.close()
    }
  })
})

describe('reconcile', () => {
  it('joins the wire capture with transcripts per session: matched, only one side, usage that differs, re-emits', async () => {
    const cc = join(dir, 'rec', 'claude', 'projects', '-fixture')
    mkdirSync(cc, { recursive: true })
    const u = (input: number, cache_read: number, cache_5m: number, cache_1h: number, output: number) => ({ input, cache_read, cache_5m, cache_1h, output })
    const S2 = '6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f'
    const S1 = '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912'
    const base = { parent: null, model: 'claude-opus-4-5-20251101', block: { type: 'text', text: 'x' } }
    writeFileSync(join(cc, `${S2}.jsonl`), [
      claudeAssistantLine({ ...base, session: S2, uuid: 'r1', ts: '2026-11-20T10:05:03.000Z', messageId: 'msg_01Fixture2x000000000000001', requestId: 'req_011CVcc2fixture01', stop: 'end_turn', usage: u(6, 11800, 400, 1800, 58) }),
      // The same request, but the transcript says 99 output tokens where the wire said 31.
      claudeAssistantLine({ ...base, session: S2, uuid: 'r2', ts: '2026-11-20T10:05:04.000Z', messageId: 'msg_01Fixture2x000000000000002', requestId: 'req_011CVcc2fixture02', stop: 'end_turn', usage: u(3, 14000, 0, 180, 99) }),
      // A call the proxy never saw.
      claudeAssistantLine({ ...base, session: S2, uuid: 'r3', ts: '2026-11-20T10:06:00.000Z', messageId: 'msg_transcript_only', requestId: 'req_transcript_only', stop: 'end_turn', usage: u(1, 0, 0, 0, 5) }),
    ].join('\n') + '\n')
    writeFileSync(join(cc, `${S1}.jsonl`), [
      // Per-block lines: the first one is a re-emit of the same response. The transcript has other
      // ids than the wire (a gateway renamed them): joined by the tool_use id the two share.
      claudeAssistantLine({ ...base, model: 'claude-sonnet-4-5-20250929', session: S1, uuid: 'q0', ts: '2026-11-20T10:00:01.000Z', messageId: 'msg_gw_1', requestId: 'req_gw_1', stop: null, usage: u(9, 14210, 1320, 0, 3) }),
      claudeAssistantLine({ ...base, model: 'claude-sonnet-4-5-20250929', session: S1, uuid: 'q1', ts: '2026-11-20T10:00:01.500Z', messageId: 'msg_gw_1', requestId: 'req_gw_1', stop: 'tool_use', usage: u(9, 14210, 1320, 0, 187), block: { type: 'tool_use', id: 'toolu_01FixtureBash000000001', name: 'Bash', input: {} } }),
      // No request-id header on the wire for this one: joined by the message id.
      claudeAssistantLine({ ...base, model: 'claude-sonnet-4-5-20250929', session: S1, uuid: 'q2', ts: '2026-11-20T10:00:03.000Z', messageId: 'msg_01Fixture0000000000000002', requestId: 'req_unknown_to_wire', stop: 'end_turn', usage: u(220, 15530, 0, 0, 41) }),
    ].join('\n') + '\n')
    const CX = '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'
    const cxDir = join(dir, 'rec', 'codex', 'sessions', '2026', '11', '20')
    mkdirSync(cxDir, { recursive: true })
    const t1 = { input: 5210, cached: 4864, output: 312, reasoning: 192 }
    const t2 = { input: 11230, cached: 9984, output: 552, reasoning: 256 }
    writeFileSync(join(cxDir, `rollout-2026-11-20T10-01-00-${CX}.jsonl`), [
      codexLine('2026-11-20T10:00:59.000Z', 'session_meta', { id: CX, cwd: '/w' }),
      codexLine('2026-11-20T10:00:59.100Z', 'turn_context', { model: 'gpt-5-codex' }),
      codexTokenCount('2026-11-20T10:01:02.000Z', t1, t1),
      codexTokenCount('2026-11-20T10:01:02.010Z', t1, t1),
      codexTokenCount('2026-11-20T10:01:04.000Z', t2, { input: 6020, cached: 5120, output: 240, reasoning: 64 }),
      // cx-turn-3 was not written to the rollout (the agent was killed before it saved it).
    ].join('\n') + '\n')
    const capture = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'capture')
    const x = await createExtractor({ logDir: capture, index: false, threads: 1, transcripts: { claude: [join(dir, 'rec', 'claude')], codex: [join(dir, 'rec', 'codex')] } })
    try {
      const rows = (await x.run('reconcile')).rows
      const of = (s: string) => pick(rows.filter((r) => r.session_id === s), ['wire_calls', 'transcript_calls', 'matched', 'only_wire', 'only_transcript', 'usage_differs', 'reemitted', 'replayed', 'only_wire_ids', 'only_transcript_ids', 'differing_ids'])[0]
      expect(of(S2)).toEqual({ wire_calls: 2, transcript_calls: 3, matched: 2, only_wire: 0, only_transcript: 1, usage_differs: 1, reemitted: 0, replayed: 0, only_wire_ids: null, only_transcript_ids: 'req_transcript_only', differing_ids: 'req_011CVcc2fixture02' })
      expect(of(S1)).toEqual({ wire_calls: 2, transcript_calls: 2, matched: 2, only_wire: 0, only_transcript: 0, usage_differs: 0, reemitted: 1, replayed: 0, only_wire_ids: null, only_transcript_ids: null, differing_ids: null })
      expect(of(CX)).toEqual({ wire_calls: 3, transcript_calls: 2, matched: 2, only_wire: 1, only_transcript: 0, usage_differs: 0, reemitted: 1, replayed: 0, only_wire_ids: 'resp_fixture_cx3', only_transcript_ids: null, differing_ids: null })
      // A session only the wire saw.
      expect(of('7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f')).toMatchObject({ wire_calls: 1, transcript_calls: 0, matched: 0, only_wire: 1 })
    } finally {
      x.close()
    }
  })
})
