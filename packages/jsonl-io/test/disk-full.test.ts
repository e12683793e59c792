// A really full disk (a small tmpfs, where this machine lets us mount one): a failed append
// leaves no torn line, and every line that could not be written is reported.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { mountSmallDisk } from '../../../test-support/small-disk.js'
import { createJsonlWriter, type JsonlError } from '../src/index.js'

const disk = mountSmallDisk(64)
afterAll(() => {
  if ('cleanup' in disk) disk.cleanup()
})
if ('unavailable' in disk) console.warn(`disk-full tests skipped: ${disk.unavailable}`)

describe.skipIf('unavailable' in disk)('createJsonlWriter on a full disk (64 KiB tmpfs)', () => {
  const dir = (disk as { dir: string }).dir

  it.each([
    ['sync', true],
    ['thread-pool', false],
  ] as const)('%s appends: whole lines only, every lost line reported, writes go on once there is room', async (_name, sync) => {
    const filler = join(dir, `filler-${String(sync)}`)
    writeFileSync(filler, Buffer.alloc(24 * 1024, 1))
    const path = join(dir, `w-${String(sync)}.jsonl`)
    const lost: string[] = []
    const errors: JsonlError[] = []
    const w = createJsonlWriter(path, { sync, fsync: 'never', onError: (e) => errors.push(e), onLost: (lines) => lost.push(...lines) })
    // 997-byte lines never end on a page boundary: the append that fills the disk is cut short.
    const line = (i: number): string => JSON.stringify({ i, pad: 'x'.repeat(980 - String(i).length) })
    let n = 0
    for (; n < 120; n++) w.writeLine(line(n))
    await w.flush()
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]!.message).toMatch(/ENOSPC/)
    const torn = errors.some((e) => /taken out again/.test(e.message))
    // Room again: the writer carries on by itself.
    rmSync(filler)
    for (; n < 130; n++) w.writeLine(line(n))
    await w.close()
    const text = readFileSync(path, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    const inFile = text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { i: number }).i)
    const lostIds = lost.map((l) => (JSON.parse(l) as { i: number }).i)
    // Every line is either in the file, whole, or reported lost: never both, never neither.
    expect([...inFile, ...lostIds].sort((a, b) => a - b)).toEqual(Array.from({ length: 130 }, (_, i) => i))
    expect(w.stats).toMatchObject({ records: inFile.length, failed: lostIds.length })
    expect(inFile.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => 120 + i))
    expect(torn).toBe(true) // the case this test is about did happen: a cut-short append was rolled back
    rmSync(path)
  })
})
