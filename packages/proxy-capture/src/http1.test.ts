import { describe, expect, it } from 'vitest'
import { createHttp1Parser, type BodyFraming, type Http1ParseError } from './http1.js'

type Ev = ['head', string, BodyFraming] | ['body', string] | ['end']

/** Feeds `wire` cut at `cuts` and returns what the parser reported, bodies joined per message. */
function run(kind: 'request' | 'response', wire: string, cuts: number[] = [], headMethods: string[] = []): { events: Ev[]; error?: Http1ParseError; upgraded: boolean } {
  const events: Ev[] = []
  let error: Http1ParseError | undefined
  const methods = [...headMethods]
  const p = createHttp1Parser(
    kind,
    {
      onHead: (h, framing) => {
        events.push(['head', kind === 'request' ? `${h.method} ${h.url}` : `${h.status} ${h.statusText}`, framing])
        return kind === 'response' && h.status >= 200 && methods.shift() === 'HEAD'
      },
      onBody: (b) => {
        const last = events[events.length - 1]
        if (last?.[0] === 'body') last[1] += b.toString('latin1')
        else events.push(['body', b.toString('latin1')])
      },
      onEnd: () => events.push(['end']),
    },
    { onError: (e) => (error = e), maxHeadBytes: 4096 },
  )
  const buf = Buffer.from(wire, 'latin1')
  let at = 0
  for (const c of [...cuts, buf.length]) {
    p.feed(buf.subarray(at, c))
    at = c
  }
  p.finish()
  return { events, ...(error ? { error } : {}), upgraded: p.upgraded }
}

const chunk = (data: string, ext = ''): string => `${data.length.toString(16)}${ext}\r\n${data}\r\n`

const RESPONSES =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}' +
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
  chunk('event: a\ndata: {"n":1}\n\n', ';ext=1') +
  chunk('data:') +
  chunk(' {"n":2}\n\n') +
  '0\r\nX-Trailer: t\r\n\r\n' +
  'HTTP/1.1 204 No Content\r\n\r\n' +
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n' + // answer to a HEAD: no body
  'HTTP/1.0 200 OK\nContent-Type: text/plain\n\nuntil the end'

const EXPECTED: Ev[] = [
  ['head', '200 OK', 'length'],
  ['body', '{"ok":true}'],
  ['end'],
  ['head', '200 OK', 'chunked'],
  ['body', 'event: a\ndata: {"n":1}\n\ndata: {"n":2}\n\n'],
  ['end'],
  ['head', '204 No Content', 'none'],
  ['end'],
  ['head', '100 Continue', 'none'],
  ['end'],
  ['head', '304 Not Modified', 'none'],
  ['end'],
  ['head', '200 OK', 'length'],
  ['end'],
  ['head', '200 OK', 'close'],
  ['body', 'until the end'],
  ['end'],
]
const METHODS = ['GET', 'POST', 'GET', 'GET', 'HEAD', 'GET']

describe('createHttp1Parser', () => {
  it('frames keep-alive responses of every kind, whole and cut at every byte', () => {
    expect(run('response', RESPONSES, [], METHODS)).toEqual({ events: EXPECTED, upgraded: false })
    for (let cut = 1; cut < RESPONSES.length; cut++) {
      expect(run('response', RESPONSES, [cut], METHODS).events, `cut at ${cut}`).toEqual(EXPECTED)
    }
    // Every byte on its own.
    expect(run('response', RESPONSES, Array.from({ length: RESPONSES.length - 1 }, (_, i) => i + 1), METHODS).events).toEqual(EXPECTED)
  })

  it('reads request heads with their raw header names, and content-length and chunked bodies', () => {
    const wire =
      '\r\nGET /v1/models HTTP/1.1\r\nHost: api.example\r\nX-Custom-Case: A\r\nX-Custom-Case: B\r\n\r\n' +
      'POST /v1/messages HTTP/1.1\r\nContent-Length: 4\r\n\r\n{"a"' +
      'POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
    let raw: string[] = []
    const p = createHttp1Parser('request', {
      onHead: (h) => {
        if (raw.length === 0) raw = h.rawHeaders
        expect(h.headers['x-custom-case']).toEqual(['A', 'B'])
        return undefined
      },
      onBody: () => undefined,
      onEnd: () => undefined,
    })
    p.feed(Buffer.from(wire.slice(0, 90)))
    expect(raw).toEqual(['Host', 'api.example', 'X-Custom-Case', 'A', 'X-Custom-Case', 'B'])
    expect(run('request', wire).events).toEqual([
      ['head', 'GET /v1/models', 'none'],
      ['end'],
      ['head', 'POST /v1/messages', 'length'],
      ['body', '{"a"'],
      ['end'],
      ['head', 'POST /up', 'chunked'],
      ['body', 'abc'],
      ['end'],
    ])
  })

  it('stops at a protocol switch and leaves the rest to the caller', () => {
    const r = run('response', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello')
    expect(r).toEqual({ events: [['head', '101 Switching Protocols', 'upgrade'], ['end']], upgraded: true })
    const q = run('request', 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x85xxxx')
    expect(q.upgraded).toBe(true)
  })

  it('reports framing errors with their byte offset and stops', () => {
    const bad = run('response', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSSH-2.0-junk\r\n\r\n')
    expect(bad.error).toMatchObject({ code: 'BAD_HEAD', offset: 40 })
    expect(bad.events).toEqual([['head', '200 OK', 'length'], ['body', 'ok'], ['end']])
    expect(run('response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n').error).toMatchObject({ code: 'BAD_CHUNK', offset: 50 })
    expect(run('response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX').error).toMatchObject({ code: 'BAD_CHUNK' })
    expect(run('response', 'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n').error).toMatchObject({ code: 'BAD_HEAD' })
    expect(run('response', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(5000)}\r\n\r\n`).error).toMatchObject({ code: 'HEAD_TOO_LARGE', offset: 0 })
    const cut = run('response', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')
    expect(cut.error).toMatchObject({ code: 'TRUNCATED', offset: 42 })
    expect(cut.events).toEqual([['head', '200 OK', 'length'], ['body', 'abc']])
    // A connection that ends between messages is not an error.
    expect(run('response', 'HTTP/1.1 204 No Content\r\n\r\n').error).toBeUndefined()
  })
})
