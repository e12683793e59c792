import { appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { appendSession, TRAP_IDS } from '@agenttap/transcripts/generate'
import { BUNDLED_PRICES, createExtractor, createTranscriptExtractor, MODES, toNdjson, USAGE_SUMMARY_FILE } from '../src/index.js'
import type { ModeName, Row, RunOptions } from '../src/index.js'
import { usageTwiceAtOnce, useTrapTree } from './support/trap-tree.js'
import { encodeCalls, inUsageOrder, partCall, storedColumns } from '../src/transcript-usage-cols.js'
import type { UsageCall } from '../src/transcript-usage-cols.js'
import { DailySums } from '../src/transcript-usage-daily.js'
import { summaryNdjsonBytes, summaryRows } from '../src/transcript-usage-rows.js'
import { UsageTable } from '../src/transcript-usage-table.js'
import { bytesHash, keyHash } from '../src/transcript-usage-hash.js'
import { mergeUsageCall, updateUsageSummary } from '../src/transcript-usage.js'
import { TRANSCRIPT_USAGE_MODES, transcriptUsageNdjson } from '../src/transcript-usage-entry.js'
import { ledgerBuild } from '../src/ledger-module.js'

// The usage summary's file (a base block and the segments appended since) and its NDJSON writer:
// appends, compaction, a torn append, a call merged across segments, and the bytes written from
// the columns against toNdjson of the rows, on the trap tree and on hand-made nasty calls.
const tree = useTrapTree('extract-usage-file-')
const opts = tree.opts
const SUMMARY: ModeName[] = ['daily', 'usage', 'cost']
const file = (): string => join(tree.dir, 'summary-idx', USAGE_SUMMARY_FILE)

async function summaryRowsOf(runs: RunOptions[] = [{}]): Promise<{ rows: Row[][]; rebuilt: string | undefined; bytes: number }> {
  const s = await createTranscriptExtractor(opts())
  try {
    const rows: Row[][] = []
    for (const run of runs) for (const m of SUMMARY) rows.push((await s.run(m, run)).rows)
    return { rows, rebuilt: s.lastUpdate?.rebuilt, bytes: s.lastUpdate?.bytes ?? 0 }
  } finally {
    s.close()
  }
}

async function indexRows(runs: RunOptions[] = [{}]): Promise<Row[][]> {
  rmSync(join(tree.dir, 'duck-idx'), { recursive: true, force: true })
  const d = await createExtractor(opts({ indexDir: join(tree.dir, 'duck-idx') }))
  try {
    const rows: Row[][] = []
    for (const run of runs) for (const m of SUMMARY) rows.push((await d.run(m, run)).rows)
    return rows
  } finally {
    d.close()
  }
}

const sessionA = (): string => join(tree.dirs.claudeDir, 'projects', TRAP_IDS.project, `${TRAP_IDS.claudeSessionA}.jsonl`)

describe('the usage summary file', () => {
  it('appends a segment per update (the base untouched), merges a call across segments, and compacts', async () => {
    const lines = readFileSync(sessionA(), 'utf8').split('\n')
    writeFileSync(sessionA(), lines.slice(0, 3).join('\n') + '\n')
    await summaryRowsOf()
    const base = readFileSync(file())
    // The rest of msg_A1 (a merge with the call in the base), then a new session: two segments.
    appendFileSync(sessionA(), lines.slice(3).join('\n'))
    let r = await summaryRowsOf()
    expect(r.rebuilt).toBeUndefined()
    const one = readFileSync(file())
    expect(one.length).toBeGreaterThan(base.length)
    expect(one.subarray(0, base.length).equals(base)).toBe(true)
    appendSession(tree.dirs.claudeDir, 99, '2026-11-22T08:00:00.000Z')
    r = await summaryRowsOf()
    const two = readFileSync(file())
    expect(two.subarray(0, one.length).equals(one)).toBe(true)
    expect(r.rows).toEqual(await indexRows())
    expect(r.rows[1]!.find((x) => x.flow_id === 'claude-transcript:msg_A1:req_A1')!.output_tokens).toBe(120)
    // Read back from base + segments: the same rows, nothing read.
    const again = await summaryRowsOf([{}, { since: '2026-11-21' }, { session: TRAP_IDS.claudeSessionA }])
    expect(again.bytes).toBe(0)
    expect(again.rows).toEqual(await indexRows([{}, { since: '2026-11-21' }, { session: TRAP_IDS.claudeSessionA }]))
    // Many small updates: the file is written whole again now and then, never growing without end.
    for (let i = 0; i < 26; i++) {
      appendSession(tree.dirs.claudeDir, 200 + i, `2026-11-23T0${i % 10}:00:00.000Z`)
      await summaryRowsOf()
    }
    const after = readFileSync(file())
    expect(after.subarray(0, base.length).equals(base)).toBe(false)
    r = await summaryRowsOf()
    expect(r.rows).toEqual(await indexRows())
  })

  it('reads again what a torn append held, and writes the file whole', async () => {
    await summaryRowsOf()
    const base = statSync(file()).size
    appendSession(tree.dirs.claudeDir, 99, '2026-11-22T08:00:00.000Z')
    await summaryRowsOf()
    const whole = statSync(file()).size
    expect(whole).toBeGreaterThan(base)
    // A crash in the middle of the append: part of the segment is on disk.
    truncateSync(file(), base + Math.floor((whole - base) / 2))
    const r = await summaryRowsOf()
    expect(r.rebuilt).toBeUndefined()
    expect(r.bytes).toBeGreaterThan(0)
    expect(r.rows).toEqual(await indexRows())
    expect(r.rows[0]!.some((x) => x.date === '2026-11-22')).toBe(true)
    // Written whole: read back without a torn tail, nothing to read again.
    const next = await summaryRowsOf()
    expect(next.bytes).toBe(0)
    expect(next.rows).toEqual(r.rows)
  })

  it('parses a file cursor only when its file is read; a damaged one reads its file again from its start', async () => {
    await summaryRowsOf()
    const buf = readFileSync(file())
    const header = JSON.parse(buf.toString('utf8', 8, 8 + buf.readUInt32LE(4))) as { files: { paths: string[]; at: number[] } }
    const i = header.files.paths.indexOf(sessionA())
    expect(i).toBeGreaterThanOrEqual(0)
    // The cursor's JSON in the base block's extra bytes, overwritten with bytes that parse as nothing.
    const at = buf.indexOf(Buffer.from(`{"kind":"claude","path":${JSON.stringify(sessionA())}`))
    expect(at).toBeGreaterThan(0)
    buf.fill(0x78, at, at + header.files.at[i + 1]! - header.files.at[i]!)
    writeFileSync(file(), buf)
    // Nothing changed: no cursor is parsed, nothing read, the answer as before.
    let r = await summaryRowsOf()
    expect(r.rebuilt).toBeUndefined()
    expect(r.bytes).toBe(0)
    expect(r.rows).toEqual(await indexRows())
    // The file grew: its cursor is needed, cannot be read, and the whole file is read again (its calls merge with themselves).
    const size = statSync(sessionA()).size
    appendFileSync(sessionA(), readFileSync(sessionA(), 'utf8').split('\n')[0] + '\n')
    r = await summaryRowsOf()
    expect(r.rebuilt).toBeUndefined()
    expect(r.bytes).toBeGreaterThan(size)
    expect(r.rows).toEqual(await indexRows())
  })

  it('two updates at once each append, and the summary reads back whole', async () => {
    await summaryRowsOf()
    const base = statSync(file()).size
    appendSession(tree.dirs.claudeDir, 99, '2026-11-22T08:00:00.000Z')
    await usageTwiceAtOnce(opts())
    expect(statSync(file()).size).toBeGreaterThan(base)
    const r = await summaryRowsOf()
    expect(r.rebuilt).toBeUndefined()
    expect(r.bytes).toBe(0)
    expect(r.rows).toEqual(await indexRows())
  })

  it('rebuilds a summary of the previous layout', async () => {
    await summaryRowsOf()
    const good = readFileSync(file())
    writeFileSync(file(), Buffer.concat([Buffer.from('ATU1'), good.subarray(4)]))
    const r = await summaryRowsOf()
    expect(r.rebuilt).toMatch(/version 1/)
    expect(r.rows).toEqual(await indexRows())
  })

  it('writes usage and cost NDJSON byte for byte as toNdjson of the rows, to a file and as lines', async () => {
    appendSession(tree.dirs.claudeDir, 99, '2026-11-22T08:00:00.000Z')
    const runs: RunOptions[] = [{}, { since: '2026-11-21' }, { until: '2026-11-20T11:00:06Z' }, { session: TRAP_IDS.claudeSessionA }, { client: 'codex' }]
    const x = await createTranscriptExtractor(opts())
    try {
      for (const run of runs) {
        for (const m of SUMMARY) {
          const want = toNdjson(MODES[m].columns, (await x.run(m, run)).rows)
          const to = join(tree.dir, `${m}.ndjson`)
          const w = await x.run(m, { ...run, ndjsonTo: to })
          expect(readFileSync(to, 'utf8')).toBe(want)
          expect(w.written).toBe(want === '' ? 0 : want.split('\n').length - 1)
          const l = await x.run(m, { ...run, ndjson: true })
          expect(l.ndjson !== undefined ? l.ndjson.map((s) => `${s}\n`).join('') : toNdjson(l.columns, l.rows)).toBe(want)
          // As bytes (what the CLI asks for): the same text.
          const b = await x.run(m, { ...run, ndjson: true, ndjsonBytes: true })
          expect(Buffer.concat(b.ndjsonBytes!.chunks).toString('utf8')).toBe(want)
          expect(b.ndjsonBytes!.rows).toBe(w.written)
        }
      }
    } finally {
      x.close()
    }
  })
})

describe('an update only on this thread (onThisThread, for a bundled copy)', () => {
  /** Collects what transcriptUsageNdjson writes. */
  const sink = (): { write: (b: Uint8Array) => void; text: () => string } => {
    const chunks: Buffer[] = []
    return { write: (b) => chunks.push(Buffer.from(b)), text: () => Buffer.concat(chunks).toString('utf8') }
  }

  it('hands back a first read and one that needs worker threads, nothing read or written; answers a small one as the package does', async () => {
    const dirs = { claude: [tree.dirs.claudeDir], codex: [tree.dirs.codexDir] }
    const dir = join(tree.dir, 'summary-idx')
    // No summary yet: a first read, for worker threads.
    const first = sink()
    expect(await transcriptUsageNdjson(dirs, dir, 'usage', first.write, { onThisThread: true })).toBeUndefined()
    expect(first.text()).toBe('')
    expect(existsSync(file())).toBe(false)
    expect((await transcriptUsageNdjson(dirs, dir, 'usage', sink().write)).rows).toBe(10)
    // New bytes at or above workerMinBytes: handed back, the summary file as it was.
    appendSession(tree.dirs.claudeDir, 99, '2026-11-22T08:00:00.000Z')
    const before = readFileSync(file())
    expect(await updateUsageSummary({ dirs, dir, build: ledgerBuild('@agenttap/transcripts'), workerMinBytes: 1, onThisThread: true })).toBeUndefined()
    expect(readFileSync(file()).equals(before)).toBe(true)
    // Below it: read here, the package's answer (a fresh summary of the same tree), byte for byte.
    for (const mode of TRANSCRIPT_USAGE_MODES) {
      const here = sink()
      const r = await transcriptUsageNdjson(dirs, dir, mode, here.write, { onThisThread: true })
      expect(r?.rows).toBeGreaterThan(0)
      const fresh = sink()
      await transcriptUsageNdjson(dirs, join(tree.dir, `fresh-${mode}`), mode, fresh.write)
      expect(here.text()).toBe(fresh.text())
    }
    expect(readFileSync(file()).equals(before)).toBe(false)
  })
})

/** A call with every field given. */
const call = (over: Partial<UsageCall>): UsageCall => ({
  key: 'k', ts: '2026-11-20T10:00:00.000Z', session_id: 's', agent: null, source: 'claude-transcript', client: 'claude-code', model: 'claude-sonnet-4-5',
  has_usage: true, input: 1, cache_read: 2, cache_write_5m: 3, cache_write_1h: 4, output: 5, reasoning: null, stop_reason: 'end_turn', ...over,
})

describe('the usage summary table', () => {
  const nasty = ['quote " in', 'back\\slash', 'tab\tnew\nline', 'ctl \u0001\u001f', 'del \u007f', 'é ü 中文', 'emoji 🎉', 'sep \u2028\u2029', '', '{"json":1}']
  const calls: UsageCall[] = nasty.flatMap((s, i) => [
    call({ key: `key ${s} ${i}`, ts: `2026-11-2${i % 3}T10:00:0${i}.000Z`, session_id: s, model: i % 4 === 0 ? null : `model ${s}`, input: i * 1000, output: 2 ** 40 + i, reasoning: i % 2 ? i : null }),
    call({ key: `frac ${i}`, ts: `2026-11-2${i % 3}T10:00:0${i}.500Z`, session_id: `s${i}`, input: 0.5 + i, cache_read: 1e21, has_usage: i % 3 !== 0 }),
  ])

  const tableOf = (cs: UsageCall[], round: boolean): UsageTable => {
    let t = new UsageTable()
    t.daily = new DailySums(BUNDLED_PRICES)
    t.add(encodeCalls(cs), mergeUsageCall, partCall)
    if (!round) return t
    // Through the file: the base block read back.
    const path = join(tree.dir, 'table.bin')
    const sums = (t.daily as DailySums).toJSON()
    writeFileSync(path, t.write({}))
    // The table owns the descriptor once read (it reads its columns from it lazily).
    const fd = openSync(path, 'r')
    try {
      t = UsageTable.read(fd, statSync(path).size).table
    } catch (e) {
      closeSync(fd)
      throw e
    }
    t.daily = DailySums.from(sums, BUNDLED_PRICES) ?? DailySums.over(t, BUNDLED_PRICES)
    return t
  }

  /** Later pieces of some stored calls (merges) and a few new calls. */
  const later = (cs: UsageCall[]): UsageCall[] => [
    ...cs.filter((_, i) => i % 3 === 1).map((c, i) => ({ ...c, output: c.output + 7, has_usage: true, stop_reason: i % 2 ? null : 'max_tokens', ts: i % 2 ? c.ts : '2026-11-19T00:00:00.000Z' })),
    call({ key: 'new one', ts: '2026-11-30T00:00:00.000Z', session_id: 'new' }),
    // More than the room a table read back has for new calls: its columns grow while still on disk.
    ...Array.from({ length: 1100 }, (_, i) => call({ key: `grown ${i}`, ts: `2026-11-2${i % 10}T11:00:00.000Z`, session_id: `g${i % 7}`, input: i, output: 2 * i })),
  ]
  const state = (t: UsageTable): Record<string, boolean> => ({ cols: Reflect.get(t, 'colsOut') as boolean, h: Reflect.get(t, 'hOut') as boolean, text: Reflect.get(t, 'textOut') as boolean })

  it('merges into stored calls whose columns were not read, reading only those calls, as a table in memory does', () => {
    const whole = calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15)
    const mem = tableOf(whole, false)
    const lazy = tableOf(whole, true)
    // Read back, nothing but the header is read; a merge reads the key hashes and the merged calls.
    expect(state(lazy)).toEqual({ cols: true, h: true, text: true })
    mem.add(encodeCalls(later(whole)), mergeUsageCall, partCall)
    lazy.add(encodeCalls(later(whole)), mergeUsageCall, partCall)
    expect(state(lazy)).toEqual({ cols: true, h: false, text: true })
    // The running daily sums, kept through the merges without the columns.
    expect((lazy.daily as DailySums).rows(lazy)).toEqual((mem.daily as DailySums).rows(mem))
    // Then the whole table (calls set since keep their values).
    const byKey = (t: UsageTable) => new Map(Array.from({ length: t.n }, (_, i) => [t.keyAt(i), t.call(i)]))
    expect(byKey(lazy)).toEqual(byKey(mem))
    expect(state(lazy)).toEqual({ cols: true, h: false, text: true })
    expect(DailySums.over(lazy, BUNDLED_PRICES).rows(lazy)).toEqual((mem.daily as DailySums).rows(mem))
    expect(state(lazy)).toEqual({ cols: false, h: false, text: true })
    for (const mode of ['usage', 'cost', 'daily'] as const) expect(summaryRows(mode, { calls: lazy, problems: [] }, BUNDLED_PRICES, { since: '2000-01-01' })).toEqual(summaryRows(mode, { calls: mem, problems: [] }, BUNDLED_PRICES, { since: '2000-01-01' }))
  })

  it('tells heads apart by every byte and by length (the head check without node:crypto)', () => {
    const head = Buffer.from(Array.from({ length: 4095 }, (_, i) => (i * 7 + 3) & 0xff))
    const h = bytesHash(head)
    expect(h).toMatch(/^[0-9a-f]{16}$/)
    expect(bytesHash(Buffer.from(head))).toBe(h)
    const seen = new Set([h])
    for (const at of [0, 1, 2, 3, 4, 1000, 2047, 4092, 4093, 4094]) {
      const b = Buffer.from(head)
      b[at] = b[at]! ^ 1
      seen.add(bytesHash(b))
    }
    for (const len of [0, 1, 4, 4094]) seen.add(bytesHash(head.subarray(0, len)))
    // A zero byte appended still changes the hash (the length is hashed).
    seen.add(bytesHash(Buffer.concat([head, Buffer.alloc(1)])))
    expect(seen.size).toBe(16)
  })

  it('finds stored calls through the hash order, keys that share a first hash included', () => {
    // Keys until two share their first 32-bit hash (a birthday pair: ~80k keys).
    const seen = new Map<number, string>()
    let pair: [string, string] | undefined
    for (let i = 0; pair === undefined; i++) {
      const k = `claude-transcript:msg_${i}:req_${i}`
      const a = keyHash(k)[0]
      const had = seen.get(a)
      if (had !== undefined) pair = [had, k]
      else seen.set(a, k)
    }
    const stored = [...pair, ...Array.from({ length: 500 }, (_, i) => `stored ${i}`)].map((key, i) => call({ key, ts: `2026-11-20T10:00:00.${String(i % 1000).padStart(3, '0')}Z`, output: 10 }))
    // Later pieces of both keys of the pair and of some others, and new calls: as a table in memory merges them.
    const next = [...stored.filter((_, i) => i < 2 || i % 50 === 7).map((c) => ({ ...c, output: 99 })), call({ key: 'new', output: 1 })]
    const mem = tableOf(stored, false)
    const lazy = tableOf(stored, true)
    mem.add(encodeCalls(next), mergeUsageCall, partCall)
    lazy.add(encodeCalls(next), mergeUsageCall, partCall)
    expect(lazy.n).toBe(stored.length + 1)
    const byKey = (t: UsageTable) => new Map(Array.from({ length: t.n }, (_, i) => [t.keyAt(i), t.call(i)]))
    expect(byKey(lazy)).toEqual(byKey(mem))
    expect(byKey(lazy).get(pair[0])!.output).toBe(99)
    expect(byKey(lazy).get(pair[1])!.output).toBe(99)
  })

  it('takes a part with the hashes and days of the thread that read it as one without them, and a key given twice in a part as two pieces', () => {
    const whole = calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15)
    const byKey = (t: UsageTable) => new Map(Array.from({ length: t.n }, (_, i) => [t.keyAt(i), t.call(i)]))
    const part = encodeCalls([...whole, ...later(whole)])
    expect(part.h).toHaveLength(2 * part.key.length)
    expect(part.day).toHaveLength(part.key.length)
    expect(Array.from(part.day!, (d) => part.dict[d])).toEqual(part.ts.map((ts) => ts.slice(0, 10)))
    const stored = storedColumns(part)
    expect(stored.h === undefined && stored.day === undefined).toBe(true)
    const withCols = new UsageTable()
    const without = new UsageTable()
    withCols.add(part, mergeUsageCall, partCall)
    without.add(stored, mergeUsageCall, partCall)
    // Piece by piece: the stored calls, then their later pieces.
    const pieces = tableOf(whole, false)
    pieces.add(encodeCalls(later(whole)), mergeUsageCall, partCall)
    expect(withCols.n).toBe(pieces.n)
    expect(byKey(withCols)).toEqual(byKey(pieces))
    expect(byKey(without)).toEqual(byKey(pieces))
    expect(withCols.write({}).equals(without.write({}))).toBe(true)
  })

  it('merges parts into the order of usage (start time, key), keys in two parts kept for the table to merge', () => {
    const whole = calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15)
    const a = encodeCalls([...whole].reverse())
    const b = storedColumns(encodeCalls(later(whole)))
    const merged = inUsageOrder([a, b])
    expect(merged.key).toHaveLength(a.key.length + b.key.length)
    const pairs = merged.key.map((k, i) => [merged.ts[i]!, k] as const)
    expect(pairs).toEqual([...pairs].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)))
    const byKey = (t: UsageTable) => new Map(Array.from({ length: t.n }, (_, i) => [t.keyAt(i), t.call(i)]))
    const one = new UsageTable()
    one.add(merged, mergeUsageCall, partCall)
    const two = new UsageTable()
    two.add(a, mergeUsageCall, partCall)
    two.add(b, mergeUsageCall, partCall)
    expect(byKey(one)).toEqual(byKey(two))
    // The table holds its calls in that order.
    const ts = one.ts()
    const keys = one.keys()
    for (let i = 1; i < one.n; i++) expect(ts[i - 1]! < ts[i]! || (ts[i - 1] === ts[i] && keys[i - 1]! <= keys[i]!)).toBe(true)
    for (const mode of ['usage', 'daily'] as const) expect(summaryRows(mode, { calls: one, problems: [] }, BUNDLED_PRICES, {})).toEqual(summaryRows(mode, { calls: two, problems: [] }, BUNDLED_PRICES, {}))
     // Both parts at once (a new table of a read on two threads): the same calls in that order, copied once.
    const both = new UsageTable()
    expect(both.add([a, b], mergeUsageCall, partCall)).toBe(a.key.length + b.key.length)
    expect(byKey(both)).toEqual(byKey(one))
    expect(both.keys()).toEqual(keys)
    expect(both.write({}).equals(one.write({}))).toBe(true)
  })

  it('compacts a table read lazily (some calls read one by one and merged) to the bytes of one kept in memory', () => {
    const whole = calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15)
    for (const cs of [whole, whole.filter((c) => c.has_usage)]) {
      const mem = tableOf(cs, false)
      const lazy = tableOf(cs, true)
      for (const t of [mem, lazy]) t.add(encodeCalls(later(cs)), mergeUsageCall, partCall)
      expect(state(lazy).cols).toBe(true)
      // A lazy table's rewrite reads what it had not; the base block is the same bytes.
      expect(lazy.write({ x: 1 }).equals(mem.write({ x: 1 }))).toBe(true)
      expect(state(lazy)).toEqual({ cols: false, h: false, text: false })
      // A table written from a lazy one reads back the same again.
      const again = tableOf(cs, true)
      again.add(encodeCalls(later(cs)), mergeUsageCall, partCall)
      void again.keyAt(0)
      void again.tsAt(again.n - 1)
      expect(again.write({ x: 1 }).equals(mem.write({ x: 1 }))).toBe(true)
    }
  })

  it('writes NDJSON of nasty strings and numbers as toNdjson does, in memory and read back', () => {
    // Fractional and huge token counts (the daily sums are then computed from the calls), and whole ones (the sums kept).
    const whole = calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15)
    for (const cs of [calls, whole]) {
      for (const round of [false, true]) {
        const t = tableOf(cs, round)
        for (const mode of ['usage', 'cost', 'daily'] as const) {
          for (const run of [{}, { session: 'quote " in' }, { since: '2026-11-21' }]) {
            const summary = { calls: t, problems: [] }
            const chunks: Buffer[] = []
            const n = summaryNdjsonBytes(mode, summary, BUNDLED_PRICES, run, (b) => void chunks.push(Buffer.from(b)))
            const rows = summaryRows(mode, summary, BUNDLED_PRICES, run)
            expect(Buffer.concat(chunks).toString('utf8')).toBe(toNdjson(MODES[mode].columns, rows))
            expect(n).toBe(rows.length)
          }
        }
      }
    }
  })

  it('keeps the daily sums of a pass over the calls through merges, and not for fractional tokens', () => {
    const whole = calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15)
    const t = tableOf(whole, false)
    // Later pieces of calls already there: some win (a stop reason, more output), some move a call to an earlier day.
    t.add(encodeCalls(whole.slice(0, 6).map((c, i) => ({ ...c, output: c.output + 7, stop_reason: i % 2 ? null : 'end_turn', ts: i % 3 ? c.ts : '2026-11-19T00:00:00.000Z' }))), mergeUsageCall, partCall)
    expect(t.daily!.constructor).toBe(DailySums)
    const kept = t.daily as DailySums
    expect(kept.exact).toBe(true)
    expect(kept.rows(t)).toEqual(DailySums.over(t, BUNDLED_PRICES).rows(t))
    expect(summaryRows('daily', { calls: t, problems: [] }, BUNDLED_PRICES, {})).toEqual(summaryRows('daily', { calls: t, problems: [] }, BUNDLED_PRICES, { since: '2000-01-01' }))
    const f = tableOf(calls, false)
    expect((f.daily as DailySums).exact).toBe(false)
    expect(summaryRows('daily', { calls: f, problems: [] }, BUNDLED_PRICES, {})).toEqual(DailySums.over(f, BUNDLED_PRICES).rows(f))
  })

  it('reads the daily sums back only whole, and of the same prices', () => {
    const t = tableOf(calls.filter((c) => Number.isInteger(c.input) && c.cache_read < 1e15), false)
    const json = (t.daily as DailySums).toJSON()
    expect(json.groups.length).toBeGreaterThan(1)
    expect(DailySums.from(JSON.parse(JSON.stringify(json)), BUNDLED_PRICES)!.rows(t)).toEqual((t.daily as DailySums).rows(t))
    const damaged = (change: (g: number[][]) => void): unknown => {
      const j = JSON.parse(JSON.stringify(json)) as { groups: number[][] }
      change(j.groups)
      return j
    }
    expect(DailySums.from(damaged((g) => void (g[1]![5] = 0.5)), BUNDLED_PRICES)).toBeUndefined()
    expect(DailySums.from(damaged((g) => void (g[0]![0] = 2 ** 60)), BUNDLED_PRICES)).toBeUndefined()
    expect(DailySums.from(damaged((g) => void g[1]!.pop()), BUNDLED_PRICES)).toBeUndefined()
    expect(DailySums.from(damaged((g) => void (g[1] = 'x' as unknown as number[])), BUNDLED_PRICES)).toBeUndefined()
    expect(DailySums.from({ ...json, prices: 'other' }, BUNDLED_PRICES)).toBeUndefined()
  })
})
