import { describe, expect, it } from 'vitest'
import { prng, splitString } from '../test/helpers.js'
import type { NormalizerError } from './errors.js'
import { TextDeltaNormalizer } from './text-delta-normalizer.js'

const isWellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)

function decodeAll(pieces: string[], errors: NormalizerError[] = [], wellFormedPieces = false): string {
  const t = new TextDeltaNormalizer({ onError: (e) => errors.push(e) })
  let out = ''
  for (const p of pieces) {
    const piece = t.feed(p)
    // Every piece returned is well-formed on its own (a terminal write of it cannot break a pair).
    if (wellFormedPieces) expect(isWellFormed(piece), JSON.stringify(piece)).toBe(true)
    out += piece
  }
  return out + t.end()
}

/** JSON string body of `s`, with some characters written as \uXXXX (surrogates as two escapes). */
function escapeBody(s: string, rand: () => number): string {
  let out = ''
  for (const ch of s) {
    if (rand() < 0.3) {
      for (let k = 0; k < ch.length; k++) out += `\\u${ch.charCodeAt(k).toString(16).padStart(4, '0')}`
    } else if (rand() < 0.2 && ch === '/') {
      out += '\\/'
    } else {
      out += JSON.stringify(ch).slice(1, -1)
    }
  }
  return out
}

const ALPHABET = ['a', 'Z', ' ', '\n', '\r', '\t', '\b', '\f', '"', '\\', '/', 'é', '€', '😀', '🚀', '\u0000', '\u001b', '\u2028', 'x', '{', '}']

describe('TextDeltaNormalizer', () => {
  it('decodes every JSON escape', () => {
    expect(decodeAll(['a\\nb\\rc\\td\\fe\\bf\\"g\\\\h\\/i\\u00e9j\\ud83d\\ude80'])).toBe('a\nb\rc\td\fe\bf"g\\h/iéj🚀')
  })

  it('returns the fragment itself when it has no escape (fast path)', () => {
    const t = new TextDeltaNormalizer()
    const s = 'plain text, "quotes" too'
    expect(t.feed(s)).toBe(s)
  })

  it('holds state across a fragment ending after the backslash or mid-\\u', () => {
    const t = new TextDeltaNormalizer()
    expect(t.feed('line one\\')).toBe('line one')
    expect(t.feed('nline two \\u00')).toBe('\nline two ')
    expect(t.feed('e9!')).toBe('é!')
    expect(t.end()).toBe('')
  })

  it('holds a high surrogate back until its low half arrives, so output is never a lone surrogate', () => {
    const t = new TextDeltaNormalizer()
    expect(t.feed('go \\ud8')).toBe('go ')
    expect(t.feed('3d')).toBe('')
    expect(t.feed('\\ude')).toBe('')
    expect(t.feed('80 ok')).toBe('🚀 ok')
  })

  it('holds a raw high surrogate that ends a fragment until its low half comes', () => {
    const t = new TextDeltaNormalizer()
    expect(t.feed('a\ud83d')).toBe('a')
    expect(t.feed('\ude00b')).toBe('😀b')
    expect(t.feed('c\ud83d')).toBe('c')
    expect(t.feed('\\ude80')).toBe('🚀')
    expect(t.feed('\ud83d')).toBe('')
    expect(t.end()).toBe('\ud83d')
  })

  it('decodes any split of escaped text exactly (200 seeded random strings and splits)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(seed)
      let s = ''
      const len = Math.floor(rand() * 40)
      for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)]
      const body = escapeBody(s, rand)
      const errors: NormalizerError[] = []
      expect(decodeAll(splitString(body, rand, 5), errors, true), `seed ${seed}`).toBe(s)
      expect(errors, `seed ${seed}`).toEqual([])
    }
  })

  it('passes invalid escapes through visibly and reports them', () => {
    const errors: NormalizerError[] = []
    expect(decodeAll(['a\\', 'xb \\u12', 'G4 c'], errors)).toBe('a\\xb \\u12G4 c')
    expect(errors.map((e) => e.code)).toEqual(['INVALID_ESCAPE', 'INVALID_ESCAPE'])
    expect(errors[0]?.offset).toBe(1)
    expect(errors[0]?.message).toContain('\\\\x')
  })

  it('passes lone surrogates through as written and reports them', () => {
    const errors: NormalizerError[] = []
    expect(decodeAll(['\\ud83d then text'], errors)).toBe('\\ud83d then text')
    expect(decodeAll(['\\ude80'], errors)).toBe('\\ude80')
    expect(decodeAll(['\\ud83d\\u0041'], errors)).toBe('\\ud83dA')
    expect(decodeAll(['\\ud83d'], errors)).toBe('\\ud83d')
    expect(errors.map((e) => e.code)).toEqual(['LONE_SURROGATE', 'LONE_SURROGATE', 'LONE_SURROGATE', 'LONE_SURROGATE'])
  })

  it('reports input that ends inside an escape and keeps the text', () => {
    const errors: NormalizerError[] = []
    expect(decodeAll(['tail \\u00'], errors)).toBe('tail \\u00')
    expect(errors.map((e) => e.code)).toEqual(['UNEXPECTED_END'])
  })

  it('reset forgets a pending escape', () => {
    const t = new TextDeltaNormalizer()
    t.feed('x\\u00')
    t.reset()
    expect(t.feed('e9')).toBe('e9')
  })
})
