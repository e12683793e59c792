import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { appendSession, TRAP_IDS, writeBulkTree } from '@agenttap/transcripts/generate'
import { createExtractor, createTranscriptExtractor, toNdjson, USAGE_SUMMARY_FILE } from '../src/index.js'
import type { ExtractorOptions, ModeName, Row, RunOptions } from '../src/index.js'
import { usageTwiceAtOnce, useTrapTree } from './support/trap-tree.js'

// The usage summary (transcript-usage.ts) against the DuckDB index: `daily`, `usage` and `cost`
// over transcripts, the exact same rows (cost compared exactly: both round each call to 8
// decimals and the daily sum again) on the trap tree and a generated tree, from nothing and
// after appends, a new session, a file rewritten in place and a damaged summary.
const tree = useTrapTree('extract-usage-summary-')
const opts = tree.opts
const MODES_OF_SUMMARY: ModeName[] = ['daily', 'usage', 'cost']

/** The rows of the summary and of a fresh DuckDB index, for every summary mode and some filters. */
async function both(extra: Partial<ExtractorOptions> = {}, runs: RunOptions[] = [{}]): Promise<{ summary: Row[][]; index: Row[][]; rebuilt: string | undefined }> {
  const s = await createTranscriptExtractor(opts(extra))
  const summary: Row[][] = []
  const index: Row[][] = []
  let rebuilt: string | undefined
  try {
    for (const run of runs) for (const m of MODES_OF_SUMMARY) summary.push((await s.run(m, run)).rows)
    rebuilt = s.lastUpdate?.rebuilt
  } finally {
    s.close()
  }
  // The summary answers without DuckDB: no index file next to it.
  expect(existsSync(join(tree.dir, 'summary-idx', 'index.duckdb'))).toBe(false)
  rmSync(join(tree.dir, 'duck-idx'), { recursive: true, force: true })
  const d = await createExtractor(opts({ ...extra, indexDir: join(tree.dir, 'duck-idx') }))
  try {
    for (const run of runs) for (const m of MODES_OF_SUMMARY) index.push((await d.run(m, run)).rows)
  } finally {
    d.close()
  }
  return { summary, index, rebuilt }
}

const FILTERS: RunOptions[] = [{}, { since: '2026-11-21' }, { until: '2026-11-20T11:00:06Z' }, { session: TRAP_IDS.claudeSessionA }, { client: 'codex' }]

