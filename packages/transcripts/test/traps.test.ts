import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelCall } from '@agenttap/ledger'
import { findTranscripts, importFiles, importTranscripts, mergeCall, startCursors } from '../src/index.ts'
import { TRAP_IDS, writeBulkTree, writeTrapTree } from '../src/generate.ts'

type T = { input: number; cache_read: number; cache_write_5m: number; cache_write_1h: number; output: number }
function sum(calls: ModelCall[], by: (c: ModelCall) => string): Record<string, T> {
  const out: Record<string, T> = {}
  for (const c of calls) {
    const t = (out[by(c)] ??= { input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 })
    t.input += c.usage!.input
    t.cache_read += c.usage!.cache_read
    t.cache_write_5m += c.usage!.cache_write_5m
    t.cache_write_1h += c.usage!.cache_write_1h
    t.output += c.usage!.output
  }
  return out
}
const t = (input: number, cache_read: number, cache_write_5m: number, cache_write_1h: number, output: number): T => ({ input, cache_read, cache_write_5m, cache_write_1h, output })

let root: string
let dirs: { claudeDir: string; codexDir: string }
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'transcripts-traps-'))
  dirs = writeTrapTree(root)
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

const files = () => findTranscripts({ claude: [dirs.claudeDir], codex: [dirs.codexDir] })
const ids = TRAP_IDS

