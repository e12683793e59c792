/**
 * Issue 16, item 1: the SSE redactor joins secrets spanning any number of events, never holds
 * records behind an empty `text:""`, and releases each record as soon as it can no longer be
 * part of a secret (checked against the bound the README documents).
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createRedactor, createSseRedactor, redactText } from '../src/index.js'
import { rng } from './rng.js'

type Rec = { type: 'sse'; seq: number; event?: string; id?: string; data: string }

const WORDS = 'the agent reads the file then writes a test that passes because the function returns early when input is empty'.split(' ')

/** An Anthropic answer: content_block_start with text "", `deltas` text deltas, stop records. */
function anthropic(pieces: string[]): Rec[] {
  const recs: Rec[] = []
  const push = (event: string, obj: unknown): void => {
    recs.push({ type: 'sse', seq: recs.length, event, data: JSON.stringify(obj) })
  }
  push('message_start', { type: 'message_start', message: { id: 'msg_1', content: [], usage: { input_tokens: 5 } } })
  push('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  for (const p of pieces) push('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } })
  push('content_block_stop', { type: 'content_block_stop', index: 0 })
  push('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } })
  push('message_stop', { type: 'message_stop' })
  return recs
}

/** Responses over SSE: content_part.added with part.text "", then the deltas. */
function responses(pieces: string[]): Rec[] {
  const recs: Rec[] = []
  const push = (obj: Record<string, unknown>): void => {
    recs.push({ type: 'sse', seq: recs.length, event: String(obj['type']), data: JSON.stringify({ ...obj, sequence_number: recs.length }) })
  }
  push({ type: 'response.created', response: { id: 'resp_1', output: [] } })
  push({ type: 'response.output_item.added', output_index: 0, item: { id: 'msg_1', type: 'message', content: [] } })
  push({ type: 'response.content_part.added', item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } })
  for (const p of pieces) push({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: p })
  push({ type: 'response.output_text.done', item_id: 'msg_1', output_index: 0, content_index: 0, text: pieces.join('') })
  push({ type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 1, output_tokens: 2 } } })
  return recs
}

function deltaText(r: Rec): string | undefined {
  const d = JSON.parse(r.data) as { type: string; delta?: string | { text?: string } }
  if (d.type === 'content_block_delta' && typeof d.delta === 'object') return d.delta.text
  if (d.type === 'response.output_text.delta' && typeof d.delta === 'string') return d.delta
  return undefined
}

interface Run {
  out: Rec[]
  /** For each fed record, how many records had been fed when it came out (its own feed counts). */
  releasedAfter: number[]
  errors: string[]
}

function run(recs: Rec[], opts: { maxHeldRecords?: number } = {}): Run {
  const out: Rec[] = []
  const releasedAfter: number[] = []
  const errors: string[] = []
  let fed = 0
  const red = createSseRedactor<Rec>({ ...opts, onRecord: (x) => {
    out.push(x)
    releasedAfter[x.seq] = fed
  }, onError: (e) => errors.push(e.code) })
  for (const r of recs) {
    fed++
    red.feed(r)
  }
  red.end()
  return { out, releasedAfter, errors }
}

/** `n` prose deltas of one to three words, each starting with a space. */
function prose(r: ReturnType<typeof rng>, n: number): string[] {
  return Array.from({ length: n }, () => ` ${Array.from({ length: r.int(1, 3) }, () => r.pick(WORDS)).join(' ')}`)
}

/** Pieces of `s` of exactly `size` chars (the last one shorter). */
function chunks(s: string, size: number): string[] {
  const out: string[] = []
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size))
  return out
}

function expectJoinedRedacted(res: Run, input: string[], secretPieces: string[]): void {
  const joined = res.out.map(deltaText).filter((t) => t !== undefined).join('')
  expect(joined).toBe(redactText(input.join('')))
  const all = res.out.map((x) => x.data).join('\n')
  for (const piece of secretPieces) expect(all).not.toContain(piece)
  expect(res.out.map((x) => x.seq)).toEqual([...res.out.keys()])
  expect(res.errors).toEqual([])
}

