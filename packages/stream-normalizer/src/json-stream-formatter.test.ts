import { describe, expect, it } from 'vitest'
import { prng, splitString } from '../test/helpers.js'
import type { NormalizerError } from './errors.js'
import { JsonStreamFormatter, depthMarker, formatJsonValue, outputCutMarker, type JsonStreamFormatterOptions } from './json-stream-formatter.js'

function formatAll(pieces: string[], opts: JsonStreamFormatterOptions = {}, errors: NormalizerError[] = []): string {
  const f = new JsonStreamFormatter({ ...opts, onError: (e) => errors.push(e) })
  let out = ''
  for (const p of pieces) out += f.feed(p)
  return out + f.end()
}

const STRINGS = ['', 'plain', 'two\nlines', 'tab\there', 'quote " and \\ backslash', 'café 🚀', 'ctl \u0001\u001b[31m', 'cr\r\nlf', '\u2028sep', 'lone \ud800 surrogate', 'del \u007f c1 \u009b']

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand()
  if (depth > 3 || r < 0.35) {
    const k = Math.floor(rand() * 7)
    if (k === 0) return null
    if (k === 1) return rand() < 0.5
    if (k === 2) return Math.floor(rand() * 2000) - 1000
    if (k === 3) return [0.5, -1.25e-7, 1e21, 123456.789, -0][Math.floor(rand() * 5)]
    return STRINGS[Math.floor(rand() * STRINGS.length)]
  }
  if (r < 0.65) {
    const n = Math.floor(rand() * 4)
    return Array.from({ length: n }, () => randomValue(rand, depth + 1))
  }
  const o: Record<string, unknown> = {}
  const n = Math.floor(rand() * 4)
  for (let i = 0; i < n; i++) o[`${STRINGS[Math.floor(rand() * STRINGS.length)] ?? ''}${i}`] = randomValue(rand, depth + 1)
  return o
}

