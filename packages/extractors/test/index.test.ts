import { spawn } from 'node:child_process'
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import type { Extractor, ExtractorOptions } from '../src/index.js'
// @ts-expect-error a plain JS test module
import { setLedgerVersion } from './support/toy-ledger.mjs'

// The index machinery (incremental reads, open flows, rotation, truncation, rebuilds, locks,
// bad input) with a stand-in ledger (test/support/toy-ledger.mjs): one call per flow, or per
// `response.completed` frame, whose output_tokens count the lines it got and whose text joins
// its `text_delta`s.
const TOY = pathToFileURL(join(import.meta.dirname, 'support', 'toy-ledger.mjs')).href
const tmp = mkdtempSync(join(tmpdir(), 'extractors-index-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const open: Extractor[] = []
afterEach(() => {
  for (const x of open.splice(0)) x.close()
})

const T = (s: number): string => new Date(Date.parse('2026-03-01T10:00:00.000Z') + s * 1000).toISOString()
let n = 0

/** A capture dir and appenders for its three files. */
function capture(name = `cap${n++}`) {
  const root = join(tmp, name)
  const dir = join(root, 'all-mitm-sse')
  mkdirSync(dir, { recursive: true })
  const file = { flows: join(dir, 'sse_flows.jsonl'), lines: join(dir, 'sse_lines.jsonl'), ends: join(dir, 'sse_flow_ends.jsonl') }
  for (const f of Object.values(file)) writeFileSync(f, '')
  const line = (o: object) => JSON.stringify(o) + '\n'
  return {
    root,
    dir,
    file,
    flow: (id: string, t: number, extra: object = {}) => appendFileSync(file.flows, line({ v: 1, type: 'flow', ts: T(t), flow_id: id, session_id: 's', client: 'claude-code', provider: 'anthropic', ...extra })),
    sse: (id: string, seq: number, t: number, data: object | string) =>
      appendFileSync(file.lines, line({ v: 1, type: 'sse', ts: T(t), flow_id: id, session_id: 's', seq, data: typeof data === 'string' ? data : JSON.stringify(data) })),
    end: (id: string, t: number, extra: object = {}) => appendFileSync(file.ends, line({ v: 1, type: 'flow_end', ts: T(t), flow_id: id, session_id: 's', outcome: 'completed', status: 200, ...extra })),
    raw: (f: 'flows' | 'lines' | 'ends', text: string) => appendFileSync(file[f], text),
  }
}

async function ex(root: string, o: Partial<ExtractorOptions> = {}): Promise<Extractor> {
  const x = await createExtractor({ logDir: root, ledgerModule: TOY, threads: 1, ...o })
  open.push(x)
  return x
}

/** Opens, refreshes, reads usage rows and closes (each update is its own run, as the CLI does). */
async function usage(root: string, o: Partial<ExtractorOptions> = {}) {
  const x = await ex(root, o)
  const update = await x.refresh()
  const rows = (await x.run('usage')).rows.map((r) => [r.flow_id, r.call, r.output_tokens])
  const flows = (await x.run('flows')).rows.map((r) => [r.flow_id, r.outcome])
  const problems = await x.problems(20)
  x.close()
  return { update, rows, flows, problems }
}

const hi = (t: string) => ({ type: 'text_delta', text: t })

describe('incremental updates', () => {
  it('reads only the bytes appended since the last run', async () => {
    const c = capture()
    c.flow('f1', 0, { request_body: { prompt: 'one' } })
    c.sse('f1', 0, 0.1, hi('a'))
    c.end('f1', 0.2, { events: 1 })
    const first = await usage(c.root)
    expect(first.rows).toEqual([['f1', 0, 1]])
    expect(first.update.bytes).toBe(statSync(c.file.flows).size + statSync(c.file.lines).size + statSync(c.file.ends).size)

    const before = statSync(c.file.flows).size + statSync(c.file.lines).size + statSync(c.file.ends).size
    c.flow('f2', 1)
    c.sse('f2', 0, 1.1, hi('b'))
    c.sse('f2', 1, 1.2, hi('c'))
    c.end('f2', 1.3, { events: 2 })
    const after = statSync(c.file.flows).size + statSync(c.file.lines).size + statSync(c.file.ends).size
    const second = await usage(c.root)
    expect(second.update.bytes).toBe(after - before)
    expect(second.rows).toEqual([['f1', 0, 1], ['f2', 0, 2]])

    const third = await usage(c.root)
    expect(third.update.bytes).toBe(0)
    expect(third.rows).toEqual(second.rows)
  })

  it('a flow still open is shown open, then replaced by its complete version (never counted twice)', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    const first = await usage(c.root)
    expect(first.flows).toEqual([['f1', 'open']])
    expect(first.update.pending).toBe(1)
    c.sse('f1', 1, 0.2, hi('b'))
    c.end('f1', 0.3, { events: 2 })
    const second = await usage(c.root)
    expect(second.flows).toEqual([['f1', 'completed']])
    expect(second.rows).toEqual([['f1', 0, 2]])
    expect(second.update.pending).toBe(0)
  })

  it('calls of a WebSocket flow that completed in an earlier run are not counted twice', async () => {
    const c = capture()
    c.flow('ws', 0, { transport: 'ws' })
    c.sse('ws', 0, 0.1, hi('a'))
    c.sse('ws', 1, 0.2, { type: 'response.completed' })
    expect((await usage(c.root)).rows).toEqual([['ws', 0, 2]])
    c.sse('ws', 2, 1.1, hi('b'))
    c.sse('ws', 3, 1.2, { type: 'response.completed' })
    expect((await usage(c.root)).rows).toEqual([['ws', 0, 2], ['ws', 1, 2]])
    c.end('ws', 2, { events: 4 })
    const done = await usage(c.root)
    expect(done.rows).toEqual([['ws', 0, 2], ['ws', 1, 2]])
    expect(done.flows).toEqual([['ws', 'completed']])
  })

  it('an unfinished last line (the proxy still writing it) waits for the next run', async () => {
    const c = capture()
    c.flow('f1', 0)
    const whole = JSON.stringify({ v: 1, type: 'sse', ts: T(0.1), flow_id: 'f1', session_id: 's', seq: 0, data: JSON.stringify(hi('xyz')) })
    c.raw('lines', whole.slice(0, 40))
    const first = await usage(c.root)
    expect(first.problems.total).toBe(0)
    c.raw('lines', whole.slice(40) + '\n')
    c.end('f1', 0.2, { events: 1 })
    expect((await usage(c.root)).rows).toEqual([['f1', 0, 1]])
  })

  it('a flow_end that announces lines not read yet waits for them, then for holdEndMs at most', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    c.end('f1', 0.3, { events: 2 }) // its second line is not on disk yet
    const now = Date.now()
    const first = await usage(c.root, { now })
    expect(first.flows).toEqual([['f1', 'open']])
    c.sse('f1', 1, 0.2, hi('b'))
    expect((await usage(c.root, { now: now + 1000 })).rows).toEqual([['f1', 0, 2]])

    const d = capture()
    d.flow('g1', 0)
    d.end('g1', 0.3, { events: 5 })
    expect((await usage(d.root, { now })).flows).toEqual([['g1', 'open']])
    expect((await usage(d.root, { now: now + 61_000 })).flows).toEqual([['g1', 'completed']])
  })

  it('a flow that never ends is ended (truncated) after staleMs and reported', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    const now = Date.now()
    expect((await usage(c.root, { now })).flows).toEqual([['f1', 'open']])
    const later = await usage(c.root, { now: now + 3_600_001 })
    expect(later.flows).toEqual([['f1', 'truncated']])
    expect(later.problems.byCode).toEqual({ FLOW_WITHOUT_END: 1 })
    expect(later.problems.first[0]).toMatchObject({ file: c.file.lines, line: 1, offset: 0, flow_id: 'f1' })
  })
})

