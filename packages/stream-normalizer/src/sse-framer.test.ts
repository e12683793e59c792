import { describe, expect, it } from 'vitest'
import { prng, rechunk } from '../test/helpers.js'
import type { NormalizerError } from './errors.js'
import { createSseFramer, type SseFramerOptions } from './sse-framer.js'

interface Got {
  events: [number, string | undefined, string, boolean][]
  errors: NormalizerError[]
  comments: string[]
  retries: number[]
  oversized: number[]
}

function frame(chunks: (Uint8Array | string)[], opts: Partial<SseFramerOptions> = {}): Got {
  const got: Got = { events: [], errors: [], comments: [], retries: [], oversized: [] }
  const f = createSseFramer({
    onEvent: (seq, event, data, truncated) => got.events.push([seq, event, data, truncated]),
    onError: (e) => got.errors.push(e),
    onComment: (c) => got.comments.push(c),
    onRetry: (ms) => got.retries.push(ms),
    onOversized: (seq) => got.oversized.push(seq),
    ...opts,
  })
  for (const c of chunks) f.feed(c)
  f.end()
  return got
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const bytewise = (s: string): Uint8Array[] => Array.from(enc(s), (b) => Uint8Array.of(b))

describe('createSseFramer', () => {
  it('decodes multi-byte characters split across chunks (fed byte by byte)', () => {
    const got = frame(bytewise('data: café € 😀 日本\n\n'))
    expect(got.events).toEqual([[0, undefined, 'café € 😀 日本', false]])
    expect(got.errors).toEqual([])
  })

  it('strips one leading BOM, in bytes and in text', () => {
    expect(frame([Uint8Array.of(0xef), Uint8Array.of(0xbb, 0xbf), enc('data: a\n\n')]).events).toEqual([[0, undefined, 'a', false]])
    expect(frame(['\ufeffdata: a\n\n']).events).toEqual([[0, undefined, 'a', false]])
    // Only the first one: a second BOM is part of the first field name.
    expect(frame(['\ufeff\ufeffdata: a\n\n']).errors.map((e) => e.code)).toEqual(['SSE_UNKNOWN_FIELD'])
    expect(frame([enc('\ufeff\ufeffdata: a\n\n')]).errors.map((e) => e.code)).toEqual(['SSE_UNKNOWN_FIELD'])
    expect(frame([enc('\ufeff'), enc('\ufeffdata: a\n\n')]).errors.map((e) => e.code)).toEqual(['SSE_UNKNOWN_FIELD'])
    expect(frame(['\ufeff', '\n', 'data: a\n\n']).events).toEqual([[0, undefined, 'a', false]])
    // A BOM later in the stream is data, not stripped.
    expect(frame([enc('data: a\n\n'), enc('data: \ufeffb\n\n')]).events.map((e) => e[2])).toEqual(['a', '\ufeffb'])
  })

  it('treats CRLF, LF and lone CR alike, with a CRLF split across chunks counted once', () => {
    const want = [[0, 'x', 'a', false], [1, undefined, 'b', false]]
    expect(frame(['event: x\r', '\ndata: a\r', '\n\r', '\ndata: b\r\n\r\n']).events).toEqual(want)
    expect(frame(['event: x\rdata: a\r\rdata: b\r\r']).events).toEqual(want)
    expect(frame(['event: x\ndata: a\n\ndata: b\n\n']).events).toEqual(want)
  })

  it('joins multi-line data with \\n and strips one space after the colon', () => {
    expect(frame(['data:  two spaces\ndata:none\ndata\n\n']).events).toEqual([[0, undefined, ' two spaces\nnone\n', false]])
  })

  it('passes comments (heartbeats) and retry out, never as events', () => {
    const got = frame([': ping\n\nretry: 2500\n\n:\n\ndata: x\n\n'])
    expect(got.comments).toEqual(['ping', ''])
    expect(got.retries).toEqual([2500])
    expect(got.events).toEqual([[0, undefined, 'x', false]])
  })

  it('reports an invalid retry and an unknown field, and keeps going', () => {
    const got = frame(['retry: 10s\nfoo: bar\ndata: x\n\n'])
    expect(got.errors.map((e) => e.code)).toEqual(['SSE_INVALID_RETRY', 'SSE_UNKNOWN_FIELD'])
    expect(got.events).toEqual([[0, undefined, 'x', false]])
  })

  it('does not dispatch an event with an empty data buffer', () => {
    expect(frame(['event: lonely\n\nid: 5\n\ndata: x\n\n']).events).toEqual([[0, undefined, 'x', false]])
  })

  it('passes a valid id on with its event, ignores one containing NUL, and the events are undisturbed', () => {
    const got = frame(['id: 1\u0000x\ndata: a\n\nid: 2\ndata: b\n\n'])
    expect(got.events).toEqual([[0, undefined, 'a', false], [1, undefined, 'b', false]])
    expect(got.errors).toEqual([])
    const ids: Array<string | undefined> = []
    frame(['id: 1\u0000x\ndata: a\n\nid: 2\ndata: b\n\n'], { onEvent: (_s, _e, _d, _t, id) => ids.push(id) })
    expect(ids).toEqual([undefined, '2'])
  })

  it('does not treat U+2028 / U+2029 inside data as line breaks', () => {
    expect(frame(['data: {"t":"a\u2028b\u2029c"}\n\n']).events).toEqual([[0, undefined, '{"t":"a\u2028b\u2029c"}', false]])
  })

  it('processes an event the stream ended inside, flagged truncated and reported', () => {
    const got = frame(['data: a\n\ndata: {"partial":tr'])
    expect(got.events).toEqual([[0, undefined, 'a', false], [1, undefined, '{"partial":tr', true]])
    expect(got.errors.map((e) => [e.code, e.seq])).toEqual([['TRUNCATED_EVENT', 1]])
  })

  it('does not mistake a final lone CR for a truncated event', () => {
    const got = frame(['data: a\r\r'])
    expect(got.events).toEqual([[0, undefined, 'a', false]])
    expect(got.errors).toEqual([])
  })

  it('replaces invalid UTF-8, reports its byte offset and keeps the rest', () => {
    const good = enc('data: ok\n\n')
    const bad = Uint8Array.of(...enc('data: a'), 0xff, 0xfe, ...enc('b\n\ndata: é\n\n'))
    const got = frame([good, bad])
    expect(got.events.map((e) => e[2])).toEqual(['ok', 'a\ufffd\ufffdb', 'é'])
    expect(got.errors.map((e) => [e.code, e.offset])).toEqual([['INVALID_UTF8', good.length + 7]])
  })

  it('decodes mixes of ASCII and multi-byte chunks exactly, whatever the split (200 seeds)', () => {
    const text = 'data: ascii only line\n\ndata: é€😀 mixed ascii\n\n' + 'data: plain\n\n'.repeat(5) + 'data: 日本語テキスト🚀\n\n'
    const want = frame([text]).events
    for (let seed = 1; seed <= 200; seed++) {
      const got = frame(rechunk(enc(text), prng(seed)))
      expect(got.events, `seed ${seed}`).toEqual(want)
      expect(got.errors, `seed ${seed}`).toEqual([])
    }
  })

  it('reports a multi-byte character cut off by the end of the stream', () => {
    const got = frame([enc('data: ok\n\ndata: x'), Uint8Array.of(0xe2, 0x82)])
    expect(got.events.map((e) => e[2])).toEqual(['ok', 'x\ufffd'])
    expect(got.errors.map((e) => e.code)).toEqual(['INVALID_UTF8', 'TRUNCATED_EVENT'])
  })

  it('does not report a real U+FFFD as invalid', () => {
    expect(frame(bytewise('data: \ufffd\ufffd\n\n')).errors).toEqual([])
    expect(frame([enc('data: \ufffd\n\n')]).errors).toEqual([])
  })

  it('skips an oversized event up to its blank line, reports it, and resumes', () => {
    const big = 'x'.repeat(500)
    const text = `data: small\n\nevent: big\ndata: ${big}\ndata: ${big}\n\ndata: after\n\n`
    for (const chunks of [[text], rechunk(enc(text), prng(3)), bytewise(text)]) {
      const got = frame(chunks, { maxEventBytes: 300 })
      expect(got.events.map((e) => [e[0], e[2]])).toEqual([[0, 'small'], [2, 'after']])
      expect(got.oversized).toEqual([1])
      expect(got.errors.map((e) => e.code)).toEqual(['EVENT_TOO_LARGE'])
    }
  })

  it('survives a huge line of binary junk with no line break (bounded memory), then resumes after a blank line', () => {
    const junk = new Uint8Array(4000)
    const rand = prng(9)
    for (let i = 0; i < junk.length; i++) junk[i] = 32 + Math.floor(rand() * 200)
    const got = frame([junk, junk, enc('\n\ndata: fine\n\n')], { maxEventBytes: 1000 })
    expect(got.events.map((e) => e[2])).toEqual(['fine'])
    expect(got.errors.some((e) => e.code === 'EVENT_TOO_LARGE')).toBe(true)
  })

  it('gives the same events for every chunking (100 seeds)', () => {
    const text = '\ufeff: hi\r\nevent: a\r\ndata: {"x":"é€😀"}\r\n\r\ndata: l1\rdata: l2\r\r: ping\n\nevent: b\ndata: {}\n\n'
    const reference = frame([text])
    expect(reference.events).toHaveLength(3)
    for (let seed = 1; seed <= 100; seed++) {
      const got = frame(rechunk(enc(text), prng(seed)))
      expect(got, `seed ${seed}`).toEqual(reference)
    }
  })

  it('counts bytes and events; reset starts over', () => {
    const f = createSseFramer({ onEvent: () => {} })
    f.feed(enc('data: é\n\n'))
    expect(f.bytes).toBe(10)
    expect(f.events).toBe(1)
    f.reset()
    expect(f.bytes).toBe(0)
    expect(f.events).toBe(0)
  })

  it('throws on API misuse only', () => {
    expect(() => createSseFramer({ onEvent: () => {}, maxEventBytes: 0 })).toThrow(RangeError)
    const f = createSseFramer({ onEvent: () => {} })
    expect(() => f.feed(42 as unknown as string)).toThrow(TypeError)
  })
})
