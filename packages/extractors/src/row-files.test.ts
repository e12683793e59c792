import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createRowFiles } from './row-files.js'
import type { IndexRow } from './rows.js'

let dir: string | undefined
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('createRowFiles', () => {
  it('writes exactly the JSON lines of the rows, whatever their size and characters', () => {
    dir = mkdtempSync(join(tmpdir(), 'row-files-'))
    const rows = createRowFiles(dir, 't')
    const want: Record<string, string[]> = { calls: [], problems: [] }
    let seed = 3
    const rnd = (n: number): number => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n)
    const pieces = ['a', 'é', '€', '😀', '\ud800', '\udfff', '"', '\\', '\n', '\u0000', ' ', 'x'.repeat(100)]
    for (let i = 0; i < 20_000; i++) {
      let text = ''
      const k = rnd(40)
      for (let j = 0; j < k; j++) text += pieces[rnd(pieces.length)]
      // a few rows larger than the buffer, and than twice the flush size
      if (i % 5000 === 17) text += '€'.repeat(1_500_000)
      const table = rnd(4) === 0 ? 'problems' : 'calls'
      const row: IndexRow = { i, text, n: rnd(2) === 0 ? null : i / 7, ok: rnd(2) === 0 }
      rows.write(table, row)
      want[table]!.push(JSON.stringify(row))
    }
    expect(rows.counts()).toEqual({ calls: want.calls!.length, problems: want.problems!.length })
    const files = rows.close()
    for (const t of ['calls', 'problems'] as const) {
      const expected = Buffer.from(want[t]!.map((l) => `${l}\n`).join(''))
      const got = readFileSync(files[t]!)
      expect(got.length).toBe(expected.length)
      expect(got.equals(expected)).toBe(true)
      expect(statSync(files[t]!).mode & 0o777).toBe(0o600)
    }
  })
})
