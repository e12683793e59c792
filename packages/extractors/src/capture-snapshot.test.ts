import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { headHash } from './capture-snapshot.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-head-hash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('headHash', () => {
  it("hashes a file's first bytes; '' for a shorter file and for a file removed since it was listed (no ENOENT thrown)", () => {
    const f = join(dir, 'a.jsonl')
    writeFileSync(f, 'x'.repeat(100))
    expect(headHash(f, 10)).toMatch(/^[0-9a-f]{64}$/)
    expect(headHash(f, 10)).toBe(headHash(f, 10))
    expect(headHash(f, 101)).toBe('')
    rmSync(f)
    expect(headHash(f, 10)).toBe('')
    expect(() => headHash(dir, 10)).toThrow() // a directory is not a vanished file
  })
})