describe('the trap tree', () => {
  it('is found: 3 Claude files (one a subagent) and 3 Codex rollouts', () => {
    const f = files()
    expect(f.filter((x) => x.kind === 'claude')).toHaveLength(3)
    expect(f.filter((x) => x.kind === 'codex')).toHaveLength(3)
    expect(f.find((x) => x.agent !== undefined)).toMatchObject({ agent: ids.claudeAgent, parent_session: ids.claudeSessionA })
  })

  it('counts every call once with its final usage: exact totals per day, session and model', async () => {
    const r = await importTranscripts(startCursors(files()))
    expect(r.problems).toEqual([])
    expect(r.calls).toHaveLength(10)
    expect(sum(r.calls, (c) => c.started_at.slice(0, 10))).toEqual({
      '2026-11-20': t(1535, 6000, 2100, 500, 700),
      '2026-11-21': t(1150, 600, 400, 600, 510),
    })
    expect(sum(r.calls, (c) => c.session_id)).toEqual({
      [ids.claudeSessionA]: t(135, 4500, 2100, 500, 450),
      [ids.claudeSessionB]: t(50, 0, 400, 600, 300),
      [ids.codexSessionC]: t(1500, 1500, 0, 0, 300),
      [ids.codexForkD]: t(500, 500, 0, 0, 100),
      [ids.codexSubagentE]: t(500, 100, 0, 0, 60),
    })
    expect(sum(r.calls, (c) => c.model ?? '')).toEqual({
      'claude-sonnet-4-5-20250929': t(65, 4000, 2400, 1100, 620),
      'claude-haiku-4-5-20251001': t(120, 500, 100, 0, 130),
      'gpt-5': t(2500, 2100, 0, 0, 460),
    })
  })

  it('per-block lines: one call per message.id + requestId, the final output (#389, #994, #901)', async () => {
    const r = await importTranscripts(startCursors(files()))
    const a1 = r.calls.find((c) => c.response_id === 'msg_A1')!
    expect(a1).toMatchObject({ key: 'claude-transcript:msg_A1:req_A1', request_id: 'req_A1', stop_reason: 'tool_use', started_at: '2026-11-20T10:00:02.000Z', ended_at: '2026-11-20T10:00:04.000Z' })
    expect(a1.usage).toEqual({ input: 10, cache_read: 1000, cache_write_5m: 2000, cache_write_1h: 0, output: 120 })
    expect(a1.text).toBe('Reading the parser.')
    expect(a1.reasoning).toBe('look at parser.ts first')
    expect(a1.tool_calls.map((x) => [x.call_id, x.name])).toEqual([['toolu_A1', 'Read']])
    expect(r.traps.claude_block_lines).toBe(2)
    expect(r.traps.claude_partial_output).toBe(2)
  })

  it('subagent files count for the parent session and name the agent (#313)', async () => {
    const r = await importTranscripts(startCursors(files()))
    const s1 = r.calls.find((c) => c.response_id === 'msg_S1')!
    expect(s1).toMatchObject({ session_id: ids.claudeSessionA, agent: ids.claudeAgent })
    expect(r.traps.claude_subagent_calls).toBe(1)
  })

  it('1-hour cache writes are kept apart from 5-minute ones (#899)', async () => {
    const r = await importTranscripts(startCursors(files()))
    expect(r.calls.find((c) => c.response_id === 'msg_A2')!.usage).toMatchObject({ cache_write_5m: 0, cache_write_1h: 500 })
    expect(r.calls.find((c) => c.response_id === 'msg_B1')!.usage).toMatchObject({ cache_write_5m: 400, cache_write_1h: 600 })
    expect(r.traps.claude_cache_1h_calls).toBe(2)
  })

  it('Codex: deltas of the cumulative totals, re-emits skipped, cached and reasoning not counted twice (#884, #1288)', async () => {
    const r = await importTranscripts(startCursors(files()))
    const c = r.calls.filter((x) => x.session_id === ids.codexSessionC).sort((x, y) => x.started_at.localeCompare(y.started_at))
    expect(c.map((x) => x.usage)).toEqual([
      { input: 800, cache_read: 200, cache_write_5m: 0, cache_write_1h: 0, output: 100, reasoning: 40 },
      { input: 500, cache_read: 1000, cache_write_5m: 0, cache_write_1h: 0, output: 150, reasoning: 60 },
      { input: 200, cache_read: 300, cache_write_5m: 0, cache_write_1h: 0, output: 50, reasoning: 0 },
    ])
    expect(c.map((x) => x.key)).toEqual([`codex-rollout:${ids.codexSessionC}:1100`, `codex-rollout:${ids.codexSessionC}:2750`, `codex-rollout:${ids.codexSessionC}:3300`])
    expect(c[1]!.tool_calls.map((x) => x.call_id)).toEqual(['call_C1'])
    expect(r.traps.codex_reemits).toBe(3)
  })

  it('Codex forks and subagents: the replayed parent history is skipped (#1349)', async () => {
    const r = await importTranscripts(startCursors(files()))
    expect(r.calls.filter((x) => x.session_id === ids.codexForkD).map((x) => [x.agent, x.usage!.input, x.usage!.cache_read, x.usage!.output])).toEqual([['fork', 500, 500, 100]])
    expect(r.calls.filter((x) => x.session_id === ids.codexSubagentE).map((x) => [x.agent, x.usage!.input, x.usage!.cache_read, x.usage!.output])).toEqual([['explorer', 500, 100, 60]])
    expect(r.traps.codex_replayed).toBe(4)
  })

  it('keeps compactions with their token figures and Codex rate limits as ledger fields', async () => {
    const r = await importTranscripts(startCursors(files()))
    expect(r.compactions.sort((a, b) => a.at.localeCompare(b.at))).toEqual([
      { key: `claude-transcript:${ids.claudeSessionA}:u-a6`, source: 'claude-transcript', session_id: ids.claudeSessionA, at: '2026-11-20T23:50:00.000Z', trigger: 'auto', pre_tokens: 150000 },
      { key: `codex-rollout:${ids.codexSessionC}:11`, source: 'codex-rollout', session_id: ids.codexSessionC, at: '2026-11-20T11:30:00.000Z', pre_tokens: 1500 },
    ].sort((a, b) => a.at.localeCompare(b.at)))
    const first = r.calls.find((x) => x.key === `codex-rollout:${ids.codexSessionC}:1100`)!
    expect(first.rate_limits).toEqual({
      'x-codex-primary-used-percent': '13', 'x-codex-primary-window-minutes': '300', 'x-codex-primary-reset-at': '1795000000',
      'x-codex-secondary-used-percent': '40', 'x-codex-secondary-window-minutes': '10080', 'x-codex-secondary-reset-at': '1795400000',
    })
  })

  it('gives the same calls for any read chunking', () => {
    const whole = importFiles(startCursors(files()))
    for (const chunk of [7, 61, 4096]) {
      const r = importFiles(startCursors(files()), { chunkBytes: chunk })
      expect(r.calls).toEqual(whole.calls)
    }
  })
})

describe('options', () => {
  it('throws on a malformed option (API misuse), naming it', async () => {
    await expect(importTranscripts([], { threads: 0 })).rejects.toMatchObject({ name: 'TranscriptError', code: 'INVALID_OPTION', message: expect.stringContaining('threads') })
  })
})

