import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseRawRef, readRawRef } from './raw-ref.js'

describe('body refs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jsonl-io-ref-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const log = '=== agenttap a.request.json 7 bytes ===\n{"a":1}\n=== agenttap b.response.redacted.txt 5 bytes ===\nhello\n'
  writeFileSync(join(dir, 'bodies.log'), log)
  writeFileSync(join(dir, 'own.raw'), 'whole file')
  const rangeOf = (body: string): string => {
    const first = log.indexOf(body)
    return `bodies.log#bytes=${first}-${first + body.length - 1}`
  }

  it('reads a range of a body log and a file of its own', async () => {
    expect((await readRawRef(dir, rangeOf('{"a":1}'))).toString()).toBe('{"a":1}')
    expect((await readRawRef(dir, rangeOf('hello'))).toString()).toBe('hello')
    expect((await readRawRef(dir, 'own.raw')).toString()).toBe('whole file')
    expect((await readRawRef(dir, 'own.raw', { maxBytes: 5 })).toString()).toBe('whole')
  })

  it('refuses refs outside the capture directory and malformed ranges', () => {
    expect(() => parseRawRef(dir, '../secrets.txt')).toThrow(/outside the capture directory/)
    expect(() => parseRawRef(dir, '/etc/passwd')).toThrow(/outside the capture directory/)
    expect(() => parseRawRef(dir, 'bodies.log#bytes=9-3')).toThrow(/invalid range/)
    expect(() => parseRawRef(dir, 'bodies.log#lines=1')).toThrow(/invalid range/)
    expect(parseRawRef(dir, 'bodies.log#bytes=0-9')).toEqual({ path: join(dir, 'bodies.log'), start: 0, end: 9 })
  })

  it('says so when a range was never written (the writer was killed first)', async () => {
    await expect(readRawRef(dir, `bodies.log#bytes=${log.length - 2}-${log.length + 40}`)).rejects.toMatchObject({ code: 'BODY_MISSING' })
  })
})
