import { describe, expect, it } from 'vitest'
import { JsonStringDecoder } from './json-string-decoder.js'
import { randomSplit, rng } from '../test/helpers.js'

function decodeAll(parts: string[]): { text: string; rest: string; d: JsonStringDecoder } {
  const d = new JsonStringDecoder()
  let text = ''
  let rest = ''
  for (const p of parts) {
    if (d.closed) {
      rest += p
      continue
    }
    const r = d.feed(p)
    text += r.text
    if (r.closed) rest += p.slice(r.consumed)
  }
  return { text: text + d.end(), rest, d }
}

describe('JsonStringDecoder', () => {
  const samples = [
    'plain ascii',
    'quote " backslash \\ slash / tab \t newline \n cr \r',
    'accents é ü and \u00e9 escaped',
    'emoji 😀 and a pair split 🎉 end',
    'controls \u0001 \b \f',
    'echo "hi" && cat <<\'EOF\'\nline\nEOF',
  ]
  it('decodes every chunking of escaped content identically to JSON.parse', () => {
    const rand = rng(42)
    for (const s of samples) {
      // encode everything non-ASCII as \u escapes too, so surrogate pairs get split between escapes
      const body = JSON.stringify(s).slice(1, -1)
      const escapedAll = body.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      for (const enc of [body, escapedAll]) {
        const full = `${enc}"`
        for (let k = 0; k < 60; k++) {
          const r = decodeAll([...randomSplit(full, rand, 20), ', "rest"}'])
          expect(r.text).toBe(s)
          expect(r.rest).toBe(', "rest"}')
          expect(r.d.invalidEscapes).toBe(0)
        }
        // one character at a time
        expect(decodeAll([...full]).text).toBe(s)
      }
    }
  })

  it('keeps invalid escapes verbatim and counts them; a lone surrogate becomes U+FFFD', () => {
    const r = decodeAll(['a\\qb\\u12zz c\\ud83d x"'])
    expect(r.text).toBe('a\\qb\\u12zz c\ufffd x')
    expect(r.d.invalidEscapes).toBe(2)
  })

  it('flushes an unfinished escape at end', () => {
    const d = new JsonStringDecoder()
    expect(d.feed('abc\\u00').text).toBe('abc')
    expect(d.end()).toBe('\\u00')
    expect(d.closed).toBe(false)
  })
})