/** JSON text of `v` with random whitespace and random \u escapes, as a model might stream it. */
function messyJson(v: unknown, rand: () => number): string {
  const ws = (): string => [' ', '', '\n  ', '\t', '\r\n'][Math.floor(rand() * 5)] ?? ''
  const str = (s: string): string => {
    let out = '"'
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (rand() < 0.25 || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) out += `\\u${c.toString(16).padStart(4, rand() < 0.5 ? '0' : '0').toUpperCase()}`
      else out += JSON.stringify(s[i]).slice(1, -1)
    }
    return `${out}"`
  }
  if (typeof v === 'string') return str(v)
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => messyJson(x, rand)).join(`${ws()},${ws()}`)}${ws()}]`
  if (v !== null && typeof v === 'object') {
    return `{${ws()}${Object.entries(v)
      .map(([k, x]) => `${str(k)}${ws()}:${ws()}${messyJson(x, rand)}`)
      .join(`,${ws()}`)}${ws()}}`
  }
  return JSON.stringify(v)
}

describe('JsonStreamFormatter', () => {
  it('pretty-prints with decoded strings as real lines', () => {
    const src = '{"command":"ls -la\\ncd src","n":[1,2.50,{}],"e":[],"ok":true,"x":null}'
    expect(formatAll([src])).toBe('{\n  "command": "ls -la\ncd src",\n  "n": [\n    1,\n    2.5,\n    {}\n  ],\n  "e": [],\n  "ok": true,\n  "x": null\n}')
  })

  it('streams string contents as they arrive', () => {
    const f = new JsonStreamFormatter()
    expect(f.feed('{"content":"def f():\\n')).toBe('{\n  "content": "def f():\n')
    expect(f.feed('    return 1')).toBe('    return 1')
    expect(f.feed('"}')).toBe('"\n}')
    expect(f.end()).toBe('')
  })

  for (const indent of [0, 2, 4]) {
    it(`equals JSON.stringify(JSON.parse(x), null, ${indent}) for any split (decodeStrings: false, 150 seeds)`, () => {
      for (let seed = 1; seed <= 150; seed++) {
        const rand = prng(seed * 31 + indent)
        const value = randomValue(rand, 0)
        const text = messyJson(value, rand)
        const errors: NormalizerError[] = []
        const parsed: unknown = JSON.parse(text)
        expect(formatAll(splitString(text, rand, 7), { indent, decodeStrings: false }, errors), `seed ${seed}: ${text}`).toBe(JSON.stringify(parsed, null, indent))
        expect(errors, `seed ${seed}`).toEqual([])
      }
    })

    it(`equals formatJsonValue(JSON.parse(x)) for any split (decoded strings, indent ${indent}, 150 seeds)`, () => {
      for (let seed = 1; seed <= 150; seed++) {
        const rand = prng(seed * 17 + indent)
        const value = randomValue(rand, 0)
        const text = messyJson(value, rand)
        const errors: NormalizerError[] = []
        expect(formatAll(splitString(text, rand, 7), { indent }, errors), `seed ${seed}: ${text}`).toBe(formatJsonValue(JSON.parse(text), { indent }))
        expect(errors, `seed ${seed}`).toEqual([])
      }
    })
  }

  it('keeps terminal-steering control characters escaped when decoding', () => {
    expect(formatAll(['"a\\u001b[31mb\\rc\\u009bd\\u0000"'])).toBe('"a\\u001b[31mb\\rc\\u009bd\\u0000"')
  })

  it('reports invalid input with its offset and prints it as written', () => {
    const errors: NormalizerError[] = []
    const out = formatAll(['{"a": tru', 'x, "b": 1}'], {}, errors)
    expect(out).toContain('trux')
    expect(errors[0]).toMatchObject({ code: 'INVALID_JSON', offset: 6 })
    expect(errors[0]?.message).toContain('expected true, false or null')
  })

  it('reports a value cut off at the end and returns what it had', () => {
    const errors: NormalizerError[] = []
    expect(formatAll(['{"a": [1, "unterminated'], {}, errors)).toBe('{\n  "a": [\n    1,\n    "unterminated')
    expect(errors.map((e) => e.code)).toEqual(['UNEXPECTED_END'])
  })

  it('reports an invalid escape and prints it as written', () => {
    const errors: NormalizerError[] = []
    expect(formatAll(['"a\\qb"'], {}, errors)).toBe('"a\\qb"')
    expect(errors.map((e) => e.code)).toEqual(['INVALID_JSON'])
  })

  it('prints concatenated top-level values on their own lines and reports the second', () => {
    const errors: NormalizerError[] = []
    expect(formatAll(['{"a":1}{"b":2}'], { indent: 0 }, errors)).toBe('{"a":1}\n{"b":2}')
    expect(errors).toHaveLength(1)
  })

  it('survives binary junk without throwing and reports it', () => {
    const errors: NormalizerError[] = []
    const out = formatAll(['\u0000\u0001{"a"', '\uffff:@1}'], {}, errors)
    expect(out.length).toBeGreaterThan(0)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => e.code === 'INVALID_JSON' || e.code === 'UNEXPECTED_END')).toBe(true)
  })

  it('never buffers more than a capped number token: a huge one is printed as it goes and reported once', () => {
    const errors: NormalizerError[] = []
    const f = new JsonStreamFormatter({ indent: 0, onError: (e) => errors.push(e) })
    let out = f.feed('[')
    let maxPiece = 0
    for (let k = 0; k < 100; k++) {
      const piece = f.feed('1'.repeat(1000))
      maxPiece = Math.max(maxPiece, piece.length)
      out += piece
    }
    out += f.feed(']') + f.end()
    expect(out).toBe(`[${'1'.repeat(100_000)}]`)
    expect(maxPiece).toBeGreaterThan(0)
    expect(errors.map((e) => e.code)).toEqual(['INVALID_JSON'])
  })

  it('rejects an invalid indent, depth or output cap (API misuse throws)', () => {
    expect(() => new JsonStreamFormatter({ indent: -1 })).toThrow(RangeError)
    expect(() => new JsonStreamFormatter({ maxDepth: 0 })).toThrow(/maxDepth/)
    expect(() => new JsonStreamFormatter({ maxOutputChars: 10 })).toThrow(/maxOutputChars/)
  })

  it('15,000 levels of nesting (30 KB) print in linear size: compact past maxDepth, after a visible marker', () => {
    const depth = 15_000
    const text = `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`
    const f = new JsonStreamFormatter()
    let out = ''
    let maxPiece = 0
    // token-sized deltas, as a model streams them
    for (let i = 0; i < text.length; i += 3) {
      const piece = f.feed(text.slice(i, i + 3))
      maxPiece = Math.max(maxPiece, piece.length)
      out += piece
    }
    out += f.end()
    // 64 indented levels (≤ 130 characters of indentation each, opening and closing), then the rest compact
    expect(out.length).toBeLessThan(text.length + 64 * 2 * 132 + 200)
    expect(out.split(depthMarker(64))).toHaveLength(2)
    expect(out).toContain(`${depthMarker(64)}${'['.repeat(depth - 63)}1${']'.repeat(depth - 63)}`)
    expect(maxPiece).toBeLessThan(3 * 132 + 100)
    // the same layout as the non-streaming reference, on a depth it can recurse through
    const mid = `[${'{"k":['.repeat(100)}true${']}'.repeat(100)}]`
    expect(formatAll([mid])).toBe(formatJsonValue(JSON.parse(mid)))
  })

  it('equals formatJsonValue for any split with a small maxDepth (compact tails, one marker per value)', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rand = prng(seed * 7)
      const value = randomValue(rand, 0)
      const text = messyJson(value, rand)
      const errors: NormalizerError[] = []
      for (const maxDepth of [1, 2]) {
        expect(formatAll(splitString(text, rand, 7), { maxDepth }, errors), `seed ${seed}: ${text}`).toBe(formatJsonValue(JSON.parse(text), { maxDepth }))
      }
      expect(errors).toEqual([])
    }
  })

  it('cuts the output at maxOutputChars with a visible marker and only counts the rest', () => {
    const value = { content: 'x'.repeat(5000), more: Array.from({ length: 200 }, (_, i) => ({ i })) }
    const text = JSON.stringify(value)
    const f = new JsonStreamFormatter({ maxOutputChars: 1000 })
    let out = ''
    for (let i = 0; i < text.length; i += 50) out += f.feed(text.slice(i, i + 50))
    out += f.end()
    expect(out).toBe(formatJsonValue(value).slice(0, 1000) + outputCutMarker(1000))
    expect(formatJsonValue(value, { maxOutputChars: 1000 })).toBe(out)
    // a new value starts with a fresh budget
    expect(f.feed('[1]') + f.end()).toBe('[\n  1\n]')
  })

  it('reset starts a new value', () => {
    const f = new JsonStreamFormatter({ indent: 0 })
    f.feed('{"a":[1,')
    f.reset()
    expect(f.feed('[2]') + f.end()).toBe('[2]')
  })
})