describe('files that move', () => {
  it('a rotated file (renamed, a new one started) is followed without a rebuild', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    await usage(c.root)
    c.sse('f1', 1, 0.2, hi('b')) // written before the rotation, read after it
    renameSync(c.file.lines, `${c.file.lines}.1`)
    writeFileSync(c.file.lines, '')
    c.sse('f1', 2, 0.3, hi('c'))
    c.end('f1', 0.4, { events: 3 })
    const r = await usage(c.root)
    expect(r.update.rebuilt).toBeUndefined()
    expect(r.rows).toEqual([['f1', 0, 3]])
  })

  it('a truncated file makes the index rebuild from what is there', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    c.end('f1', 0.2, { events: 1 })
    c.flow('f2', 1)
    c.end('f2', 1.2, { events: 0 })
    expect((await usage(c.root)).rows).toEqual([['f1', 0, 1], ['f2', 0, 0]])
    writeFileSync(c.file.flows, '')
    c.flow('f3', 2)
    const r = await usage(c.root)
    expect(r.update.rebuilt).toMatch(/sse_flows\.jsonl shrank/)
    // f1 and f2 lost their flow records but not their lines and ends: assembled from those, reported.
    expect(r.rows).toEqual([['f1', 0, 1], ['f2', 0, 0], ['f3', 0, 0]])
    expect(r.problems.first.filter((p) => p.code === 'NO_FLOW_RECORD').map((p) => [p.flow_id, p.file]).sort()).toEqual([['f1', c.file.lines], ['f2', c.file.ends]])
  })

  it('a file rewritten in place (same size or larger, other first bytes) rebuilds too', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.end('f1', 0.2)
    await usage(c.root)
    const text = JSON.stringify({ v: 1, type: 'flow', ts: T(5), flow_id: 'g1', session_id: 's' }) + '\n'
    writeFileSync(c.file.flows, text + text.replace('g1', 'g2'))
    const r = await usage(c.root)
    expect(r.update.rebuilt).toMatch(/rewritten/)
    // f1's flow_end is still there: its flow is assembled from it (and reported).
    expect(r.flows.map((f) => f[0])).toEqual(['f1', 'g1', 'g2'])
    expect(r.problems.byCode).toEqual({ NO_FLOW_RECORD: 1 })
  })

  it('a new ledger_version rebuilds; deleting the index is safe; --no-index keeps nothing on disk', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    c.end('f1', 0.2)
    const want = (await usage(c.root)).rows
    // A new ledger comes as a new build of its module (another file time): the index notices
    // without loading it, then loads it, reads its LEDGER_VERSION and rebuilds.
    const toy = join(import.meta.dirname, 'support', 'toy-ledger.mjs')
    const { atime, mtime } = statSync(toy)
    setLedgerVersion(2)
    utimesSync(toy, atime, new Date(mtime.getTime() + 5000))
    try {
      const r = await usage(c.root)
      expect(r.update.rebuilt).toMatch(/ledger_version 1 → 2/)
      expect(r.rows).toEqual(want)
    } finally {
      setLedgerVersion(1)
      utimesSync(toy, atime, mtime)
    }
    rmSync(join(c.dir, '.index'), { recursive: true })
    expect((await usage(c.root)).rows).toEqual(want)
    rmSync(join(c.dir, '.index'), { recursive: true })
    expect((await usage(c.root, { index: false })).rows).toEqual(want)
    expect(existsSync(join(c.dir, '.index'))).toBe(false)
    expect((await usage(c.root, { rebuildIndex: true })).update.rebuilt).toMatch(/--rebuild-index/)
  })

  it('the index is private: 0700 dir, 0600 files', async () => {
    const c = capture()
    c.flow('f1', 0)
    await usage(c.root)
    const idx = join(c.dir, '.index')
    expect(statSync(idx).mode & 0o777).toBe(0o700)
    for (const f of readdirSync(idx)) expect(statSync(join(idx, f)).mode & 0o077).toBe(0)
  })
})

