import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createJsonlWriter, follow, readJsonl, readJsonlBatches, readLast, type JsonlError, type JsonlItem } from '../src/index.js'
import { prng, tempDir, until } from './helpers.js'

let t: ReturnType<typeof tempDir>
beforeEach(() => {
  t = tempDir()
})
afterEach(() => t.cleanup())

const rec = (i: number, extra: Record<string, unknown> = {}) => ({ v: 1, type: 'sse', ts: '2026-11-20T10:00:00.000Z', flow_id: `f${i % 7}`, session_id: 's', seq: i, data: `{"i":${i},"t":"é\\n"}`, ...extra })

async function collect(it: AsyncIterable<JsonlItem>): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const x of it) out.push(x.value)
  return out
}

describe('readJsonl', () => {
  it('reads a file and a byte stream the same way, reporting bad lines', async () => {
    const p = join(t.dir, 'a.jsonl')
    writeFileSync(p, '{"a":1}\nnot json\n{"b":2}')
    const errors: JsonlError[] = []
    expect(await collect(readJsonl(p, { onError: (e) => errors.push(e), chunkBytes: 3 }))).toEqual([{ a: 1 }, { b: 2 }])
    expect(errors.map((e) => [e.code, e.file, e.line])).toEqual([['MALFORMED_JSON', p, 2]])
    const stream = Readable.from([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\n')])
    expect(await collect(readJsonl(stream))).toEqual([{ a: 1 }, { b: 2 }])
  })

  it('reports errors in order with the records around them, in batches or one by one', async () => {
    const p = join(t.dir, 'o.jsonl')
    writeFileSync(p, '{"a":1}\n\u001b[2J{bad\n{"b":2}\n')
    const seen: string[] = []
    for await (const x of readJsonl(p, { onError: (e) => seen.push(`error ${e.line}`) })) seen.push(`record ${x.line}`)
    expect(seen).toEqual(['record 1', 'error 2', 'record 3'])
    const batches = []
    for await (const b of readJsonlBatches(p)) batches.push(b)
    expect(batches.flat().map((e) => (e.error ? `error ${e.error.code} ${e.line}` : `record ${e.line}`))).toEqual(['record 1', 'error MALFORMED_JSON 2', 'record 3'])
    const err = batches.flat()[1]?.error
    expect(err?.message).not.toMatch(/\u001b/) // the bad bytes quoted by JSON.parse are escaped
    expect(err?.message).toContain('\\u001b')
  })
})

describe('createJsonlWriter', () => {
  it('appends one whole line per record and flushes on close', async () => {
    const p = join(t.dir, 'sub', 'w.jsonl')
    const w = createJsonlWriter(p, { fsync: 'always' })
    for (let i = 0; i < 2000; i++) w.write(rec(i))
    await w.close()
    const lines = readFileSync(p, 'utf8').split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i))
    expect(w.stats).toMatchObject({ records: 2000, failed: 0 })
    expect(() => w.write(rec(1))).toThrow(/write after close/)
  })

  it('sync: each line is in the file when write returns; a failed append is reported, counted, and the writer goes on', async () => {
    const p = join(t.dir, 'sync.jsonl')
    const w = createJsonlWriter(p, { sync: true })
    w.write(rec(0))
    w.writeLine('{"v":1,"seq":1}')
    expect(readFileSync(p, 'utf8')).toBe(`${JSON.stringify(rec(0))}\n{"v":1,"seq":1}\n`)
    expect(w.stats).toMatchObject({ records: 2, failed: 0, pendingBytes: 0 })
    await w.close()
    // /dev/full accepts the open and fails every write with ENOSPC.
    if (!existsSync('/dev/full')) return
    const errors: JsonlError[] = []
    const full = createJsonlWriter('/dev/full', { sync: true, mkdir: false, fsync: 'never', onError: (e) => errors.push(e) })
    full.write(rec(1))
    full.write(rec(2))
    expect(errors.map((e) => e.code)).toEqual(['IO_ERROR', 'IO_ERROR'])
    expect(errors[0]!.message).toMatch(/could not append 1 line\(s\): ENOSPC/)
    expect(errors[0]!.file).toBe('/dev/full')
    expect(full.stats).toMatchObject({ records: 0, failed: 2 })
    await full.close()
  })

  it('never interleaves lines when several processes append to one file', async () => {
    const p = join(t.dir, 'shared.jsonl')
    const dist = join(import.meta.dirname, '../dist/index.js')
    const script = `import { createJsonlWriter } from ${JSON.stringify(dist)}
      const id = process.argv[1]
      // C appends synchronously, A and B through the thread pool: all three modes share the file.
      const w = createJsonlWriter(${JSON.stringify(p)}, { fsync: 'never', maxBatchBytes: 4096, sync: id === 'C' })
      for (let i = 0; i < 3000; i++) w.write({ w: id, i, pad: 'x'.repeat(i % 500) })
      await w.close()`
    await Promise.all(
      ['A', 'B', 'C'].map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            const c = spawn(process.execPath, ['--input-type=module', '-e', script, id], { stdio: 'inherit' })
            c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${id} exited ${code}`))))
          }),
      ),
    )
    const lines = readFileSync(p, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(9000)
    const seen: Record<string, number[]> = { A: [], B: [], C: [] }
    for (const l of lines) {
      const r = JSON.parse(l) as { w: string; i: number }
      seen[r.w]!.push(r.i)
    }
    for (const id of ['A', 'B', 'C']) expect(seen[id]).toEqual(Array.from({ length: 3000 }, (_, i) => i))
  })
})

describe('readLast', () => {
  it('returns the last N matching records in file order, across block boundaries', async () => {
    const p = join(t.dir, 'l.jsonl')
    const all = Array.from({ length: 500 }, (_, i) => rec(i, i % 50 === 0 ? { big: 'y'.repeat(3000) } : {}))
    writeFileSync(p, all.map((r) => JSON.stringify(r)).join('\n') + '\n')
    for (const blockBytes of [64, 1000, 1 << 20]) {
      expect(await readLast(p, 3, undefined, { blockBytes })).toEqual(all.slice(-3))
      const odd = (v: unknown) => (v as { seq: number }).seq % 2 === 1
      expect(await readLast(p, 5, odd, { blockBytes })).toEqual(all.filter(odd).slice(-5))
      expect(await readLast(p, 10_000, undefined, { blockBytes })).toEqual(all)
      expect(await readLast(p, 2, undefined, { blockBytes, contains: '"big"' })).toEqual(all.filter((r) => 'big' in r).slice(-2))
    }
  })

  it('agrees with a full scan on random files (seeded), and reports torn and over-long lines', async () => {
    const p = join(t.dir, 'r.jsonl')
    for (let seed = 1; seed <= 15; seed++) {
      const rnd = prng(seed)
      const parts: string[] = []
      for (let i = 0; i < 200; i++) {
        const k = rnd()
        parts.push(k < 0.05 ? '{"bad": ' : k < 0.1 ? '' : JSON.stringify({ i, s: 'é'.repeat(Math.floor(rnd() * 300)) }))
      }
      const text = parts.join(rnd() < 0.5 ? '\n' : '\r\n') + (rnd() < 0.5 ? '\n' : '')
      writeFileSync(p, text)
      const full = await collect(readJsonl(p))
      const n = 1 + Math.floor(rnd() * 40)
      expect(await readLast(p, n, undefined, { blockBytes: 1 + Math.floor(rnd() * 700) })).toEqual(full.slice(-n))
    }
    // A rare prefilter string (whole blocks without it are skipped in one search): the same lines
    // as a full scan, whatever the block size, with matches at block edges, malformed lines among them.
    for (let seed = 1; seed <= 15; seed++) {
      const rnd = prng(100 + seed)
      const parts: string[] = []
      for (let i = 0; i < 300; i++) {
        const k = rnd()
        parts.push(k < 0.03 ? '{"needle": ' : JSON.stringify({ i, ...(k < 0.1 ? { needle: true } : {}), s: 'x'.repeat(Math.floor(rnd() * 200)) }))
      }
      writeFileSync(p, parts.join(rnd() < 0.5 ? '\n' : '\r\n') + '\n')
      const full = (await collect(readJsonl(p))).filter((v) => (v as { needle?: boolean }).needle === true)
      const n = 1 + Math.floor(rnd() * 30)
      const bad: string[] = []
      expect(await readLast(p, n, undefined, { contains: '"needle"', blockBytes: 1 + Math.floor(rnd() * 2000), onError: (e) => bad.push(e.code) })).toEqual(full.slice(-n))
      expect(bad.every((c) => c === 'MALFORMED_JSON')).toBe(true)
    }
    writeFileSync(p, `{"a":1}\n{"x":"${'q'.repeat(5000)}"}\n{"b":2}\n{"torn":`)
    const errors: JsonlError[] = []
    expect(await readLast(p, 5, undefined, { maxLineBytes: 1000, blockBytes: 512, onError: (e) => errors.push(e) })).toEqual([{ a: 1 }, { b: 2 }])
    expect(errors.map((e) => e.code)).toEqual(['TRUNCATED_LINE', 'LINE_TOO_LONG'])
  })
})

/** follow's onCaughtUp as a signal a test can wait for: `next()` resolves at its next call. */
function caughtUp(): { onCaughtUp: () => void; next: () => Promise<void> } {
  const waiters: Array<() => void> = []
  return { onCaughtUp: () => waiters.splice(0).forEach((w) => w()), next: () => new Promise<void>((r) => waiters.push(r)) }
}

describe('follow', () => {
  it('starts at the end, yields appended lines, never a half line, and stops on abort', async () => {
    const p = join(t.dir, 'f.jsonl')
    writeFileSync(p, '{"old":1}\n{"half":')
    const ac = new AbortController()
    const got: unknown[] = []
    const sig = caughtUp()
    const ready = sig.next()
    const done = (async () => {
      for await (const x of follow(p, { signal: ac.signal, pollMs: 20, onCaughtUp: sig.onCaughtUp })) got.push(x.value)
    })()
    await ready
    appendFileSync(p, '2}\n{"new":')
    await until(() => got.length === 1)
    expect(got).toEqual([{ half: 2 }])
    // Two looks at the file after the append: {"new": is there but not complete.
    await sig.next()
    await sig.next()
    expect(got).toHaveLength(1)
    appendFileSync(p, '3}\n')
    await until(() => got.length === 2)
    expect(got[1]).toEqual({ new: 3 })
    ac.abort()
    await done
  })

  it('survives truncation and rotation', async () => {
    const p = join(t.dir, 'g.jsonl')
    writeFileSync(p, '')
    const ac = new AbortController()
    const got: unknown[] = []
    const notices: string[] = []
    const sig = caughtUp()
    const ready = sig.next()
    const done = (async () => {
      for await (const x of follow(p, { signal: ac.signal, pollMs: 20, onError: (e) => notices.push(e.code), onCaughtUp: sig.onCaughtUp })) got.push(x.value)
    })()
    await ready
    appendFileSync(p, '{"n":1}\n{"n":2}\n')
    await until(() => got.length === 2)
    truncateSync(p, 0)
    await until(() => notices.includes('FILE_TRUNCATED'))
    appendFileSync(p, '{"n":3}\n')
    await until(() => got.length === 3)
    // Rotation: the old file gets a last line after the rename, then a new file appears; the
    // old one is drained before the new one is read.
    renameSync(p, `${p}.1`)
    appendFileSync(`${p}.1`, '{"n":4}\n')
    writeFileSync(p, '{"n":5}\n')
    await until(() => got.length === 5)
    expect(got).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }])
    expect(notices).toEqual(['FILE_TRUNCATED', 'FILE_ROTATED'])
    ac.abort()
    await done
  })

  it('loses nothing when a file is truncated and written past its old size between two looks', async () => {
    const p = join(t.dir, 'regrow.jsonl')
    writeFileSync(p, '{"n":1}\n{"n":2}\n')
    const ac = new AbortController()
    const got: unknown[] = []
    const notices: string[] = []
    const sig = caughtUp()
    const ready = sig.next()
    const done = (async () => {
      for await (const x of follow(p, { signal: ac.signal, pollMs: 20, fromStart: true, onError: (e) => notices.push(e.code), onCaughtUp: sig.onCaughtUp })) got.push(x.value)
    })()
    await ready
    expect(got).toEqual([{ n: 1 }, { n: 2 }])
    // Both in one turn of this thread: follow sees only the result, a file longer than before.
    truncateSync(p, 0)
    appendFileSync(p, Array.from({ length: 6 }, (_, i) => `{"m":${i}}\n`).join(''))
    await until(() => got.length === 8)
    expect(got.slice(2)).toEqual(Array.from({ length: 6 }, (_, i) => ({ m: i })))
    expect(notices).toEqual(['FILE_TRUNCATED'])
    ac.abort()
    await done
  })

  it('waits for a file that does not exist yet and can start from the beginning', async () => {
    const p = join(t.dir, 'later.jsonl')
    const ac = new AbortController()
    const got: unknown[] = []
    const sig = caughtUp()
    const waiting = sig.next()
    const done = (async () => {
      for await (const x of follow(p, { signal: ac.signal, pollMs: 20, fromStart: true, onCaughtUp: sig.onCaughtUp })) got.push(x.value)
    })()
    await waiting
    writeFileSync(p, '{"first":true}\n')
    await until(() => got.length === 1)
    ac.abort()
    await done
    expect(got).toEqual([{ first: true }])
  })
})
