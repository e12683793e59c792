import { describe, expect, it } from 'vitest'
import { formatTable, toCsv, toNdjson } from './output.js'

const cols = ['a', 'b', 'n']
const rows = [
  { a: 'plain', b: 'has,comma', n: 1 },
  { a: 'quote "q"', b: 'line\nbreak', n: 2.5 },
  { a: null, b: ' padded ', n: null },
]

describe('writers', () => {
  it('CSV quotes commas, quotes, newlines and edge spaces', () => {
    expect(toCsv(cols, rows)).toBe('a,b,n\nplain,"has,comma",1\n"quote ""q""","line\nbreak",2.5\n," padded ",\n')
  })

  it('NDJSON keeps column order and nulls', () => {
    expect(toNdjson(['n', 'a'], rows).split('\n')[0]).toBe('{"n":1,"a":"plain"}')
    expect(toNdjson(cols, [{ a: 'x' }])).toBe('{"a":"x","b":null,"n":null}\n')
  })

  it('table: a million rows (no spread of a column into Math.max)', () => {
    const many = Array.from({ length: 1_000_000 }, (_, i) => ({ a: i === 999_999 ? 'widest-cell' : 'x', n: i }))
    const t = formatTable(['a', 'n'], many, { width: 80 })
    const lines = t.split('\n')
    expect(lines[0]).toMatch(/^a {11}\s+n$/)
    expect(lines[lines.length - 2]).toBe('widest-cell  999999')
  })

  it('table: aligned, numbers right, newlines and control characters escaped, cut to width', () => {
    const t = formatTable(cols, [...rows, { a: 'bell\u0007', b: 'x', n: 10 }], { width: 200 })
    const lines = t.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^a\s+b\s+n$/)
    expect(lines[3]).toContain('line⏎break')
    expect(lines[5]).toContain('bell\\x07')
    expect(lines[2]!.endsWith(' 1')).toBe(true)
    const narrow = formatTable(['text'], [{ text: 'x'.repeat(300) }], { width: 40 })
    expect(Math.max(...narrow.split('\n').map((l) => l.length))).toBeLessThanOrEqual(40)
    expect(narrow).toContain('…')
  })

  it('table at 80 and 120 columns: fits, numbers whole, only long text cut with …; too many columns: vertical', () => {
    const wide = ['ts', 'session_id', 'model', 'prompt', 'input_tokens', 'output_tokens', 'total_tokens']
    const data = [
      { ts: '2026-11-20T10:00:00.000Z', session_id: '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912', model: 'claude-sonnet-4-5-20250929', prompt: 'fix the failing test in src/parser.ts and explain why it failed', input_tokens: 14210, output_tokens: 187, total_tokens: 15726 },
      { ts: '2026-11-20T10:01:00.000Z', session_id: '0199a1b2', model: 'gpt-5-codex', prompt: 'hi', input_tokens: 346, output_tokens: 312, total_tokens: 5522 },
    ]
    for (const width of [100, 120]) {
      const t = formatTable(wide, data, { width })
      const lines = t.trimEnd().split('\n')
      expect(Math.max(...lines.map((l) => l.length)), `width ${width}`).toBeLessThanOrEqual(width)
      // one line per row: nothing wraps
      expect(lines).toHaveLength(4)
      expect(lines[2]).toContain('14210')
      expect(lines[2]).toContain('15726')
      expect(lines[2]).toContain('…')
      // short text stays whole
      expect(lines[3]).toContain('gpt-5-codex')
    }
    // more room shows more of the long text
    expect(formatTable(wide, data, { width: 120 }).split('\n')[2]!.length).toBeGreaterThan(formatTable(wide, data, { width: 100 }).split('\n')[2]!.length)
    // at 80 the numbers and the headers alone do not fit beside readable text: one block per row
    const at80 = formatTable(wide, data, { width: 80 }).trimEnd().split('\n')
    expect(at80[0]).toMatch(/^── row 1 ─+$/)
    expect(at80).toContain('input_tokens   14210')
    expect(Math.max(...at80.map((l) => l.length))).toBeLessThanOrEqual(80)
    const many = Array.from({ length: 12 }, (_, i) => `column_number_${i}`)
    const v = formatTable(many, [Object.fromEntries(many.map((c) => [c, 'some longer text value']))], { width: 80 })
    const vl = v.trimEnd().split('\n')
    expect(vl[0]).toMatch(/^── row 1 ─+$/)
    expect(vl).toHaveLength(13)
    expect(vl[1]).toMatch(/^column_number_0\s+some longer text value$/)
    expect(Math.max(...vl.map((l) => l.length))).toBeLessThanOrEqual(80)
  })
})