describe('bad input is reported with its location, the rest indexed', () => {
  it('malformed and over-long lines, unknown types, newer versions, records without a flow, ledger errors', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.raw('lines', '{"v":1,"type":"sse","ts":"2026-03-01T10:00:00.1\n') // truncated record
    c.sse('f1', 0, 0.2, hi('a'))
    c.raw('lines', `${JSON.stringify({ v: 1, type: 'sse', ts: T(0.25), flow_id: 'f1', session_id: 's', seq: 9, data: 'x'.repeat(3000) })}\n`)
    c.sse('f1', 1, 0.3, { type: 'mystery' })
    c.raw('lines', `${JSON.stringify({ v: 1, type: 'sparkle', ts: T(0.4), flow_id: 'f1', session_id: 's' })}\n`)
    c.raw('lines', `${JSON.stringify({ v: 9, type: 'sse', ts: T(0.45), flow_id: 'f1', session_id: 's', seq: 2, data: '{}' })}\n`)
    c.sse('ghost', 0, 0.5, hi('boo'))
    c.raw('lines', '\u0000\u0001junk\n')
    c.end('f1', 1, { events: 3 })
    const x = await ex(c.root, { maxLineBytes: 2048 })
    const u = await x.refresh()
    expect(u.problems).toBe(7)
    // The ghost flow (no flow record) is still indexed, from its own records.
    expect((await x.run('usage')).rows.map((r) => [r.flow_id, r.output_tokens, r.ts])).toEqual([['f1', 3, T(0)], ['ghost', 1, T(0.5)]])
    const p = await x.problems(10)
    expect(p.byCode).toEqual({ MALFORMED_LINE: 2, LINE_TOO_LONG: 1, LEDGER_ERROR: 1, UNKNOWN_TYPE: 1, NEWER_SCHEMA: 1, NO_FLOW_RECORD: 1 })
    const at = (code: string) => p.first.find((q) => q.code === code)
    expect(at('MALFORMED_LINE')).toMatchObject({ file: c.file.lines, line: 1, offset: 0 })
    expect(at('LINE_TOO_LONG')).toMatchObject({ file: c.file.lines, line: 3 })
    expect(at('LEDGER_ERROR')).toMatchObject({ file: c.file.lines, line: 4, flow_id: 'f1', message: expect.stringMatching(/mystery/) })
    expect(at('UNKNOWN_TYPE')).toMatchObject({ line: 5, message: expect.stringMatching(/"sparkle"/) })
    expect(at('NEWER_SCHEMA')).toMatchObject({ line: 6, message: expect.stringMatching(/version 9/) })
    expect(at('NO_FLOW_RECORD')).toMatchObject({ line: 7, flow_id: 'ghost', message: expect.stringMatching(/assembled from them/) })
  })

  it('the same line twice, and a flow written again after it ended, count once', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    c.sse('f1', 0, 0.1, hi('a'))
    c.sse('f1', 1, 0.2, hi('b'))
    c.end('f1', 0.3, { events: 2 })
    expect((await usage(c.root)).rows).toEqual([['f1', 0, 2]])
    c.flow('f1', 0)
    c.sse('f1', 0, 0.1, hi('a'))
    c.end('f1', 0.3, { events: 2 })
    const again = await usage(c.root)
    expect(again.rows).toEqual([['f1', 0, 2]])
    expect(again.problems.total).toBe(0)
  })
})

