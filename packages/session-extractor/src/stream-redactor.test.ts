import { describe, expect, it } from 'vitest'
import { randomSplit, rng } from '../test/rng.js'
import { createRedactor, redactText } from './redactor.js'
import { createStreamRedactor } from './stream-redactor.js'

const ANT = 'sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1JkLzXcVbNm0_-AbCdEf'
const TEXT = `Here is the config.\nexport ANTHROPIC_API_KEY=${ANT}\ncurl -H "Authorization: Bearer abc123def456ghi789jkl" https://x.io/?token=t0k3nvalue42&q=1\nThe quick brown fox ${'lorem ipsum '.repeat(20)}done.\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nbye`

describe('createStreamRedactor', () => {
  it('gives the same output as redacting the whole text, for every split', () => {
    const expected = redactText(TEXT)
    expect(expected).not.toContain('Zx9Qw8Er7Ty6')
    const r = rng(7)
    for (let trial = 0; trial < 300; trial++) {
      const s = createStreamRedactor()
      let out = ''
      for (const f of randomSplit(r, TEXT, r.int(1, 60))) out += s.feed(f)
      out += s.end()
      expect(out, `trial ${trial}`).toBe(expected)
      expect(s.pending).toBe(0)
    }
  })

  it('emits early text before the stream ends and holds only a bounded tail', () => {
    const s = createStreamRedactor({ holdback: 72, maxPending: 256 })
    const first = s.feed('plain words that are not secret at all, and more words '.repeat(6))
    expect(first.length).toBeGreaterThan(0)
    expect(s.feed('x'.repeat(10_000)).length).toBeGreaterThan(9_000)
    expect(s.pending).toBeLessThanOrEqual(256)
  })

  it('reports a run longer than maxPending and still redacts what it can', () => {
    const errors: Array<{ code: string; at?: number }> = []
    const s = createStreamRedactor({ holdback: 72, maxPending: 100, onError: (e) => errors.push({ code: e.code, ...(e.at !== undefined ? { at: e.at } : {}) }) })
    let out = s.feed(`start ${ANT} `)
    out += s.feed('y'.repeat(200))
    out += s.end()
    expect(out).toMatch(/^start sk-ant-api03-\[REDACTED:[0-9a-f]{12}\] y{200}$/)
    expect(out).not.toContain('Zx9Qw8Er7Ty6')
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]?.code).toBe('PENDING_LIMIT')
    expect(errors[0]?.at).toBeGreaterThan(0)
  })

  it('streams a megabyte-long run in small pieces without rescanning it each time', () => {
    const blob = Buffer.from(Array.from({ length: 768 * 1024 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 255)).toString('base64')
    const input = `data ${blob.slice(0, 400_000)} key ${ANT} tail ${blob.slice(400_000)} end`
    const s = createStreamRedactor()
    const outParts: string[] = []
    for (let i = 0; i < input.length; i += 97) outParts.push(s.feed(input.slice(i, i + 97)))
    outParts.push(s.end())
    const out = outParts.join('')
    expect(out).toBe(redactText(input))
    expect(out).not.toContain('Zx9Qw8Er7Ty6')
  })

  it('resets and validates options', () => {
    const s = createStreamRedactor({ redactor: createRedactor({ extraPatterns: [/corp_[a-z0-9]{8}/] }) })
    expect(s.feed('abc corp_ab')).toBe('')
    s.reset()
    expect(s.feed('cd1234 end') + s.end()).toBe('cd1234 end')
    expect(() => createStreamRedactor({ holdback: -1 })).toThrow(/holdback/)
    expect(() => createStreamRedactor({ holdback: 1.5 })).toThrow(/non-negative integer/)
    expect(() => createStreamRedactor({ holdback: 100, maxPending: 50 })).toThrow(/maxPending/)
  })
})
