import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { prng, rechunk } from '../test/helpers.js'
import type { JsonlError } from './errors.js'
import { createJsonlParser } from './parser.js'

function parseAll(chunks: Array<Buffer | string>, maxLineBytes?: number) {
  const records: Array<{ value: unknown; line: number; offset: number }> = []
  const errors: JsonlError[] = []
  const p = createJsonlParser({
    onRecord: (value, info) => records.push({ value, ...info }),
    onError: (e) => errors.push(e),
    file: 'test.jsonl',
    ...(maxLineBytes ? { maxLineBytes } : {}),
  })
  for (const c of chunks) p.feed(c)
  p.end()
  return { records, errors, position: p.position }
}

describe('createJsonlParser', () => {
  it('parses lines split across chunks, with their line numbers and byte offsets', () => {
    const { records, errors } = parseAll(['{"a":1}\n{"b"', ':2}\n', '{"c":3}\n'])
    expect(errors).toEqual([])
    expect(records).toEqual([
      { value: { a: 1 }, line: 1, offset: 0 },
      { value: { b: 2 }, line: 2, offset: 8 },
      { value: { c: 3 }, line: 3, offset: 16 },
    ])
  })

  it('accepts CRLF, a final line without newline, blank lines and a leading BOM', () => {
    const { records, errors } = parseAll([Buffer.from('\uFEFF{"a":1}\r\n\r\n   \n{"b":2}\r', 'utf8'), '\n{"c":3}'])
    expect(errors).toEqual([])
    expect(records.map((r) => r.value)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }])
    expect(records.map((r) => r.line)).toEqual([1, 4, 5])
  })

  it('decodes a UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('{"t":"café 🚀"}\n', 'utf8')
    const e = bytes.indexOf(0xc3) // first byte of é
    const r = bytes.indexOf(0xf0) // first byte of 🚀
    const { records } = parseAll([bytes.subarray(0, e + 1), bytes.subarray(e + 1, r + 2), bytes.subarray(r + 2)])
    expect(records[0]?.value).toEqual({ t: 'café 🚀' })
  })

  it('reports a malformed line with file, line, offset and excerpt, and keeps reading', () => {
    const { records, errors } = parseAll(['{"a":1}\n{"broken": tru\n{"c":3}\n'])
    expect(records.map((r) => r.value)).toEqual([{ a: 1 }, { c: 3 }])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'MALFORMED_JSON', file: 'test.jsonl', line: 2, offset: 8, excerpt: '{"broken": tru' })
    expect(errors[0]?.message).toContain('test.jsonl:2')
  })

  it('reports binary junk without crashing and escapes it in the excerpt', () => {
    const junk = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a])
    const { records, errors } = parseAll([Buffer.concat([junk, Buffer.from('{"ok":true}\n')])])
    expect(records.map((r) => r.value)).toEqual([{ ok: true }])
    expect(errors[0]?.code).toBe('MALFORMED_JSON')
    expect(errors[0]?.excerpt).not.toMatch(/[\u0000-\u001f]/)
  })

  it('skips an over-long line without buffering it and reports it once', () => {
    const huge = `{"x":"${'a'.repeat(5000)}"}`
    const chunks = rechunk(Buffer.from(`{"a":1}\n${huge}\n{"b":2}\n`), prng(3), 300)
    const { records, errors } = parseAll(chunks, 1000)
    expect(records.map((r) => r.value)).toEqual([{ a: 1 }, { b: 2 }])
    expect(records[1]).toMatchObject({ line: 3, offset: 8 + huge.length + 1 })
    expect(errors.map((e) => [e.code, e.line, e.offset])).toEqual([['LINE_TOO_LONG', 2, 8]])
  })

  it('reports a torn last line (writer killed mid-line) as TRUNCATED_LINE', () => {
    const { records, errors } = parseAll(['{"a":1}\n{"b":"unfinis'])
    expect(records).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'TRUNCATED_LINE', line: 2 })
  })

  it('tracks the position after the last complete line', () => {
    const p = createJsonlParser({ onRecord: () => undefined })
    p.feed('{"a":1}\n{"b":')
    expect(p.position).toEqual({ line: 1, offset: 8 })
    p.feed('2}\n')
    expect(p.position).toEqual({ line: 2, offset: 16 })
  })

  it('throws on API misuse only', () => {
    expect(() => createJsonlParser({ onRecord: () => undefined, maxLineBytes: 0 })).toThrow(RangeError)
  })

  it('gives identical output for every chunking of every fixture (seeded property test)', () => {
    const dir = join(import.meta.dirname, '../../../fixtures')
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'))
    expect(files.length).toBeGreaterThanOrEqual(5)
    // Each fixture plus junk that exercises the error paths.
    const junk = Buffer.from('\r\n{"broken":\n\uFEFF\n{"é":"\u2028 ok"}\r\n' + `{"long":"${'z'.repeat(100_000)}"}\n` + '\u0000\u0001\n')
    for (const f of files) {
      const data = Buffer.concat([readFileSync(join(dir, f)), junk])
      const whole = parseAll([data], 65536)
      expect(whole.records.length).toBeGreaterThan(5)
      expect(whole.errors.map((e) => e.code)).toEqual(['MALFORMED_JSON', 'LINE_TOO_LONG', 'MALFORMED_JSON'])
      for (let seed = 1; seed <= 40; seed++) {
        const rnd = prng(seed)
        const chunked = parseAll(rechunk(data, rnd, seed % 2 ? 7 : 9000), 65536)
        expect(chunked.records).toEqual(whole.records)
        expect(chunked.errors.map((e) => [e.code, e.line, e.offset])).toEqual(whole.errors.map((e) => [e.code, e.line, e.offset]))
      }
    }
  }, 60_000)
})