describe('out-of-line bodies', () => {
  it('a $ref request body is read through readRawRef; a ref to a sibling dir is refused', async () => {
    const c = capture()
    mkdirSync(join(c.dir, 'sse_logs'))
    writeFileSync(join(c.dir, 'sse_logs', 'f1.request.json'), JSON.stringify({ prompt: 'from the body file' }))
    const evil = join(c.root, 'all-mitm-sse-evil')
    mkdirSync(evil)
    writeFileSync(join(evil, 'x.json'), JSON.stringify({ prompt: 'STOLEN' }))
    c.flow('f1', 0, { request_body: { $ref: 'sse_logs/f1.request.json' } })
    c.end('f1', 0.1)
    c.flow('f2', 1, { request_body: { $ref: '../all-mitm-sse-evil/x.json' } })
    c.end('f2', 1.1)
    const x = await ex(c.root)
    expect((await x.run('user_prompts')).rows.map((r) => [r.flow_id, r.text])).toEqual([['f1', 'from the body file']])
    const p = await x.problems()
    expect(p.byCode).toEqual({ BODY_UNREADABLE: 1 })
    expect(p.first[0]).toMatchObject({ flow_id: 'f2', message: expect.stringMatching(/outside the capture directory/) })
  })

  it('a WebSocket flow’s client frames kept out of line are fed to the ledger', async () => {
    const c = capture()
    mkdirSync(join(c.dir, 'sse_logs'))
    writeFileSync(join(c.dir, 'sse_logs', 'ws.ws-client.jsonl'), '{"type":"response.create"}\n{"type":"response.create"}\n')
    c.flow('ws', 0, { transport: 'ws' })
    c.end('ws', 1, { client_frames: 'sse_logs/ws.ws-client.jsonl' })
    expect((await usage(c.root)).rows).toEqual([['ws', 0, 2]])
  })
})

