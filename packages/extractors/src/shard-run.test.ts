import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createFinder } from './shard-run.js'

/** What the finder must answer: the first occurrence from `start`, if it ends by `end`. */
function slow(needle: Buffer, buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf(needle, start)
  return at !== -1 && at + needle.length <= end ? at : -1
}

/** Every line of `text` asked in order, the finder's answers against {@link slow}'s. */
function differ(needle: Buffer, text: string): number {
  const buf = Buffer.from(text)
  const find = createFinder(needle)
  let bad = 0
  for (let s = 0; s < buf.length;) {
    let e = buf.indexOf(0x0a, s)
    if (e === -1) e = buf.length
    if (find(buf, s, e) !== slow(needle, buf, s, e)) bad++
    s = e + 1
  }
  return bad
}

const NEEDLE = Buffer.from('"flow_id":"')
const line = (id: string, ts = '2026-11-20T10:00:03.639Z') => `{"v":1,"type":"sse","ts":"${ts}","flow_id":"${id}","seq":0,"data":"x"}`

describe('createFinder (the flow id of a raw line, found where the last line had it)', () => {
  it('gives what Buffer.indexOf gives, line by line, over nasty lines', () => {
    const lines = [
      line('a'), line('bb'), line('ccc'),
      // the same place, but an earlier occurrence inside the line (a nested key before it)
      `{"x":{"flow_id":"nested"},"flow_id":"top","seq":1}`,
      `{"v":1,"type":"sse","ts":"2026-11-20T10:00:03.6Z","flow_id":"shorter-ts"}`,
      line('after-short'),
      // needle straddling the guessed place, a partial needle, no needle at all
      `{"v":1,"type":"sse","ts":"2026-11-20T10:00:03.639Z","flow_id"`,
      `{"v":1,"type":"sse","ts":"2026-11-20T10:00:03.639Z","flow_ix":"no"}`,
      'not json at all',
      '',
      `"flow_id":"at-start"`,
      line('d'),
      // the needle only after the guessed place, and twice at the guessed place's neighbours
      `{"v":1,"type":"sse","ts":"2026-11-20T10:00:03.639Z","other_key":"abcdef","flow_id":"late"}`,
      `{"v":1,"type":"sse","ts":"2026-11-20T10:00:03.63","flow_id":"x","flow_id":"y"}`,
      line('e'),
      `"flow_id":"`,
      line('f'),
    ]
    expect(differ(NEEDLE, lines.join('\n'))).toBe(0)
    expect(differ(NEEDLE, lines.join('\n') + '\n')).toBe(0)
    expect(differ(NEEDLE, [...lines].reverse().join('\n'))).toBe(0)
  })

  it('gives what Buffer.indexOf gives over random lines', () => {
    let seed = 7
    const rnd = (n: number): number => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n)
    const parts = ['"flow_id":"', '"flow_id"', '"f', 'flow_id', '"', 'ab', '{', '}', ',', ':', '\\"flow_id\\":\\"']
    const lines: string[] = []
    for (let i = 0; i < 5000; i++) {
      let l = ''
      const k = rnd(12)
      for (let j = 0; j < k; j++) l += parts[rnd(parts.length)]
      lines.push(rnd(3) === 0 ? l : line(l.replace(/["\\]/g, ''), rnd(2) === 0 ? '2026-11-20T10:00:03.639Z' : '2026'))
    }
    expect(differ(NEEDLE, lines.join('\n'))).toBe(0)
  })

  it('gives what Buffer.indexOf gives over the shared fixture captures', () => {
    const root = join(__dirname, '..', '..', '..', 'fixtures', 'capture')
    let files = 0
    for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!d.isFile() || !d.name.endsWith('.jsonl')) continue
      files++
      const text = readFileSync(join(d.parentPath, d.name), 'utf8')
      expect(differ(NEEDLE, text), d.name).toBe(0)
      expect(differ(Buffer.from('"session_source":"derived"'), text), d.name).toBe(0)
    }
    expect(files).toBeGreaterThan(0)
  })
})
