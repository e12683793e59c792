import { describe, expect, it } from 'vitest'
import { JsonStreamFormatter, TextDeltaNormalizer, createStreamNormalizer, type AgentEvent, type NormalizerError } from '../src/index.js'
import { prng, rechunk, splitString } from './helpers.js'

const PIECES = ['data: ', 'event: ', '\n', '\r', '\r\n', ': ping', '{"type":"message_start","message":{}}', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}', '{"type":"response.created"', '[DONE]', 'retry: x', '\u00e9', '\ud83d\ude00', '{', '}', '"', '\\', '\\u00']

describe('fuzz: nothing throws on junk, and every stream ends once', () => {
  it('random bytes and SSE fragments through feedBytes (300 seeds)', () => {
    const enc = new TextEncoder()
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed)
      const parts: Uint8Array[] = []
      const count = Math.floor(rand() * 40)
      for (let k = 0; k < count; k++) {
        if (rand() < 0.3) {
          const junk = new Uint8Array(Math.floor(rand() * 30))
          for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256)
          parts.push(junk)
        } else parts.push(enc.encode(PIECES[Math.floor(rand() * PIECES.length)] ?? ''))
      }
      const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0))
      let o = 0
      for (const p of parts) {
        all.set(p, o)
        o += p.length
      }
      const events: AgentEvent[] = []
      const errors: NormalizerError[] = []
      const n = createStreamNormalizer({ flow_id: `fz${seed}`, maxEventBytes: 64, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) })
      expect(() => {
        for (const c of rechunk(all, rand)) n.feedBytes(c)
        n.end()
      }, `seed ${seed}`).not.toThrow()
      const ends = events.filter((e) => e.type === 'message_end')
      expect(ends.length, `seed ${seed}`).toBeGreaterThanOrEqual(1)
      expect(events[events.length - 1]?.type, `seed ${seed}`).toBe('message_end')
      expect(events.every((e) => e.flow_id === `fz${seed}`)).toBe(true)
      for (const e of errors) expect(e).toBeInstanceOf(Error)
    }
  })

  it('random text through JsonStreamFormatter and TextDeltaNormalizer (300 seeds)', () => {
    const alphabet = '{}[]:,"\\/ unft0123456789.-eE\n\t\u0000é😀'
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed)
      let s = ''
      const len = Math.floor(rand() * 60)
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)] ?? ''
      const errors: NormalizerError[] = []
      const f = new JsonStreamFormatter({ onError: (e) => errors.push(e) })
      const t = new TextDeltaNormalizer({ onError: (e) => errors.push(e) })
      let out = ''
      expect(() => {
        for (const p of splitString(s, rand, 5)) {
          out += f.feed(p)
          t.feed(p)
        }
        out += f.end()
        t.end()
      }, `seed ${seed}: ${JSON.stringify(s)}`).not.toThrow()
      // Every error says where it happened.
      for (const e of errors) expect(typeof e.offset === 'number' || e.code === 'UNEXPECTED_END').toBe(true)
      // Whatever the input, valid JSON input is formatted without a report.
      let valid = true
      try {
        JSON.parse(s)
      } catch {
        valid = false
      }
      if (valid) expect(errors.filter((e) => e.code === 'INVALID_JSON' || e.code === 'UNEXPECTED_END')).toEqual([])
    }
  })
})