describe('the usage summary', () => {
  it('answers daily, usage and cost with the rows of the index on the trap tree, filters included', async () => {
    const { summary, index } = await both({}, FILTERS)
    expect(summary).toEqual(index)
    expect(summary[0]!.length).toBe(6)
    expect(summary[1]!.length).toBe(10)
    // The JSON of the rows is the same too.
    expect(summary.map((r, i) => toNdjson(Object.keys(index[i]![0] ?? {}), r))).toEqual(index.map((r) => toNdjson(Object.keys(r[0] ?? {}), r)))
  })

  it('equals the index on a generated tree read by two worker threads', async () => {
    rmSync(join(tree.dir, 'tree'), { recursive: true, force: true })
    tree.dirs = writeBulkTree(join(tree.dir, 'tree'), { bytes: 3e6, seed: 11 })
    const { summary, index } = await both({ threads: 2, workerMinBytes: 1 })
    expect(summary[1]!.length).toBeGreaterThan(200)
    expect(summary).toEqual(index)
  })

  it('tells how its read goes (onProgress), as the DuckDB index of transcripts does, then that one\'s commit', async () => {
    rmSync(join(tree.dir, 'tree'), { recursive: true, force: true })
    tree.dirs = writeBulkTree(join(tree.dir, 'tree'), { bytes: 3e6, seed: 12 })
    for (const duck of [false, true]) {
      const seen: { phase: string; of: string; bytes: number; total: number }[] = []
      const o = opts({ threads: 2, workerMinBytes: 1, onProgress: (p) => seen.push({ ...p }), ...(duck ? { indexDir: join(tree.dir, 'duck-idx') } : {}) })
      const x = duck ? await createExtractor(o) : await createTranscriptExtractor(o)
      try {
        expect((await x.run(duck ? 'turns' : 'usage')).rows.length).toBeGreaterThan(100)
      } finally {
        x.close()
      }
      const reads = seen.filter((p) => p.phase === 'read')
      expect(reads.length, duck ? 'index' : 'summary').toBeGreaterThanOrEqual(3)
      expect(reads.some((p) => p.bytes > 0 && p.bytes < p.total)).toBe(true)
      expect(reads.at(-1)!.bytes).toBe(reads.at(-1)!.total)
      expect(seen.every((p) => p.of === 'transcripts')).toBe(true)
      expect(seen.filter((p) => p.phase === 'commit')).toHaveLength(duck ? 1 : 0)
    }
  })

  it('is incremental: half a call, then the rest, then a new session', async () => {
    const a = join(tree.dirs.claudeDir, 'projects', TRAP_IDS.project, `${TRAP_IDS.claudeSessionA}.jsonl`)
    const lines = readFileSync(a, 'utf8').split('\n')
    // Only the first two (partial) blocks of msg_A1 are written yet.
    writeFileSync(a, lines.slice(0, 3).join('\n') + '\n')
    let r = await both()
    expect(r.summary).toEqual(r.index)
    expect(r.summary[1]!.find((x) => x.flow_id === 'claude-transcript:msg_A1:req_A1')!.output_tokens).toBe(10)
    const rest = lines.slice(3).join('\n')
    appendFileSync(a, rest)
    const x = await createTranscriptExtractor(opts())
    try {
      await x.run('daily')
      expect(x.lastUpdate!.bytes).toBe(Buffer.byteLength(rest))
      expect(x.lastUpdate!.rebuilt).toBeUndefined()
    } finally {
      x.close()
    }
    r = await both()
    expect(r.summary).toEqual(r.index)
    expect(r.summary[1]!.find((x) => x.flow_id === 'claude-transcript:msg_A1:req_A1')!.output_tokens).toBe(120)
    appendSession(tree.dirs.claudeDir, 99, '2026-11-22T08:00:00.000Z')
    r = await both()
    expect(r.summary).toEqual(r.index)
    expect(r.summary[0]!.some((x) => x.date === '2026-11-22')).toBe(true)
    // Nothing new: nothing read.
    const y = await createTranscriptExtractor(opts())
    try {
      await y.run('daily')
      expect(y.lastUpdate!.bytes).toBe(0)
    } finally {
      y.close()
    }
  })

  it('reads a file rewritten in place (same inode) again', async () => {
    await both()
    const b = join(tree.dirs.claudeDir, 'projects', TRAP_IDS.project, `${TRAP_IDS.claudeSessionB}.jsonl`)
    writeFileSync(b, readFileSync(b, 'utf8').replace('"output_tokens":300', '"output_tokens":301'))
    const r = await both()
    expect(r.rebuilt).toMatch(/rewritten/)
    expect(r.summary).toEqual(r.index)
    expect(r.summary[0]!.find((x) => x.date === '2026-11-21' && String(x.model).startsWith('claude-sonnet'))!.output_tokens).toBe(301)
  })

  it('rebuilds a damaged summary and says why', async () => {
    await both()
    const path = join(tree.dir, 'summary-idx', USAGE_SUMMARY_FILE)
    const good = readFileSync(path)
    writeFileSync(path, good.subarray(0, good.length - 10))
    let r = await both()
    expect(r.rebuilt).toMatch(/could not be read \(truncated/)
    expect(r.summary).toEqual(r.index)
    writeFileSync(path, 'not a summary')
    r = await both()
    expect(r.rebuilt).toMatch(/could not be read \(not a usage summary/)
    expect(r.summary).toEqual(r.index)
    // Deleting it is safe: built again, no note.
    rmSync(path)
    r = await both()
    expect(r.rebuilt).toBeUndefined()
    expect(r.summary).toEqual(r.index)
  })

  it('leaves the other modes to the index, built when first needed', async () => {
    const x = await createTranscriptExtractor(opts())
    try {
      expect((await x.run('daily')).rows).toHaveLength(6)
      expect(existsSync(join(tree.dir, 'summary-idx', 'index.duckdb'))).toBe(false)
      expect((await x.run('tool_calls')).rows.map((r) => r.call_id).sort()).toEqual(['call_C1', 'toolu_A1'])
      expect(existsSync(join(tree.dir, 'summary-idx', 'index.duckdb'))).toBe(true)
      // -n N (the latest rows) is the index's too.
      expect((await x.run('usage', { limit: 2 })).rows).toHaveLength(2)
    } finally {
      x.close()
    }
  })

  it('two runs at once leave a whole summary', async () => {
    await usageTwiceAtOnce(opts())
    const r = await both()
    expect(r.rebuilt).toBeUndefined()
    expect(r.summary).toEqual(r.index)
  })
})
