import { describe, expect, it } from 'vitest'
import { NdjsonOut } from '../src/ndjson-out.ts'

describe('NdjsonOut', () => {
  it('writes a string as the UTF-8 of JSON.stringify, whatever its characters and length', () => {
    const strings = ['', 'a', '2026-11-20T10:00:00.000Z', 'claude-transcript:msg_01:req_01', 'x'.repeat(128), 'x'.repeat(129), 'q"uote', 'back\\slash', 'tab\there', 'nl\n', '\u0000', '\u001f', '\u007f', 'é', 'caf\u00e9 "x"', '🎉', '\ud800', 'a\udfffb', `${'y'.repeat(127)}é`, `${'y'.repeat(200)}"`]
    // Every ASCII character alone and inside a plain string, at its start and end.
    for (let c = 0; c < 160; c++) strings.push(String.fromCharCode(c), `ab${String.fromCharCode(c)}cd`, `${String.fromCharCode(c)}xyz`)
    const chunks: Buffer[] = []
    const out = new NdjsonOut((b) => void chunks.push(Buffer.from(b)))
    for (const s of strings) {
      out.room(6 * s.length + 8)
      out.str(s)
      out.bytes(Buffer.from('\n'))
      out.endLine()
    }
    out.end()
    expect(Buffer.concat(chunks).toString('utf8')).toBe(strings.map((s) => `${JSON.stringify(s)}\n`).join(''))
  })
})