describe('incremental and idempotent', () => {
  it('reads only appended bytes; a call split across two reads merges to the same call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'transcripts-inc-'))
    try {
      const d = writeTrapTree(dir)
      const path = join(d.claudeDir, 'projects', ids.project, `${ids.claudeSessionA}.jsonl`)
      const text = readFileSync(path, 'utf8')
      const lines = text.split('\n')
      // Only the first two blocks of msg_A1 are on disk yet.
      writeFileSync(path, lines.slice(0, 3).join('\n') + '\n')
      const f1 = findTranscripts({ claude: [d.claudeDir], codex: [] })
      const r1 = importFiles(startCursors(f1))
      expect(r1.calls.find((c) => c.response_id === 'msg_A1')!.usage!.output).toBe(10)
      appendFileSync(path, lines.slice(3).join('\n'))
      const f2 = findTranscripts({ claude: [d.claudeDir], codex: [] })
      const r2 = importFiles(r1.cursors.map((c) => ({ ...c, file: f2.find((f) => f.path === c.file.path)! })))
      expect(r2.bytes).toBe(Buffer.byteLength(lines.slice(3).join('\n')))
      const merged = new Map<string, ModelCall>()
      for (const c of [...r1.calls, ...r2.calls]) merged.set(c.key, merged.has(c.key) ? mergeCall(merged.get(c.key)!, c) : c)
      const full = importFiles(startCursors(f2))
      expect([...merged.values()].sort((a, b) => a.key.localeCompare(b.key))).toEqual(full.calls.sort((a, b) => a.key.localeCompare(b.key)))
      // Importing the same content again changes nothing.
      const again = new Map(merged)
      for (const c of full.calls) again.set(c.key, mergeCall(again.get(c.key)!, c))
      expect([...again.values()]).toEqual([...merged.values()])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('Codex: a rollout read in two parts gives the same deltas (the cursor keeps the totals)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'transcripts-inc-'))
    try {
      const d = writeTrapTree(dir)
      const f = findTranscripts({ claude: [], codex: [d.codexDir] }).filter((x) => x.path.includes(ids.codexSessionC))
      const text = readFileSync(f[0]!.path, 'utf8').split('\n')
      writeFileSync(f[0]!.path, text.slice(0, 6).join('\n') + '\n')
      const r1 = importFiles(startCursors(findTranscripts({ claude: [], codex: [d.codexDir] }).filter((x) => x.path.includes(ids.codexSessionC))))
      appendFileSync(f[0]!.path, text.slice(6).join('\n'))
      const f2 = findTranscripts({ claude: [], codex: [d.codexDir] }).filter((x) => x.path.includes(ids.codexSessionC))
      const r2 = importFiles(r1.cursors.map((c) => ({ ...c, file: f2[0]! })))
      expect([...r1.calls, ...r2.calls].map((c) => [c.key, c.usage!.input, c.usage!.output])).toEqual([
        [`codex-rollout:${ids.codexSessionC}:1100`, 800, 100],
        [`codex-rollout:${ids.codexSessionC}:2750`, 500, 150],
        [`codex-rollout:${ids.codexSessionC}:3300`, 200, 50],
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reports a malformed line with file, line and offset and keeps the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'transcripts-bad-'))
    try {
      const d = writeTrapTree(dir)
      const path = join(d.claudeDir, 'projects', ids.project, `${ids.claudeSessionB}.jsonl`)
      const before = readFileSync(path).length
      appendFileSync(path, '{"type":"assistant","message":{"usage":{"input_tokens":1,\n')
      const r = importFiles(startCursors(findTranscripts({ claude: [d.claudeDir], codex: [] })))
      expect(r.problems).toEqual([expect.objectContaining({ code: 'MALFORMED_LINE', file: path, line: 3, offset: before })])
      expect(r.calls).toHaveLength(5)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the usage-only read', () => {
  const facts = (calls: ModelCall[]) =>
    Object.fromEntries(calls.map((c) => [c.key, { session_id: c.session_id, agent: c.agent, model: c.model, started_at: c.started_at, ended_at: c.ended_at, usage: c.usage, stop_reason: c.stop_reason, source: c.source }]))

  it('gives the same calls and usage as the full read, parsing fewer lines, on the trap tree and a generated tree', async () => {
    const bulkRoot = mkdtempSync(join(tmpdir(), 'transcripts-usage-only-'))
    try {
      const bulk = writeBulkTree(bulkRoot, { bytes: 2e6, seed: 5 })
      for (const d of [{ claude: [dirs.claudeDir], codex: [dirs.codexDir] }, { claude: [bulk.claudeDir], codex: [bulk.codexDir] }]) {
        const full = await importTranscripts(startCursors(findTranscripts(d)), { threads: 1 })
        const lean = await importTranscripts(startCursors(findTranscripts(d)), { threads: 1, usageOnly: true })
        expect(lean.problems).toEqual(full.problems)
        expect(facts(lean.calls)).toEqual(facts(full.calls))
        expect(lean.calls.length).toBeGreaterThan(5)
        expect(lean.calls.every((c) => c.text === '' && c.reasoning === '' && c.tool_calls.length === 0 && c.prompt === undefined)).toBe(true)
        expect(lean.parsed).toBeLessThan(full.parsed)
        expect(lean.cursors.map((c) => [c.file.path, c.offset, c.line])).toEqual(full.cursors.map((c) => [c.file.path, c.offset, c.line]))
      }
    } finally {
      rmSync(bulkRoot, { recursive: true, force: true })
    }
  })
})