describe('paths', () => {
  it('a log dir with glob characters reads only itself, not a sibling the pattern matches', async () => {
    const base = join(tmp, 'globs')
    const mine = capture('globs/logs[1]')
    const sibling = capture('globs/logs1')
    mine.flow('mine', 0)
    mine.end('mine', 1)
    sibling.flow('theirs', 0)
    sibling.end('theirs', 1)
    expect(existsSync(join(base, 'logs1'))).toBe(true)
    expect((await usage(mine.root)).rows).toEqual([['mine', 0, 0]])
    expect((await usage(mine.root, { index: false })).rows).toEqual([['mine', 0, 0]])
  })

  it('a capture dir that cannot be written gets an index in memory', async () => {
    if (process.getuid?.() === 0) return // root writes anywhere: nothing to test
    const c = capture()
    c.flow('f1', 0)
    chmodSync(c.dir, 0o555)
    try {
      const x = await ex(c.root)
      await x.refresh()
      expect(x.indexDir).toBeUndefined()
    } finally {
      chmodSync(c.dir, 0o755)
    }
  })
})

describe('concurrency', () => {
  it('a run waits while another process holds the index, then goes on', async () => {
    const c = capture()
    c.flow('f1', 0)
    c.end('f1', 1)
    await usage(c.root)
    // Another run (another process) holds the index: its lock file and the DuckDB file.
    const holder = spawn(process.execPath, ['-e', `
      const { createRequire } = require('node:module')
      const fs = require('node:fs')
      const d = createRequire(${JSON.stringify(join(import.meta.dirname, '..', 'package.json'))})('@duckdb/node-bindings')
      fs.writeFileSync(${JSON.stringify(join(c.dir, '.index', 'lock'))}, JSON.stringify({ pid: process.pid, host: require('node:os').hostname() }), { flag: 'wx' })
      d.open(${JSON.stringify(join(c.dir, '.index', 'index.duckdb'))}).then(async (db) => {
        const conn = await d.connect(db)
        process.stdout.write('held\\n')
        process.stdin.once('data', () => { d.disconnect_sync(conn); d.close_sync(db); fs.unlinkSync(${JSON.stringify(join(c.dir, '.index', 'lock'))}); process.exit(0) })
      })
    `], { stdio: ['pipe', 'pipe', 'inherit'] })
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()))
    c.flow('f2', 2)
    c.end('f2', 3)
    let waited = ''
    const later = usage(c.root, { onWait: (m) => {
      waited = m
      holder.stdin.write('go\n')
    } })
    const r = await later
    expect(waited).toMatch(new RegExp(`waiting for another agenttap-analyze \\(pid ${holder.pid}\\)`))
    expect(r.rows.map((x) => x[0])).toEqual(['f1', 'f2'])
  })

  it('shards on worker threads give the same rows as one thread', async () => {
    const c = capture()
    for (let i = 0; i < 40; i++) {
      c.flow(`f${i}`, i, { request_body: { prompt: `p${i}` } })
      for (let s = 0; s < (i % 5) + 1; s++) c.sse(`f${i}`, s, i + 0.1 + s / 100, hi(`${i}.${s}`))
      if (i % 7 !== 0) c.end(`f${i}`, i + 0.5)
    }
    const one = await ex(c.root, { index: false })
    const many = await ex(c.root, { index: false, threads: 2, workerMinBytes: 0 })
    expect((await many.refresh()).shards).toBe(2)
    for (const mode of ['usage', 'flows', 'assistant_text', 'user_prompts'] as const) {
      expect((await many.run(mode)).rows).toEqual((await one.run(mode)).rows)
    }
  })
})

