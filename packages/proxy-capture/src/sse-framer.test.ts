import { describe, expect, it } from 'vitest'
import { createSseFramer, type FramedSseEvent } from './sse-framer.js'

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function frame(chunks: (Uint8Array | string)[], maxEventBytes?: number): { events: FramedSseEvent[]; errors: string[] } {
  const events: FramedSseEvent[] = []
  const errors: string[] = []
  const f = createSseFramer({ onEvent: (e) => events.push(e), onError: (e) => errors.push(e.code), ...(maxEventBytes ? { maxEventBytes } : {}) })
  for (const c of chunks) f.feed(c)
  f.end()
  return { events, errors }
}

function split(bytes: Uint8Array, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = []
  let i = 0
  while (i < bytes.length) {
    const n = 1 + Math.floor(rand() * 7)
    out.push(bytes.subarray(i, i + n))
    i += n
  }
  return out
}

const STREAM =
  '\uFEFFevent: message_start\r\ndata: {"type":"message_start","t":"héllo ✓ 😀"}\r\n\r\n' +
  ': heartbeat\n\n' +
  'event: content_block_delta\ndata: {"a":1}\ndata: {"b":2}\n\n' +
  'data:no-space\rid: 7\r\r' +
  'event: empty\n\n' +
  'data: {"u":"\u2028 line sep stays"}\n\n'

const EXPECTED: FramedSseEvent[] = [
  { event: 'message_start', data: '{"type":"message_start","t":"héllo ✓ 😀"}' },
  { event: 'content_block_delta', data: '{"a":1}\n{"b":2}' },
  { data: 'no-space', id: '7' },
  { data: '{"u":"\u2028 line sep stays"}' },
]

describe('createSseFramer', () => {
  it('frames a stream with BOM, CRLF, lone CR, comments, multi-line data and no-data events', () => {
    expect(frame([STREAM]).events).toEqual(EXPECTED)
  })

  it('gives identical events for every chunking of the bytes (seeded random splits)', () => {
    const bytes = new TextEncoder().encode(STREAM)
    for (let seed = 1; seed <= 200; seed++) {
      expect(frame(split(bytes, rng(seed))).events).toEqual(EXPECTED)
    }
  })

  it('counts a CRLF split across two chunks as one line end', () => {
    const { events } = frame(['data: a\r', '\n\r', '\ndata: b\n\n'])
    expect(events).toEqual([{ data: 'a' }, { data: 'b' }])
  })

  it('dispatches an event still open at the end flagged truncated', () => {
    const { events } = frame(['data: done\n\nevent: x\ndata: {"partial":'])
    expect(events).toEqual([{ data: 'done' }, { event: 'x', data: '{"partial":', truncated: true }])
  })

  it('reports an oversized event, drops it and keeps framing after the next blank line', () => {
    const big = 'x'.repeat(100)
    const { events, errors } = frame([`data: ${big}\ndata: ${big}\n\ndata: ok\n\n`], 150)
    expect(errors).toEqual(['SSE_EVENT_TOO_LARGE'])
    expect(events).toEqual([{ data: 'ok' }])
  })

  it('caps a line that never ends', () => {
    const { events, errors } = frame(['data: ', 'y'.repeat(80), 'y'.repeat(80), 'y'.repeat(80), '\n\ndata: after\n\n'], 100)
    expect(errors).toEqual(['SSE_EVENT_TOO_LARGE'])
    expect(events).toEqual([{ data: 'after' }])
  })

  it('keeps binary junk as replacement characters instead of throwing', () => {
    const junk = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x0a, 0x0a])
    const { events } = frame([new TextEncoder().encode('data: a'), junk, 'data: b\n\n'])
    expect(events[0]?.data.startsWith('a')).toBe(true)
    expect(events[1]).toEqual({ data: 'b' })
  })

  it('reset forgets a half-read event', () => {
    const events: FramedSseEvent[] = []
    const f = createSseFramer({ onEvent: (e) => events.push(e) })
    f.feed('data: lost')
    f.reset()
    f.feed('data: kept\n\n')
    f.end()
    expect(events).toEqual([{ data: 'kept' }])
  })
})