const ANT = 'sk-ant-api03-Q7xZp2Lk9VwR4tYb8NcM1sHd6JfG3eUa0OiKq5Wz-Xy_Rt7Bn2Vc8Lm4Pk9Jh6Gf3Ds1Az0SwEdRfTgYhUjIkOlP0o9I8u7Y6tT5rAA'

describe('SSE redactor, issue 16 item 1', () => {
  it('joins an API key streamed in 4 deltas around delta #255 of a 300-delta answer', () => {
    const r = rng(16)
    for (const at of [250, 253, 255, 256, 258]) {
      const before = prose(r, at)
      const key = [` my key is ${ANT.slice(0, 30)}`, ANT.slice(30, 60), ANT.slice(60, 90), `${ANT.slice(90)} keep it safe.`]
      const pieces = [...before, ...key, ...prose(r, 300 - at)]
      const res = run(anthropic(pieces))
      expectJoinedRedacted(res, pieces, [ANT.slice(20, 40), ANT.slice(60, 80), ANT.slice(95, 110)])
    }
  })

  it('joins a PEM private key streamed in 8-char deltas', () => {
    const r = rng(8)
    for (const bits of [2048, 4096]) {
      const pem = generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      const body = pem.split('\n')[5] as string
      const pieces = [...prose(r, 60), ' Here is the key you asked for:\n', ...chunks(pem, 8), '\nStore it safely.', ...prose(r, 20)]
      for (const recs of [anthropic(pieces), responses(pieces)]) {
        const res = run(recs)
        expectJoinedRedacted(res, pieces, [body.slice(0, 20), body.slice(30, 50)])
      }
    }
    // RSA key generation takes seconds on a loaded machine.
  }, 60_000)

  it('joins a 1.2 KB JWT streamed in 2-char deltas', () => {
    const seg = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    const jwt = `${seg({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${seg({ sub: 'user-1', scope: 'x '.repeat(300), exp: 1900000000 })}.${'Ab9-_xYz'.repeat(40)}`
    expect(jwt.length).toBeGreaterThan(1200)
    const pieces = [' token: ', ...chunks(jwt, 2), ' (expires soon)']
    const res = run(anthropic(pieces))
    expectJoinedRedacted(res, pieces, [jwt.slice(100, 120), jwt.slice(600, 620), jwt.slice(1100, 1120)])
  })

  it('does not hold records behind an empty content_block_start text or part.text', () => {
    const r = rng(7)
    const pieces = prose(r, 300)
    for (const recs of [anthropic(pieces), responses(pieces)]) {
      const res = run(recs)
      // Every delta starts with a space: nothing can be part of a secret once the next one comes.
      for (let i = 0; i < recs.length; i++) expect(res.releasedAfter[i], `record ${i}`).toBeLessThanOrEqual(i + 2)
      expect(res.out).toHaveLength(recs.length)
      res.out.forEach((x, i) => expect(x).toBe(recs[i]))
    }
  })

  it('releases each record as soon as whitespace its secret cannot span follows it (the documented bound)', () => {
    const r = rng(99)
    for (let trial = 0; trial < 40; trial++) {
      // Deltas cut anywhere, words and keys alike: a record may only wait for the first later
      // piece of its channel that brings whitespace, and for the records before it.
      const text = Array.from({ length: 120 }, () => (r.next() < 0.05 ? ANT : r.pick(WORDS))).join(' ')
      const pieces: string[] = []
      for (let i = 0; i < text.length; ) {
        const n = r.int(1, 12)
        pieces.push(text.slice(i, i + n))
        i += n
      }
      const recs = anthropic(pieces)
      const res = run(recs)
      expect(res.out.map(deltaText).filter((t) => t !== undefined).join('')).toBe(redactText(text))
      // Bound for delta k (record k + 2): the first later delta holding whitespace ends a run.
      let bound = 0
      for (let k = 0; k < pieces.length; k++) {
        let j = k + 1
        while (j < pieces.length && !/\s/.test(pieces[j] as string)) j++
        // Secrets hold a few more: a key's run ends at the whitespace after it, found the same way.
        bound = Math.max(bound, j < pieces.length ? j + 2 + 1 : recs.length)
        expect(res.releasedAfter[k + 2], `trial ${trial} delta ${k}`).toBeLessThanOrEqual(bound)
      }
    }
  })

  it('holds a private key block until its END line, but never past maxPending, and a cut-short key only for its 16 KiB window', () => {
    const r = rng(12)
    const head4 = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDxW8E6p2mRkYJ3Wlk1V0ZbqzX9HcG8b9dN6vP0aJ+RbAAAAJi3T1xlt09c\nZQAAAAtzc2gtZWQyNTUxOQAAACDxW8E6p2mRkYJ3Wlk1V0ZbqzX9HcG8b9dN6vP0aJ+RbA\n'
    const after = prose(r, 3000)
    const pieces = [' the first lines:\n', ...chunks(head4, 8), '\nThat is all.', ...after]
    // Default caps: held while an END line may still come (16 KiB of text), then released, redacted.
    const res = run(anthropic(pieces))
    expectJoinedRedacted(res, pieces, ['Wlk1V0ZbqzX9HcG8b9', 'JYkJ3Wlk1V0Zbq'])
    const firstAfterKey = pieces.indexOf('\nThat is all.') + 2
    const lastRecord = pieces.length + 1
    const keyRecord = pieces.indexOf(' the first lines:\n') + 3
    expect(res.releasedAfter[keyRecord]).toBeLessThan(lastRecord)
    expect(res.releasedAfter[firstAfterKey]).toBeGreaterThan(firstAfterKey + 100)
    // A smaller maxPending caps the hold: what is released is still redacted as far as it goes.
    const out: Rec[] = []
    const errors: string[] = []
    let maxHeld = 0
    const red = createSseRedactor<Rec>({ maxPending: 2000, onRecord: (x) => out.push(x), onError: (e) => errors.push(e.code) })
    for (const rec of anthropic(pieces)) {
      red.feed(rec)
      maxHeld = Math.max(maxHeld, red.held)
    }
    red.end()
    expect(errors).toContain('PENDING_LIMIT')
    expect(maxHeld).toBeLessThan(2000 / 4)
    expect(out.map((x) => x.data).join('')).not.toContain('Wlk1V0ZbqzX9HcG8b9')
  })

  it('redacts the SSE id and event fields', () => {
    const out: Rec[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x) })
    red.feed({ type: 'sse', seq: 0, event: 'ping', id: `evt ${ANT}`, data: '{"type":"ping"}' })
    red.feed({ type: 'sse', seq: 1, event: `x ${ANT}`, data: '{"type":"ping"}' })
    red.end()
    expect(JSON.stringify(out)).not.toContain(ANT.slice(20, 40))
    expect(out[0]?.id).toBe(redactText(`evt ${ANT}`))
    expect(out[1]?.event).toBe(redactText(`x ${ANT}`))
  })

  it('after a forced release at maxHeldRecords, the rest of a secret is still redacted', () => {
    const pieces = [' key ', ...chunks(ANT, 4), ' done']
    const res = run(anthropic(pieces), { maxHeldRecords: 10 })
    expect(res.errors).toContain('HELD_LIMIT')
    const joined = res.out.map(deltaText).filter((t) => t !== undefined).join('')
    // What was forced out before the key was complete is lost to the cap; nothing after it.
    expect(joined).toMatch(/\[REDACTED:[0-9a-f]{12}\] done$/)
    expect(joined).not.toContain(ANT.slice(60))
  })

  it('keeps joining with a custom redactor whose patterns cross whitespace (hold-back)', () => {
    const red = createRedactor({ extraPatterns: [/open sesame \d{4}/] })
    const out: Rec[] = []
    const s = createSseRedactor<Rec>({ redactor: red, onRecord: (x) => out.push(x) })
    const pieces = [' say open', ' sesame', ' 1234 now', ...Array.from({ length: 40 }, () => ' more words')]
    anthropic(pieces).forEach((x) => s.feed(x))
    s.end()
    expect(out.map(deltaText).filter((t) => t !== undefined).join('')).toBe(red.text(pieces.join('')))
  })
})
