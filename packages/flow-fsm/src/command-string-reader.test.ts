import { describe, expect, it } from 'vitest'
import { CommandStringReader } from './command-string-reader.js'
import { randomSplit, rng } from '../test/helpers.js'

function decodeAll(parts: string[]): { text: string; rest: string; d: CommandStringReader } {
  const d = new CommandStringReader()
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

describe('CommandStringReader', () => {
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
        }
        // one character at a time
        expect(decodeAll([...full]).text).toBe(s)
      }
    }
  })

  it('keeps invalid escapes and lone surrogates visible as written', () => {
    const r = decodeAll(['a\\qb c\\ud83d x"'])
    expect(r.text).toBe('a\\qb c\\ud83d x')
    expect(r.d.closed).toBe(true)
  })

  it('does not close on an escaped quote whose backslash came in the previous chunk', () => {
    const r = decodeAll(['say \\', '"hi\\', '" now', '" tail'])
    expect(r.text).toBe('say "hi" now')
    expect(r.rest).toBe(' tail')
  })

  it('flushes an unfinished string at end', () => {
    const d = new CommandStringReader()
    expect(d.feed('abc').text).toBe('abc')
    expect(d.closed).toBe(false)
    d.end()
    expect(d.closed).toBe(true)
  })
})
