/**
 * The cache, context and quota modes over the planted-break corpus (test-support/cache-corpus.ts)
 * written as a capture and indexed with the real ledger: the index answers what the analysis of
 * the ledger's calls answers — every planted break with its cause, offset and wasted dollars.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCorpus, type Corpus } from '../../../test-support/cache-corpus.js'
import { createExtractor, type Extractor } from '../src/index.js'
import { LEDGER_VERSION } from '@agenttap/ledger'
import { INSIGHT_COLUMNS, insightRow, updateCacheBreaks } from '../src/cache-modes.js'
import { openDuck } from '../src/duck.js'
import { ensureSchema } from '../src/index-store.js'
import { updateIndex } from '../src/indexer.js'
import { findCaptureFiles } from '../src/sources.js'
import type { Row } from '../src/types.js'

let root: string
let x: Extractor
let corpus: Corpus

beforeAll(async () => {
  corpus = buildCorpus()
  root = mkdtempSync(join(tmpdir(), 'extractors-cache-'))
  const dir = join(root, 'all-mitm-sse')
  mkdirSync(dir)
  const lines = (type: string[]) => corpus.records.filter((r) => type.includes(String(r['type']))).map((r) => JSON.stringify(r)).join('\n') + '\n'
  writeFileSync(join(dir, 'sse_flows.jsonl'), lines(['flow']))
  writeFileSync(join(dir, 'sse_lines.jsonl'), lines(['sse']))
  writeFileSync(join(dir, 'sse_flow_ends.jsonl'), lines(['flow_end']))
  x = await createExtractor({ logDir: root, threads: 1 })
})
afterAll(() => {
  x?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('cache modes on the index', () => {
  it('cache: exactly the planted breaks, with cause, change, offset and wasted dollars', async () => {
    const { rows } = await x.run('cache')
    const got = rows.map((r) => [r.flow_id, r.cause, r.change ?? undefined, r.offset, r.wasted_usd]).sort()
    const want = corpus.truths.map((t) => [t.flow_id, t.cause, t.change, t.offset, t.wasted_usd]).sort()
    expect(got).toEqual(want)
    const tool = rows.find((r) => r.flow_id === 'tool-added-3')
    expect(tool).toMatchObject({ segment: 'tool mcp__github__create_issue', detail: 'tools: added mcp__github__create_issue', prev_flow_id: 'tool-added-2', call: 0 })
  })

  it('cache with a session filter and -n', async () => {
    expect((await x.run('cache', { session: 'sess-reminder' })).rows.map((r) => r.flow_id)).toEqual(['reminder-3'])
    const last = (await x.run('cache', { limit: 2 })).rows
    expect(last).toHaveLength(2)
  })

  it('context: main lanes only, ratio of a 200k window, the compaction found', async () => {
    const { rows } = await x.run('context')
    expect(rows.every((r) => !String(r.flow_id).startsWith('agent-'))).toBe(true)
    expect(rows.find((r) => r.flow_id === 'compaction-5')?.compaction).toBe('summary')
    // Compacted twice: the second summary replaced the first (the context did not halve).
    expect(rows.filter((r) => String(r.flow_id).startsWith('recompaction-') && r.compaction !== null).map((r) => [r.flow_id, r.compaction])).toEqual([['recompaction-3', 'summary'], ['recompaction-7', 'summary']])
    const steady = rows.find((r) => r.flow_id === 'steady-0')!
    expect(steady.window).toBe(200_000)
    expect(steady.ratio).toBe(Math.round((Number(steady.context_tokens) / 200_000) * 1e4) / 1e4)
  })

  it('quota: interleaved sessions share the account window; per-session shares sum to the observed change', async () => {
    const { rows } = await x.run('quota')
    const anth = rows.filter((r) => String(r.account).startsWith('anthropic'))
    expect(anth.length).toBeGreaterThan(100)
    const last = new Map<string, number>()
    for (const r of anth) last.set(String(r.session_id), Number(r.session_used))
    const sum = [...last.values()].reduce((a, b) => a + b, 0)
    const observed = anth.reduce((a, r) => a + Number(r.delta), 0)
    expect(sum).toBeCloseTo(observed, 6)
    // No window reset in this corpus: the observed change is the last reading minus the first.
    expect(anth.some((r) => r.reset_seen)).toBe(false)
    expect(observed).toBeCloseTo(Number(anth[anth.length - 1]!.used) - Number(anth[0]!.used), 6)
    expect(new Set(anth.map((r) => r.session_id)).size).toBeGreaterThan(10)
  })
})

describe('cache --explain', () => {
  it('a reminder change: the break line, then the changed run with context', async () => {
    const { row, lines } = await x.explainCache('reminder-3')
    expect(row).toMatchObject({ cause: 'message_changed', change: 'reminder' })
    expect(lines[0]).toMatch(/^reminder-3 ← reminder-2: message_changed \(reminder\) — message 0 \(user\): a system reminder was injected or changed; \d+ tokens rewritten, \$0\.\d+$/)
    expect(lines[1]).toMatch(/^@@ message 0 \(user\) at byte \d+ \(segment at \d+, \+\d+ chars\)$/)
    expect(lines[2]).toContain('The todo list [is empty].')
    expect(lines[3]).toContain('The todo list [has 2 items].')
    expect(Number(/segment at (\d+)/.exec(lines[1]!)![1])).toBe(row!.offset)
  })

  it('a tool added; a flow that is no break; an unknown flow', async () => {
    const { lines } = await x.explainCache('tool-added-3')
    expect(lines).toContain('+ tool mcp__github__create_issue')
    expect((await x.explainCache('ttl-5m-3')).lines[1]).toMatch(/^prefix intact: the \d+ bytes ttl-5m-2 cached were sent again unchanged; nothing diverged$/)
    expect((await x.explainCache('steady-3')).lines).toEqual(['flow steady-3 is no cache break: it read what its lane had cached'])
    expect((await x.explainCache('nope')).lines).toEqual(['no model call of flow nope in the index'])
  })
})

describe('cache breaks of an index updated in steps', () => {
  it('are the breaks of the index built at once (each update analyzes the calls it wrote, in its commit)', async () => {
    const stepped = mkdtempSync(join(tmpdir(), 'extractors-cache-steps-'))
    try {
      const dir = join(stepped, 'all-mitm-sse')
      mkdirSync(dir)
      const files = { flow: 'sse_flows.jsonl', sse: 'sse_lines.jsonl', flow_end: 'sse_flow_ends.jsonl' } as Record<string, string>
      for (const f of Object.values(files)) writeFileSync(join(dir, f), '')
      // The corpus's flows in four parts, each appended whole (its flow, lines and end), then an update.
      const flows = [...new Set(corpus.records.map((r) => String(r['flow_id'])))]
      const parts = 4
      let updates = 0
      for (let p = 0; p < parts; p++) {
        const mine = new Set(flows.slice(Math.floor((p * flows.length) / parts), Math.floor(((p + 1) * flows.length) / parts)))
        for (const [type, f] of Object.entries(files)) {
          const text = corpus.records.filter((r) => r['type'] === type && mine.has(String(r['flow_id']))).map((r) => JSON.stringify(r) + '\n').join('')
          appendFileSync(join(dir, f), text)
        }
        const u = await createExtractor({ logDir: stepped, threads: 1 })
        try {
          if ((await u.refresh()).records > 0) updates++
        } finally {
          u.close()
        }
      }
      expect(updates).toBe(parts)
      const again = await createExtractor({ logDir: stepped, threads: 1 })
      try {
        const key = (r: Record<string, unknown>): string => `${String(r.flow_id)}:${String(r.call)}`
        const want = (await x.run('cache')).rows.sort((a, b) => key(a).localeCompare(key(b)))
        const got = (await again.run('cache')).rows.sort((a, b) => key(a).localeCompare(key(b)))
        expect(want.length).toBeGreaterThan(5)
        expect(got).toEqual(want)
      } finally {
        again.close()
      }
    } finally {
      rmSync(stepped, { recursive: true, force: true })
    }
  })
})

describe('cache breaks of a build on worker threads', () => {
  it('are the breaks of the build on one thread (the shards hand their calls back; none read from DuckDB)', async () => {
    const sharded = mkdtempSync(join(tmpdir(), 'extractors-cache-shards-'))
    try {
      const dir = join(sharded, 'all-mitm-sse')
      mkdirSync(dir)
      const lines = (type: string) => corpus.records.filter((r) => r['type'] === type).map((r) => JSON.stringify(r) + '\n').join('')
      writeFileSync(join(dir, 'sse_flows.jsonl'), lines('flow'))
      writeFileSync(join(dir, 'sse_lines.jsonl'), lines('sse'))
      writeFileSync(join(dir, 'sse_flow_ends.jsonl'), lines('flow_end'))
      const y = await createExtractor({ logDir: sharded, threads: 2, workerMinBytes: 0 })
      try {
        expect((await y.refresh()).shards).toBe(2)
        const key = (r: Record<string, unknown>): string => `${String(r.flow_id)}:${String(r.call)}`
        const want = (await x.run('cache')).rows.sort((a, b) => key(a).localeCompare(key(b)))
        const got = (await y.run('cache')).rows.sort((a, b) => key(a).localeCompare(key(b)))
        expect(want.length).toBeGreaterThan(5)
        expect(got).toEqual(want)
      } finally {
        y.close()
      }
    } finally {
      rmSync(sharded, { recursive: true, force: true })
    }
  })
})

describe('updateCacheBreaks with the calls an update hands over', () => {
  it('the rows an update hands over are the rows DuckDB gives back; the breaks are the same with every call, some or none', async () => {
    const own = mkdtempSync(join(tmpdir(), 'extractors-cache-known-'))
    try {
      const dir = join(own, 'all-mitm-sse')
      mkdirSync(dir)
      const lines = (type: string) => corpus.records.filter((r) => r['type'] === type).map((r) => JSON.stringify(r) + '\n').join('')
      writeFileSync(join(dir, 'sse_flows.jsonl'), lines('flow'))
      writeFileSync(join(dir, 'sse_lines.jsonl'), lines('sse'))
      writeFileSync(join(dir, 'sse_flow_ends.jsonl'), lines('flow_end'))
      mkdirSync(join(own, 'stage'))
      const d = await openDuck(':memory:')
      try {
        await ensureSchema(d, LEDGER_VERSION)
        const u = await updateIndex(d, { captureDir: dir, files: findCaptureFiles(own), ledgerVersion: LEDGER_VERSION, ledgerBuild: 'test', stageDir: join(own, 'stage'), threads: 1 })
        const handed = u.insight!
        expect(handed.size).toBeGreaterThan(10)
        // Every call with usage, each exactly as the select of the analysis reads it from DuckDB.
        const stored = new Map((await d.select(`select ${INSIGHT_COLUMNS}, segments from calls where has_usage`)).rows.map((r) => [String(r.key), r]))
        expect(new Map([...handed].sort())).toEqual(new Map([...stored].sort()))
        const some = new Map([...handed].filter((_, i) => i % 2 === 0))
        const breaks = async (known?: ReadonlyMap<string, Row>): Promise<unknown[]> => {
          await d.run('drop table if exists cache_breaks; drop table if exists cache_done')
          const n = await updateCacheBreaks(d, undefined, known)
          const rows = (await d.select('select * from cache_breaks order by key')).rows
          expect(rows).toHaveLength(n)
          return rows
        }
        const want = await breaks()
        expect(want.length).toBeGreaterThan(5)
        expect(await breaks(handed)).toEqual(want)
        expect(await breaks(some)).toEqual(want)
        expect(await breaks(new Map())).toEqual(want)
      } finally {
        d.close()
      }
    } finally {
      rmSync(own, { recursive: true, force: true })
    }
  })

  it('insightRow leaves to DuckDB what might not come back the same', () => {
    const row = { key: 'f#0', flow_id: 'f', idx: 0, session_id: 's', agent: null, client: 'claude-code', provider: 'anthropic', api: 'anthropic-messages', kind: 'model', model: 'm', req_model: 'm', started_at: 't', ended_at: 't', has_usage: true, input_tokens: 1, cache_read_tokens: 2, cache_write_5m_tokens: 3, cache_write_1h_tokens: 0, output_tokens: 4, prompt_cache_key: null, message_count: 2, rate_limits: null, segments: '[]', prompt: 'not read' }
    expect(insightRow(row)).toEqual({ ...row, prompt: undefined })
    expect(insightRow(row)).not.toHaveProperty('prompt')
    expect(insightRow({ ...row, input_tokens: 1.5 })).toBeUndefined()
    expect(insightRow({ ...row, output_tokens: Number.NaN })).toBeUndefined()
    expect(insightRow({ ...row, model: 'a\uD800b' })).toBeUndefined()
    expect(insightRow({ ...row, segments: 7 })).toBeUndefined()
    expect(insightRow({ ...row, agent: undefined })).toMatchObject({ agent: null })
  })
})
