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
})
