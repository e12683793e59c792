import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import { MODE_NAMES } from '../src/index.js'
import type { ModeName, Row } from '../src/index.js'
import { WIRE_FACTS_FILE, compactWireFacts, compactWireFactsUnlocked, factsNdjson, factsReader, factsTail, flowsInFacts, wholeLinesAnswer } from '../src/wire-facts.js'
import { BUNDLED_PRICES } from '../src/prices.js'
import { toNdjson } from '../src/output.js'
import { indexPaths, lockIndexSync } from '../src/index-store.js'
import { frame, frameAt } from '../src/frames.js'
import { DEFERRED_COMMIT_AT, FACTS_COMPACT_AT, MAINTAIN_MARKER, maintainInBackground, needsMaintenance } from '../src/index-maintain.js'

// The wire facts (.index/wire-facts.bin) answer usage, cost, sessions and tool_calls without
// DuckDB: their rows must be DuckDB's, on every fixture, after a build and after updates that
// append (flows added, open flows fed again), and a torn or stale file must fall back to DuckDB.
// The real ledger over the shared fixture capture, the package's basic fixture and a small
// generated one.
const ROOT = join(import.meta.dirname, '..', '..', '..')
const FIXTURES: Record<string, string> = {
  shared: join(ROOT, 'fixtures', 'capture'),
  basic: join(import.meta.dirname, 'fixtures', 'basic'),
}
const MODES: ModeName[] = ['usage', 'cost', 'sessions', 'tool_calls']
const FILES = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'] as const
const tmp = mkdtempSync(join(tmpdir(), 'extractors-wire-facts-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let n = 0

/** A copy of a capture's files (no index), or of the first `share` of each file's lines. */
function copyOf(dir: string, share = 1): string {
  const root = join(tmp, `cap${n++}`)
  mkdirSync(join(root, 'all-mitm-sse'), { recursive: true })
  for (const f of FILES) {
    const lines = readFileSync(join(dir, 'all-mitm-sse', f), 'utf8').split('\n').filter((l) => l !== '')
    writeFileSync(join(root, 'all-mitm-sse', f), lines.slice(0, Math.ceil(lines.length * share)).map((l) => l + '\n').join(''))
  }
  return root
}

/** A generated capture of `mb` MiB with `sessions` sessions. */
function gen(seed: number, mb: number, sessions = 3): string {
  const dir = join(tmp, `gen${n++}`)
  const r = spawnSync(process.execPath, [join(ROOT, 'fixtures', 'generate.mjs'), '--synthetic', dir, '--sessions', String(sessions), '--flows', '10000000', '--seed', String(seed), '--target-mb', String(mb)], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return dir
}

/** Appends the lines of `dir`'s files from `share` on to the copy `root`. */
function appendRest(dir: string, root: string, from: number, to = 1): void {
  for (const f of FILES) {
    const lines = readFileSync(join(dir, 'all-mitm-sse', f), 'utf8').split('\n').filter((l) => l !== '')
    appendFileSync(join(root, 'all-mitm-sse', f), lines.slice(Math.ceil(lines.length * from), Math.ceil(lines.length * to)).map((l) => l + '\n').join(''))
  }
}

const factsFile = (root: string): string => join(root, 'all-mitm-sse', '.index', WIRE_FACTS_FILE)
const dbFile = (root: string): string => join(root, 'all-mitm-sse', '.index', 'index.duckdb')

/** Brings the index up to date (one run, as the CLI does). */
async function update(root: string): Promise<void> {
  const x = await createExtractor({ logDir: root, threads: 1 })
  try {
    await x.refresh()
  } finally {
    x.close()
  }
}

/** Every mode's rows from a run on the current index. */
async function rowsOf(root: string): Promise<Record<string, Row[]>> {
  const x = await createExtractor({ logDir: root, threads: 1 })
  try {
    const out: Record<string, Row[]> = {}
    for (const m of MODES) out[m] = (await x.run(m)).rows
    // sessions as NDJSON: the lines the facts keep for it (sessionLines) when they hold it whole.
    out['sessions:ndjson'] = (await x.run('sessions', { ndjson: true })).ndjson!.map((l) => JSON.parse(l) as Row)
    return out
  } finally {
    x.close()
  }
}

/** The rows from the facts alone: DuckDB's file is made unopenable meanwhile (a run that opened it would fail). */
async function factsRowsOf(root: string): Promise<Record<string, Row[]>> {
  renameSync(dbFile(root), `${dbFile(root)}.away`)
  mkdirSync(dbFile(root))
  try {
    return await rowsOf(root)
  } finally {
    rmSync(dbFile(root), { recursive: true })
    renameSync(`${dbFile(root)}.away`, dbFile(root))
  }
}

/** The rows from DuckDB: the facts file moved away meanwhile. */
async function duckRowsOf(root: string): Promise<Record<string, Row[]>> {
  renameSync(factsFile(root), `${factsFile(root)}.away`)
  try {
    return await rowsOf(root)
  } finally {
    renameSync(`${factsFile(root)}.away`, factsFile(root))
  }
}

async function expectSame(root: string): Promise<Record<string, Row[]>> {
  const f = await factsRowsOf(root)
  const d = await duckRowsOf(root)
  for (const m of MODES) expect(f[m], m).toEqual(d[m])
  expect(f['sessions:ndjson'], 'sessions as NDJSON').toEqual(d.sessions)
  return d
}

describe('wire facts', () => {
  for (const [name, dir] of Object.entries(FIXTURES)) {
    it(`${name}: every facts mode gives DuckDB's rows, after a build and after appends`, async () => {
      const root = copyOf(dir, 0.4)
      await update(root)
      expect(existsSync(factsFile(root))).toBe(true)
      await expectSame(root)
      appendRest(dir, root, 0.4, 0.7)
      await update(root)
      expect(factsTail(indexPaths(join(root, 'all-mitm-sse')))?.segments).toBe(2)
      await expectSame(root)
      appendRest(dir, root, 0.7)
      await update(root)
      expect(factsTail(indexPaths(join(root, 'all-mitm-sse')))?.segments).toBe(3)
      const d = await expectSame(root)
      expect(d.usage!.length).toBeGreaterThan(0)
      expect(d.tool_calls!.length).toBeGreaterThan(0)
    })
  }

  it('NDJSON from the facts is toNdjson of the rows', async () => {
    const root = copyOf(FIXTURES.shared!)
    await update(root)
    const x = await createExtractor({ logDir: root, threads: 1 })
    try {
      for (const m of MODES) {
        const out = join(tmp, `out${n++}.ndjson`)
        const r = await x.run(m, { ndjsonTo: out })
        const rows = (await x.run(m)).rows
        expect(r.written).toBe(rows.length)
        expect(readFileSync(out, 'utf8')).toBe(rows.map((row) => JSON.stringify(row) + '\n').join(''))
        const lines = (await x.run(m, { ndjson: true })).ndjson
        expect(lines).toEqual(rows.map((row) => JSON.stringify(row)))
        const bytes = (await x.run(m, { ndjson: true, ndjsonBytes: true })).ndjsonBytes!
        expect(bytes.rows).toBe(rows.length)
        expect(Buffer.concat(bytes.chunks).toString('utf8')).toBe(rows.map((row) => JSON.stringify(row) + '\n').join(''))
      }
    } finally {
      x.close()
    }
  })

  it('a torn append is not used: DuckDB answers, and the next update writes the file whole', async () => {
    const dir = FIXTURES.shared!
    const root = copyOf(dir, 0.5)
    await update(root)
    appendRest(dir, root, 0.5)
    await update(root)
    const good = await duckRowsOf(root)
    const size = statSync(factsFile(root)).size
    truncateSync(factsFile(root), size - 7)
    expect(factsTail(indexPaths(join(root, 'all-mitm-sse')))).toBeUndefined()
    expect(await rowsOf(root)).toEqual(good)
    // The next update (nothing new: a new state all the same) writes the facts whole.
    writeFileSync(join(root, 'all-mitm-sse', '.index', 'state.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(root, 'all-mitm-sse', '.index', 'state.json'), 'utf8')), ledger_build: 'changed' }))
    await update(root)
    expect(factsTail(indexPaths(join(root, 'all-mitm-sse')))?.segments).toBe(1)
    expect(await factsRowsOf(root)).toEqual(good)
  })

  it('a damaged section is not used (its checksum), nor facts of another state', async () => {
    const root = copyOf(FIXTURES.basic!)
    await update(root)
    const good = await duckRowsOf(root)
    const b = readFileSync(factsFile(root))
    const copy = Buffer.from(b)
    copy[b.length - 3] = copy[b.length - 3]! ^ 0xff
    writeFileSync(factsFile(root), copy)
    expect(await rowsOf(root)).toEqual(good)
    writeFileSync(factsFile(root), b)
    const state = join(root, 'all-mitm-sse', '.index', 'state.json')
    const st = JSON.parse(readFileSync(state, 'utf8')) as { stamp: string }
    writeFileSync(state, JSON.stringify({ ...st, stamp: 'another' }))
    expect(await rowsOf(root)).toEqual(good)
  })

  it('sessions is its stored lines after a build, and summed from the columns once an append adds calls and flows', async () => {
    const dir = FIXTURES.shared!
    const root = copyOf(dir, 0.5)
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    const whole = wholeLinesAnswer('sessions', factsReader(paths), BUNDLED_PRICES)
    expect(whole?.lines?.length).toBe(1)
    const d = await duckRowsOf(root)
    expect(whole!.lines![0]!.all().map((l) => JSON.parse(l!) as Row)).toEqual(d.sessions)
    expect(wholeLinesAnswer('sessions', factsReader(paths), BUNDLED_PRICES, false)?.rows?.length).toBe(d.sessions!.length)
    // Other prices: not the stored lines.
    expect(wholeLinesAnswer('sessions', factsReader(paths), { ...BUNDLED_PRICES, version: 'other' })).toBeUndefined()
    appendRest(dir, root, 0.5)
    await update(root)
    expect(factsTail(paths)?.segments).toBe(2)
    expect(wholeLinesAnswer('sessions', factsReader(paths), BUNDLED_PRICES)).toBeUndefined()
    await expectSame(root)
  })

  it('a file written before sessions kept its lines (six sections a segment): sessions from the columns, not DuckDB', async () => {
    const root = copyOf(FIXTURES.shared!)
    await update(root)
    const d = await duckRowsOf(root)
    const b = readFileSync(factsFile(root))
    const len = b.readUInt32LE(4)
    const h = JSON.parse(b.toString('utf8', 12, 12 + len)) as { sections: [number, number][] }
    expect(h.sections.length).toBe(7)
    const kept = h.sections.slice(0, 6)
    const body = b.subarray(12 + len, 12 + len + kept.reduce((x, [l]) => x + l, 0))
    expect(12 + len + body.length + h.sections[6]![0]).toBe(b.length)
    writeFileSync(factsFile(root), Buffer.concat([frame('AWF3', Buffer.from(JSON.stringify({ ...h, sections: kept }), 'utf8')), body]))
    const f = await factsRowsOf(root)
    expect(f['sessions:ndjson']).toEqual(d.sessions)
    expect(f).toEqual(d)
  })

  it('a build makes the facts from its shards\' parts (each shard\'s own rows, merged): the same bytes as from the tables, on one thread or two', async () => {
    const dir = join(tmp, `gen${n++}`)
    const r = spawnSync(process.execPath, [join(ROOT, 'fixtures', 'generate.mjs'), '--synthetic', dir, '--sessions', '4', '--flows', '10000000', '--seed', '5', '--target-mb', '1'], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    for (const [src, threads] of [[dir, 2], [FIXTURES.shared!, 2], [dir, 1]] as const) {
      // (Part of the capture: some flows stay open, their rows pending.)
      const root = copyOf(src, 0.8)
      const x = await createExtractor({ logDir: root, threads, workerMinBytes: 1 })
      try {
        expect((await x.refresh()).shards).toBe(threads)
      } finally {
        x.close()
      }
      const made = readFileSync(factsFile(root))
      // An update with nothing to read writes the file whole from the tables (a state of another
      // ledger build makes the run open the index for writing; the ledger's version is the same).
      rmSync(factsFile(root))
      const state = join(root, 'all-mitm-sse', '.index', 'state.json')
      writeFileSync(state, JSON.stringify({ ...JSON.parse(readFileSync(state, 'utf8')), ledger_build: 'another' }))
      await update(root)
      const fromTables = readFileSync(factsFile(root))
      const body = (b: Buffer): Buffer => b.subarray(12 + b.readUInt32LE(4))
      const header = (b: Buffer): unknown => ({ ...JSON.parse(b.toString('utf8', 12, 12 + b.readUInt32LE(4))), stamp: undefined })
      expect(header(made)).toEqual(header(fromTables))
      expect(body(made).equals(body(fromTables))).toBe(true)
      await expectSame(root)
    }
  })

  it('a generated capture: the same rows (several sessions, many calls)', async () => {
    const dir = gen(7, 1, 4)
    const root = copyOf(dir, 0.9)
    await update(root)
    let d = await expectSame(root)
    // Small appends: segments (flows added, open flows fed again), each read over the ones before.
    for (const [from, to, segments] of [[0.9, 0.93, 2], [0.93, 0.96, 3], [0.96, 1, 4]] as const) {
      appendRest(dir, root, from, to)
      await update(root)
      const t = factsTail(indexPaths(join(root, 'all-mitm-sse')))
      expect(t?.segments, JSON.stringify(t)).toBe(segments)
      d = await expectSame(root)
    }
    expect(d.sessions!.length).toBeGreaterThan(1)
    expect(new Set(d.usage!.map((u) => u.session_id)).size).toBeGreaterThan(1)
  })
  it('NDJSON of segments that drop flows fed again is copied from the facts, not asked of DuckDB', async () => {
    const dir = gen(11, 1, 4)
    const root = copyOf(dir, 0.9)
    await update(root)
    appendRest(dir, root, 0.9)
    await update(root)
    const facts = readFileSync(factsFile(root))
    expect(facts.includes('"drop":["'), 'the append fed open flows again').toBe(true)
    const d = await duckRowsOf(root)
    // DuckDB's file unopenable: a run that asked it would fail.
    renameSync(dbFile(root), `${dbFile(root)}.away`)
    mkdirSync(dbFile(root))
    const x = await createExtractor({ logDir: root, threads: 1 })
    try {
      for (const m of MODES) {
        const out = join(tmp, `out${n++}.ndjson`)
        await x.run(m, { ndjsonTo: out })
        expect(readFileSync(out, 'utf8'), m).toBe(d[m]!.map((row) => JSON.stringify(row) + '\n').join(''))
      }
    } finally {
      x.close()
      rmSync(dbFile(root), { recursive: true })
      renameSync(`${dbFile(root)}.away`, dbFile(root))
    }
  })
})

describe('appends read without DuckDB (deferred)', () => {
  /** Appends a generated capture's files to the captures `roots`, its flows and sessions under new ids (a proxy's appends: the plain case). */
  const appendGen = (seed: number, tag: string, ...roots: string[]): void => {
    const extra = gen(seed, 0.2)
    for (const f of FILES) {
      const text = readFileSync(join(extra, 'all-mitm-sse', f), 'utf8').replaceAll('"flow_id":"syn-', `"flow_id":"${tag}-`).replaceAll('"session_id":"', `"session_id":"${tag}-`)
      for (const root of roots) appendFileSync(join(root, 'all-mitm-sse', f), text)
    }
  }
  /**
   * An extractor's run over `root` in another process, as another agenttap-analyze's (built
   * `dist`): `usage` (an append is read without DuckDB), or `refresh()` with `options`.
   */
  const inOtherProcess = (root: string, run: 'usage' | 'refresh', options = ''): void => {
    const r = spawnSync(process.execPath, otherProcessArgs(root, run, options), { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
  }
  /** The node arguments of such a run: `usage` writes its rows as JSON on stdout. */
  const otherProcessArgs = (root: string, run: 'usage' | 'refresh', options = ''): string[] => {
    const body = run === 'usage' ? "process.stdout.write(JSON.stringify((await x.run('usage')).rows))" : 'await x.refresh()'
    const code = `const { createExtractor } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'index.js'))}); const x = await createExtractor({ logDir: ${JSON.stringify(root)}, threads: 1, ${options} }); ${body}; x.close()`
    return ['--input-type=module', '-e', code]
  }
  const stateOf = (root: string): { deferred?: string[] } => JSON.parse(readFileSync(join(root, 'all-mitm-sse', '.index', 'state.json'), 'utf8')) as { deferred?: string[] }
  /** The rows of the modes an append changes (the prompt cache's `prompts -n 50` too). */
  const all = async (at: string, modes: readonly ModeName[] = ['usage', 'cost', 'sessions', 'tool_calls', 'flows', 'turns', 'errors', 'cache']): Promise<Record<string, Row[]>> => {
    const x = await createExtractor({ logDir: at, threads: 1 })
    try {
      const out: Record<string, Row[]> = {}
      for (const m of modes) out[m] = (await x.run(m)).rows
      out.prompts = (await x.run('user_prompts', { limit: 50 })).rows
      return out
    } finally {
      x.close()
    }
  }

  /**
   * A capture `src` cut by time: `appendByTime` appends its records with `from` ≤ ts < `to` to
   * each of `roots` (a cut by time leaves flows open, never a record before its flow's);
   * `cutsAt` gives the times at these shares of its stream lines (each cut's flow, at least, is
   * open when the cut is read), all different.
   */
  const byTime = (src: string) => {
    const lines = (f: string): string[] => readFileSync(join(src, 'all-mitm-sse', f), 'utf8').split('\n').filter((l) => l !== '')
    const tsOf = (l: string): string => (JSON.parse(l) as { ts: string }).ts
    return {
      appendByTime(from: string | undefined, to: string | undefined, ...roots: string[]): void {
        for (const f of FILES) {
          const text = lines(f).filter((l) => (from === undefined || tsOf(l) >= from) && (to === undefined || tsOf(l) < to)).map((l) => l + '\n').join('')
          for (const root of roots) appendFileSync(join(root, 'all-mitm-sse', f), text)
        }
      },
      cutsAt(shares: number[]): string[] {
        const ts = lines('sse_lines.jsonl').map(tsOf)
        const cuts = shares.map((q) => ts[Math.floor(q * ts.length)]!)
        expect(new Set(cuts).size).toBe(cuts.length)
        return cuts
      },
    }
  }

  it('usage after small appends answers from the facts alone; DuckDB takes the appends on its next use, with the same rows as an index built at once', async () => {
    const root = copyOf(gen(11, 1))
    const whole = copyOf(root)
    await update(root)
    const state = (): { deferred?: string[] } => JSON.parse(readFileSync(join(root, 'all-mitm-sse', '.index', 'state.json'), 'utf8')) as { deferred?: string[] }
    let deferred = 0
    for (let i = 0; i < 3; i++) {
      // Whole flows under new ids (a proxy's appends): the plain case.
      const extra = gen(20 + i, 0.2)
      for (const f of FILES) {
        const text = readFileSync(join(extra, 'all-mitm-sse', f), 'utf8').replaceAll('"flow_id":"syn-', `"flow_id":"app${i}-`).replaceAll('"session_id":"', `"session_id":"app${i}-`)
        appendFileSync(join(root, 'all-mitm-sse', f), text)
        appendFileSync(join(whole, 'all-mitm-sse', f), text)
      }
      // DuckDB cannot be opened: the run reads the append into the facts, or fails.
      const f = await factsRowsOf(root)
      expect(f.usage!.length).toBeGreaterThan(0)
      deferred = state().deferred?.length ?? 0
      expect(deferred).toBe(i + 1)
    }
    const facts = await factsRowsOf(root)
    const duck = await duckRowsOf(root)
    for (const m of MODES) expect(facts[m], m).toEqual(duck[m])
    expect(state().deferred).toBeUndefined()
    // Every mode of the index that took the appends = an index built from the whole capture.
    await update(whole)
    expect(await all(root)).toEqual(await all(whole))
  })

  it('usage, cost and tool_calls after appends of later flows are the segments\' stored lines one after another; an append of earlier flows is merged from the rows', async () => {
    const root = copyOf(gen(41, 0.5))
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    /** Appends a generated capture under new ids, its times put in month `month` of 2026 when given (the generator starts every capture at one instant). */
    const append = (seed: number, tag: string, month: string | undefined): void => {
      const extra = gen(seed, 0.2)
      for (const f of FILES) {
        let text = readFileSync(join(extra, 'all-mitm-sse', f), 'utf8').replaceAll('"flow_id":"syn-', `"flow_id":"${tag}-`).replaceAll('"session_id":"', `"session_id":"${tag}-`)
        if (month !== undefined) text = text.replaceAll('"ts":"2026-11-', `"ts":"2026-${month}-`)
        appendFileSync(join(root, 'all-mitm-sse', f), text)
      }
    }
    const ndjsonOf = (m: ModeName): { parts: number; text: string } | undefined => {
      const a = wholeLinesAnswer(m, factsReader(paths), BUNDLED_PRICES)
      if (a === undefined) return undefined
      const chunks: Buffer[] = []
      factsNdjson(a, (b) => chunks.push(Buffer.from(b)))
      return { parts: a.lines!.length, text: Buffer.concat(chunks).toString('utf8') }
    }
    append(42, 'later', '12')
    await update(root)
    expect(factsTail(paths)?.segments).toBe(2)
    const got = { usage: ndjsonOf('usage'), cost: ndjsonOf('cost'), tool_calls: ndjsonOf('tool_calls') }
    expect(got.usage?.parts).toBe(2)
    expect(got.tool_calls?.parts).toBe(2)
    const d = await duckRowsOf(root)
    for (const m of ['usage', 'cost', 'tool_calls'] as const) expect(got[m]?.text, m).toBe(d[m]!.map((r) => JSON.stringify(r) + '\n').join(''))
    // Flows of an earlier time appended after them: their rows go among the ones before.
    append(43, 'early', undefined)
    await update(root)
    for (const m of ['usage', 'cost', 'tool_calls'] as const) expect(ndjsonOf(m), m).toBeUndefined()
    await expectSame(root)
  })

  it('a run that died between committing a deferred append to DuckDB and rewriting state.json: the next run commits it again without a row, cache break or prompt twice', async () => {
    const root = copyOf(gen(12, 1))
    const whole = copyOf(root)
    await update(root)
    appendGen(30, 'crash', root, whole)
    await factsRowsOf(root)
    expect(stateOf(root).deferred?.length).toBe(1)
    // Everything of the index but DuckDB's files, as the append left it.
    const idx = join(root, 'all-mitm-sse', '.index')
    const saved = join(tmp, `saved${n++}`)
    cpSync(idx, saved, { recursive: true, filter: (p) => !p.slice(idx.length + 1).startsWith('index.duckdb') })
    // A run that opens DuckDB commits the append (with its cache breaks), then rewrites the rest.
    const x = await createExtractor({ logDir: root, threads: 1 })
    try {
      expect((await x.run('cache')).rows.some((r) => String(r.flow_id).startsWith('crash-'))).toBe(true)
    } finally {
      x.close()
    }
    expect(stateOf(root).deferred).toBeUndefined()
    // As if it had died right after DuckDB's commit: state.json, the deferred dir, the prompt
    // cache and the facts as they were before it.
    for (const e of readdirSync(idx)) if (!e.startsWith('index.duckdb')) rmSync(join(idx, e), { recursive: true, force: true })
    cpSync(saved, idx, { recursive: true })
    expect(stateOf(root).deferred?.length).toBe(1)
    // The next run takes the append again: every mode as an index built at once.
    await update(whole)
    const modes = MODE_NAMES.filter((m) => m !== 'reconcile')
    const got = await all(root, modes)
    expect(stateOf(root).deferred).toBeUndefined()
    expect(got).toEqual(await all(whole, modes))
    expect(got.cache!.length).toBeGreaterThan(0)
    // No cache break stored twice (`cache` could hide a duplicate behind a distinct).
    const y = await createExtractor({ logDir: root, threads: 1 })
    try {
      expect((await y.query(`select key, count(*) as n from cache_breaks group by key having count(*) > 1`)).rows).toEqual([])
      expect((await y.query(`select key from cache_done group by key having count(*) > 1`)).rows).toEqual([])
    } finally {
      y.close()
    }
    // A run after it: nothing changes.
    expect(await all(root, modes)).toEqual(await all(whole, modes))
  })
  it('appends while flows are open (streams the proxy was still writing) are read without DuckDB too: the open flows fed again, every mode then as an index built at once', async () => {
    const src = gen(15, 1)
    const { appendByTime, cutsAt } = byTime(src)
    const cuts = cutsAt([0.4, 0.55, 0.7, 0.85])
    const root = copyOf(src, 0)
    const whole = copyOf(src, 0)
    appendByTime(undefined, cuts[0], root, whole)
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    const deadline = (): number | null => (JSON.parse(readFileSync(join(paths.dir, 'state.json'), 'utf8')) as { deadline_ms: number | null }).deadline_ms
    expect(deadline()).not.toBeNull()
    for (let i = 0; i < cuts.length; i++) {
      appendByTime(cuts[i], cuts[i + 1], root, whole)
      // DuckDB cannot be opened: the run reads the append into the facts, or fails.
      const f = await factsRowsOf(root)
      expect(f.usage!.length).toBeGreaterThan(0)
      expect(stateOf(root).deferred?.length).toBe(i + 1)
      // Flows open after every cut but the last (the capture's end).
      if (i < cuts.length - 1) expect(deadline()).not.toBeNull()
      // The rows then are those of an index built at once from the same bytes: an open flow is
      // open (pending), not truncated (which `sessions` would count as an error).
      const once = copyOf(root)
      await update(once)
      expect(f, `cut ${i}`).toEqual(await rowsOf(once))
    }
    expect(deadline()).toBeNull()
    // The facts and DuckDB (which commits the appends, their open flows with them) answer alike,
    // and every mode is as an index built from the whole capture at once.
    await expectSame(root)
    await update(whole)
    expect(await all(root)).toEqual(await all(whole))
  })

  it('while another run holds the index, an append (open flows fed again) is answered from the facts with its segment kept in memory: no wait, nothing written; the next run writes it', async () => {
    const src = gen(18, 1)
    const { appendByTime, cutsAt } = byTime(src)
    const [cut0, cut1] = cutsAt([0.5, 0.75])
    const root = copyOf(src, 0)
    const whole = copyOf(src, 0)
    appendByTime(undefined, cut0, root, whole)
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    // Flows are open: the view feeds them again from pending.json, as an append does.
    expect((JSON.parse(readFileSync(join(paths.dir, 'state.json'), 'utf8')) as { deadline_ms: number | null }).deadline_ms).not.toBeNull()
    appendByTime(cut0, cut1, root, whole)
    await update(whole)
    const expected = await rowsOf(whole)
    const files = (): Record<string, string> => Object.fromEntries(readdirSync(paths.dir).filter((e) => e !== 'lock').map((e) => [e, statSync(join(paths.dir, e)).isFile() ? readFileSync(join(paths.dir, e)).toString('base64') : 'dir']))
    const before = files()
    // Another run holds the index (the background maintenance, say); DuckDB cannot be opened
    // either: a run that waited would give up at once (lockTimeoutMs), one that opened DuckDB fails.
    const release = lockIndexSync(paths, 1000)!
    expect(release).toBeDefined()
    renameSync(dbFile(root), `${dbFile(root)}.away`)
    mkdirSync(dbFile(root))
    let waited: string | undefined
    try {
      const x = await createExtractor({ logDir: root, threads: 1, lockTimeoutMs: 50, onWait: (m) => (waited = m) })
      try {
        const got: Record<string, Row[]> = {}
        for (const m of MODES) got[m] = (await x.run(m)).rows
        got['sessions:ndjson'] = (await x.run('sessions', { ndjson: true })).ndjson!.map((l) => JSON.parse(l) as Row)
        expect(got).toEqual(expected)
        expect(x.lastUpdate?.bytes).toBeGreaterThan(0)
        expect((await x.problems(1)).total).toBe(0)
      } finally {
        x.close()
      }
    } finally {
      rmSync(dbFile(root), { recursive: true })
      renameSync(`${dbFile(root)}.away`, dbFile(root))
      release()
    }
    expect(waited).toBeUndefined()
    // Nothing was written: the state, the facts, pending.json as they were; no dir left behind.
    expect(files()).toEqual(before)
    // The lock free again, the next run writes the append (a deferred one) and answers the same.
    const f = await factsRowsOf(root)
    expect(stateOf(root).deferred?.length).toBe(1)
    for (const m of MODES) expect(f[m], m).toEqual(expected[m])
    await expectSame(root)
  })

  it('the facts compacted from their own segments are the bytes written from the tables: after appends that drop open flows, deferred ones, and an update through DuckDB', async () => {
    const src = gen(16, 1)
    const lines = (f: string): string[] => readFileSync(join(src, 'all-mitm-sse', f), 'utf8').split('\n').filter((l) => l !== '')
    const ts = lines('sse_lines.jsonl').map((l) => (JSON.parse(l) as { ts: string }).ts)
    const cuts = [0.3, 0.45, 0.6, 0.75, 0.9].map((q) => ts[Math.floor(q * ts.length)]!)
    const root = copyOf(src, 0)
    const appendByTime = (from: string | undefined, to: string | undefined): void => {
      for (const f of FILES) {
        appendFileSync(join(root, 'all-mitm-sse', f), lines(f).filter((l) => {
          const t = (JSON.parse(l) as { ts: string }).ts
          return (from === undefined || t >= from) && (to === undefined || t < to)
        }).map((l) => l + '\n').join(''))
      }
    }
    appendByTime(undefined, cuts[0])
    await update(root)
    for (let i = 0; i < cuts.length; i++) {
      appendByTime(cuts[i], cuts[i + 1])
      // Two appends read without DuckDB, then one through it (its segment from the tables), and so on.
      if (i % 3 === 2) await update(root)
      else await factsRowsOf(root)
    }
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    expect(factsTail(paths)!.segments).toBe(cuts.length + 1)
    // The same index written whole from DuckDB's tables (the deferred appends committed first).
    const twin = copyOf(root, 0)
    rmSync(join(twin, 'all-mitm-sse'), { recursive: true })
    cpSync(join(root, 'all-mitm-sse'), join(twin, 'all-mitm-sse'), { recursive: true })
    const twinPaths = indexPaths(join(twin, 'all-mitm-sse'))
    rmSync(join(twinPaths.dir, WIRE_FACTS_FILE))
    const x = await createExtractor({ logDir: twin, threads: 1, compactIndex: true })
    try {
      await x.refresh()
    } finally {
      x.close()
    }
    expect(compactWireFacts(paths)).toBe(true)
    const sectionsOf = (p: typeof paths): Buffer[] => {
      const b = readFileSync(join(p.dir, WIRE_FACTS_FILE))
      const fr = frameAt(b, 0, 'AWF3')!
      expect(fr.next + (JSON.parse(fr.payload.toString('utf8')) as { sections: [number, number][] }).sections.reduce((n, [len]) => n + len, 0)).toBe(b.length)
      const out: Buffer[] = []
      let at = fr.next
      for (const [len] of (JSON.parse(fr.payload.toString('utf8')) as { sections: [number, number][] }).sections) {
        out.push(b.subarray(at, at + len))
        at += len
      }
      return out
    }
    const mine = sectionsOf(paths)
    const theirs = sectionsOf(twinPaths)
    expect(mine.length).toBe(7)
    for (let i = 0; i < mine.length; i++) expect(mine[i]!.equals(theirs[i]!), `section ${i}`).toBe(true)
    // And the compacted facts answer as DuckDB does.
    await expectSame(root)
  })

  /** Waits (up to a minute) for the background maintenance of `root`'s index to remove its marker. */
  const maintained = async (root: string): Promise<void> => {
    const marker = join(root, 'all-mitm-sse', '.index', MAINTAIN_MARKER)
    for (let t0 = Date.now(); existsSync(marker); ) {
      if (Date.now() - t0 > 60_000) throw new Error('the background maintenance did not finish within a minute')
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  it('past half the deferred appends\' cap, or half the facts\' segment cap, a detached process commits the appends to DuckDB and writes the facts whole; the rows are those of an index built at once', async () => {
    const root = copyOf(gen(13, 0.5))
    const whole = copyOf(root)
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    const marker = join(paths.dir, MAINTAIN_MARKER)
    let i = 0
    const appendAndRun = async (): Promise<void> => {
      appendGen(60 + i, `bg${i}`, root, whole)
      const x = await createExtractor({ logDir: root, threads: 1, maintainInBackground: true })
      try {
        expect((await x.run('usage')).rows.some((r) => String(r.flow_id).startsWith(`bg${i}-`))).toBe(true)
      } finally {
        x.close()
      }
      i++
    }
    for (let k = 0; k < DEFERRED_COMMIT_AT; k++) {
      await appendAndRun()
      if (k < DEFERRED_COMMIT_AT - 1) {
        // Below half the cap: read into the facts, nothing started.
        expect(stateOf(root).deferred?.length).toBe(k + 1)
        expect(existsSync(marker)).toBe(false)
      }
    }
    // The run that reached half the cap started the maintenance (its marker), which takes the
    // lock like any run: the appends committed, the facts one segment again.
    await maintained(root)
    expect(stateOf(root).deferred).toBeUndefined()
    expect(readdirSync(paths.dir).filter((e) => e.startsWith('deferred-'))).toEqual([])
    expect(factsTail(paths)?.segments).toBe(1)
    // Updates through DuckDB add segments without deferred appends: at half the segment cap, the
    // next run starts the maintenance too.
    while (factsTail(paths)!.segments < FACTS_COMPACT_AT - 1) {
      appendGen(60 + i, `bg${i}`, root, whole)
      i++
      await update(root)
    }
    expect(existsSync(marker)).toBe(false)
    await appendAndRun()
    await maintained(root)
    expect(factsTail(paths)?.segments).toBe(1)
    expect(stateOf(root).deferred).toBeUndefined()
    // The facts and DuckDB answer alike, and every mode as an index built from the whole capture.
    await expectSame(root)
    await update(whole)
    expect(await all(root)).toEqual(await all(whole))
  })

  it('runs at once, appends between them, the background maintenance among them: each answers the rows of an index built at once from the same bytes; then the facts, DuckDB and such an index agree', async () => {
    const root = copyOf(gen(19, 0.5))
    await update(root)
    /** `usage` in another process (the CLI's maintenance on), its rows as JSON. */
    const usageElsewhere = (): Promise<Row[]> => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, otherProcessArgs(root, 'usage', 'maintainInBackground: true'), { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (err += d.toString()))
      child.on('close', (status) => (status === 0 ? resolve(JSON.parse(out) as Row[]) : reject(new Error(`usage failed (${status}): ${err}`))))
    })
    // Rounds back to back (a maintenance started by one runs into the next): the three runs of a
    // round agree; each round's rows are checked afterwards against an index built at once from
    // the bytes the round read.
    let maintenances = 0
    const rounds: { sizes: number[]; rows: Row[] }[] = []
    for (let i = 0; i < 14; i++) {
      appendGen(120 + i, `cc${i}`, root)
      if (existsSync(join(root, 'all-mitm-sse', '.index', MAINTAIN_MARKER))) maintenances++
      const got = await Promise.all([usageElsewhere(), usageElsewhere(), usageElsewhere()])
      for (const [k, rows] of got.entries()) expect(rows, `round ${i}, run ${k}`).toEqual(got[0])
      expect(got[0]!.some((r) => String(r.flow_id).startsWith(`cc${i}-`))).toBe(true)
      rounds.push({ sizes: FILES.map((f) => statSync(join(root, 'all-mitm-sse', f)).size), rows: got[0]! })
    }
    for (const [i, r] of rounds.entries()) {
      const at = join(tmp, `round${n++}`)
      mkdirSync(join(at, 'all-mitm-sse'), { recursive: true })
      FILES.forEach((f, k) => writeFileSync(join(at, 'all-mitm-sse', f), readFileSync(join(root, 'all-mitm-sse', f)).subarray(0, r.sizes[k])))
      await update(at)
      expect(r.rows, `round ${i}`).toEqual(JSON.parse(JSON.stringify((await rowsOf(at)).usage)))
    }
    await maintained(root)
    expect(readdirSync(join(root, 'all-mitm-sse', '.index')).filter((e) => e.startsWith('view-'))).toEqual([])
    await expectSame(root)
    const once = copyOf(root)
    await update(once)
    expect(await all(root)).toEqual(await all(once))
    // (How often a round began while a maintenance ran: told, not asserted, it is timing.)
    console.log(`runs at once: a maintenance was running at the start of ${maintenances} of 14 rounds`)
  })

  it('the facts written whole outside the lock: a run that appended meanwhile keeps its segment, after the compacted one', async () => {
    const root = copyOf(gen(15, 0.5))
    const whole = copyOf(root)
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    for (let i = 0; i < 4; i++) {
      appendGen(90 + i, `out${i}`, root, whole)
      await factsRowsOf(root)
    }
    expect(factsTail(paths)?.segments).toBe(5)
    // Another process appends (through the index's lock) after the facts were read and written
    // whole, before this one takes the lock to put them in place.
    const other = (tag: string, seed: number): (() => (() => void) | undefined) => () => {
      appendGen(seed, tag, root, whole)
      inOtherProcess(root, 'usage')
      return lockIndexSync(paths, 5_000)
    }
    expect(compactWireFactsUnlocked(paths, other('mid0', 95))).toBe(true)
    // The compacted segment, then the one the other run appended.
    expect(factsTail(paths)?.segments).toBe(2)
    expect(stateOf(root).deferred?.length).toBe(5)
    await expectSame(root)
    await update(whole)
    expect(await all(root)).toEqual(await all(whole))
  })

  it('the facts written whole outside the lock are left unused when the lock cannot be had, or another run wrote the file whole meanwhile', async () => {
    const root = copyOf(gen(16, 0.5))
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    for (let i = 0; i < 2; i++) {
      appendGen(98 + i, `left${i}`, root)
      await factsRowsOf(root)
    }
    expect(factsTail(paths)?.segments).toBe(3)
    const tmps = (): string[] => readdirSync(paths.dir).filter((e) => e.endsWith('.tmp'))
    // No lock: nothing put in place, nothing left behind.
    const kept = readFileSync(factsFile(root))
    expect(compactWireFactsUnlocked(paths, () => undefined)).toBe(false)
    expect(readFileSync(factsFile(root)).equals(kept)).toBe(true)
    expect(tmps()).toEqual([])
    // Another maintenance wrote the file whole meanwhile: left as that run wrote it.
    const rewrite = (): (() => void) | undefined => {
      inOtherProcess(root, 'refresh', 'compactIndex: true')
      return lockIndexSync(paths, 5_000)
    }
    expect(compactWireFactsUnlocked(paths, rewrite)).toBe(false)
    expect(factsTail(paths)?.segments).toBe(1)
    const written = readFileSync(factsFile(root))
    expect(tmps()).toEqual([])
    await expectSame(root)
    expect(readFileSync(factsFile(root)).equals(written)).toBe(true)
  })

  it('one maintenance at a time: a fresh marker stops a second start, a stale one (a process that died) is replaced', async () => {
    const root = copyOf(gen(14, 0.5))
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    const marker = join(paths.dir, MAINTAIN_MARKER)
    // Nothing to maintain: nothing started.
    expect(needsMaintenance(paths)).toBe(false)
    expect(maintainInBackground(paths, join(root, 'all-mitm-sse'))).toBe(false)
    for (let i = 0; i < DEFERRED_COMMIT_AT; i++) {
      appendGen(80 + i, `one${i}`, root)
      await factsRowsOf(root)
    }
    expect(needsMaintenance(paths)).toBe(true)
    writeFileSync(marker, '1')
    expect(maintainInBackground(paths, join(root, 'all-mitm-sse'))).toBe(false)
    expect(stateOf(root).deferred?.length).toBe(DEFERRED_COMMIT_AT)
    const old = new Date(Date.now() - 3_600_000)
    utimesSync(marker, old, old)
    expect(maintainInBackground(paths, join(root, 'all-mitm-sse'))).toBe(true)
    await maintained(root)
    expect(stateOf(root).deferred).toBeUndefined()
    expect(needsMaintenance(paths)).toBe(false)
  })
})

describe('flowsInFacts', () => {
  it('finds whole flow ids only (not a prefix, a suffix or the middle of another)', async () => {
    const root = copyOf(FIXTURES.shared!)
    await update(root)
    const paths = indexPaths(join(root, 'all-mitm-sse'))
    const flows = (await duckRowsOf(root)).usage!.map((r) => String(r.flow_id))
    const one = flows[0]!
    const found = flowsInFacts(paths, [one, one.slice(0, -1), one.slice(1), `${one}x`, 'no-such-flow'])
    expect([...found!]).toEqual([one])
  })
})

describe('factsNdjson', () => {
  it('hands on pieces that end at line ends, also past its buffer (rows longer than it too)', () => {
    const columns = ['a', 'b', 'c']
    const rows: (string | number | null)[][] = []
    for (let i = 0; i < 20000; i++) rows.push([`row ${i} ${'x'.repeat(i % 300)}`, i % 7 === 0 ? null : i * 1.5, i === 777 ? 'é"\n'.repeat(400000) : 'ü'])
    const chunks: string[] = []
    factsNdjson({ columns, rows }, (b) => void chunks.push(b.toString('utf8')))
    for (const c of chunks) expect(c.endsWith('\n')).toBe(true)
    expect(chunks.length).toBeGreaterThan(2)
    expect(chunks.join('')).toBe(toNdjson(columns, rows.map((r) => ({ a: r[0]!, b: r[1]!, c: r[2]! }))))
  })
})