describe('progress', () => {
  it('an update reports the bytes it has read as it goes, on one thread or sharded, then its commit; a current index reports nothing', async () => {
    const c = capture()
    // ~24,000 records: several reports (one every 4,096 records a shard reads).
    for (let i = 0; i < 800; i++) {
      c.flow(`f${i}`, i)
      for (let s = 0; s < 29; s++) c.sse(`f${i}`, s, i + 0.1 + s / 100, hi(`${i}.${s}`))
      c.end(`f${i}`, i + 0.5)
    }
    const size = Object.values(c.file).reduce((n, f) => n + statSync(f).size, 0)
    for (const o of [{ threads: 1 }, { threads: 2, workerMinBytes: 0 }]) {
      rmSync(join(c.dir, '.index'), { recursive: true, force: true })
      const seen: { phase: string; of: string; bytes: number; total: number; ms: number }[] = []
      const x = await ex(c.root, { ...o, onProgress: (p) => seen.push({ ...p }) })
      expect((await x.refresh()).shards, `threads ${o.threads}`).toBe(o.threads)
      x.close()
      const reads = seen.filter((p) => p.phase === 'read')
      expect(reads.length).toBeGreaterThanOrEqual(3)
      expect(seen.every((p) => p.total === size && p.of === 'capture')).toBe(true)
      for (let i = 1; i < reads.length; i++) {
        expect(reads[i]!.bytes).toBeGreaterThanOrEqual(reads[i - 1]!.bytes)
        expect(reads[i]!.ms).toBeGreaterThanOrEqual(reads[i - 1]!.ms)
      }
      // Partway figures (not only a final one; sharded, the update is as far as its slowest
      // shard: on so small a capture the worker may start late and finish between two looks),
      // all of it last (sharded: the worker's figure too), then the commit, once.
      if (o.threads === 1) expect(reads.some((p) => p.bytes > 0 && p.bytes < size)).toBe(true)
      expect(reads.at(-1)!.bytes).toBe(size)
      expect(seen.at(-1)).toMatchObject({ phase: 'commit', bytes: size, total: size })
      expect(seen.filter((p) => p.phase === 'commit')).toHaveLength(1)
    }
    const again: unknown[] = []
    const x = await ex(c.root, { onProgress: (p) => again.push(p) })
    expect((await x.refresh()).bytes).toBe(0)
    expect((await x.run('usage')).rows).toHaveLength(800)
    expect(again).toEqual([])
    x.close()
    // A report that throws (a display gone) stops the reports, not the update.
    rmSync(join(c.dir, '.index'), { recursive: true, force: true })
    let calls = 0
    const y = await ex(c.root, {
      onProgress: () => {
        calls++
        throw new Error('display gone')
      },
    })
    expect((await y.refresh()).bytes).toBe(size)
    expect((await y.run('usage')).rows).toHaveLength(800)
    expect(calls).toBe(1)
  })
})
