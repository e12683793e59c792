/**
 * An incremental HTTP/1.1 framing parser for the capture side of the relay: the proxy passes
 * the bytes on untouched and feeds a copy here, which finds the message heads, undoes chunked
 * transfer coding and says where each message ends (keep-alive: many messages per connection).
 *
 * It never changes what goes on the wire, so it can afford to be strict: the first framing
 * error stops it (the caller keeps relaying and ends the flows it had with that error).
 */

/** A parsed request or response head. */
export interface Http1Head {
  /** Request method (requests only). */
  method: string
  /** Request target as sent (requests only). */
  url: string
  /** Status code (responses only; 0 for requests). */
  status: number
  /** Reason phrase (responses only). */
  statusText: string
  /** `1` for HTTP/1.1, `0` for HTTP/1.0. */
  versionMinor: number
  /** Header names and values as sent, alternating (like Node's `rawHeaders`). */
  rawHeaders: string[]
  /** Lower-cased names; repeated headers as arrays (`set-cookie` etc.). */
  headers: Record<string, string | string[]>
  /** Size of the head on the wire, final CRLF included. */
  bytes: number
}

/** How the body after a head is framed. */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close' | 'upgrade'

/** Callbacks of {@link createHttp1Parser}. */
export interface Http1Handlers {
  /**
   * A head. Responses: return `true` when the message has no body whatever its headers say
   * (the answer to a HEAD request). Interim responses (1xx other than 101) have no body and are
   * followed by the final response of the same request.
   */
  onHead(head: Http1Head, framing: BodyFraming): boolean | void
  /** Body bytes, transfer coding removed (views into the fed buffer: copy to keep them). */
  onBody(chunk: Buffer): void
  /** The message is complete (for `close` framing: the connection ended). */
  onEnd(): void
}

/** A framing error, with where it happened. */
export class Http1ParseError extends Error {
  readonly code: 'HEAD_TOO_LARGE' | 'BAD_HEAD' | 'BAD_CHUNK' | 'TRUNCATED'
  /** Offset in the connection's byte stream (this direction) where the problem was found. */
  readonly offset: number
  constructor(code: Http1ParseError['code'], message: string, offset: number) {
    super(`${message} (at byte ${offset} of the connection)`)
    this.name = 'Http1ParseError'
    this.code = code
    this.offset = offset
  }
}

/** The parser of one direction of one connection. */
export interface Http1Parser {
  /** Feeds bytes in wire order. After an error or an upgrade it ignores everything. */
  feed(chunk: Buffer): void
  /** The stream ended: completes a close-delimited body; a message cut short is an error. */
  finish(): void
  /** The first error, once there is one (the parser has stopped). */
  readonly error: Http1ParseError | undefined
  /** Whether the parser is between messages (nothing of a message seen yet). */
  readonly idle: boolean
  /** True once a 101 response (or an upgrade request, for requests) switched protocols. */
  readonly upgraded: boolean
}

/** Options of {@link createHttp1Parser}. */
export interface Http1ParserOptions {
  /** Largest head accepted. @defaultValue 256 KiB */
  maxHeadBytes?: number
  /** Called once, with the error that stopped the parser. */
  onError?(err: Http1ParseError): void
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Close,
  Done,
}

const CR = 13
const LF = 10

function splitHead(text: string): string[] {
  // Lines end in CRLF; a bare LF is tolerated, as Node's own parser does in lenient mode.
  return text.split(/\r?\n/)
}

/**
 * Creates a parser of `kind` messages (`request`s from a client, `response`s from a server).
 *
 * @example
 * const p = createHttp1Parser('response', {
 *   onHead: (h) => console.log(h.status, h.headers['content-type']),
 *   onBody: (b) => body.push(Buffer.from(b)),
 *   onEnd: () => console.log('response complete'),
 * })
 * upstream.on('data', (b) => { client.write(b); p.feed(b) })
 */
export function createHttp1Parser(kind: 'request' | 'response', handlers: Http1Handlers, opts: Http1ParserOptions = {}): Http1Parser {
  const maxHead = opts.maxHeadBytes ?? 256 * 1024
  let state = State.Head
  let headBuf: Buffer | undefined
  let remaining = 0
  let line = ''
  let offset = 0
  let error: Http1ParseError | undefined
  let upgraded = false
  let inMessage = false

  function fail(code: Http1ParseError['code'], message: string, at: number): void {
    if (error) return
    error = new Http1ParseError(code, message, at)
    state = State.Done
    opts.onError?.(error)
  }

  function parseHead(text: string, bytes: number, at: number): void {
    const lines = splitHead(text)
    const start = lines[0] ?? ''
    let method = ''
    let url = ''
    let status = 0
    let statusText = ''
    let versionMinor = 1
    if (kind === 'request') {
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/.exec(start)
      if (!m) return fail('BAD_HEAD', `not an HTTP/1.x request line: ${JSON.stringify(start.slice(0, 80))}`, at)
      method = m[1] as string
      url = m[2] as string
      versionMinor = Number(m[3])
    } else {
      const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(start)
      if (!m) return fail('BAD_HEAD', `not an HTTP/1.x status line: ${JSON.stringify(start.slice(0, 80))}`, at)
      versionMinor = Number(m[1])
      status = Number(m[2])
      statusText = m[3] ?? ''
    }
    const rawHeaders: string[] = []
    const headers: Record<string, string | string[]> = {}
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i] as string
      if (l === '') continue
      const colon = l.indexOf(':')
      if (colon <= 0) return fail('BAD_HEAD', `malformed header line: ${JSON.stringify(l.slice(0, 80))}`, at)
      const name = l.slice(0, colon)
      const value = l.slice(colon + 1).trim()
      rawHeaders.push(name, value)
      const key = name.toLowerCase()
      const prev = headers[key]
      headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
    }
    const te = headers['transfer-encoding']
    const chunked = te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(Array.isArray(te) ? te.join(',') : te)
    const cl = headers['content-length']
    let length = -1
    if (!chunked && cl !== undefined) {
      const v = Array.isArray(cl) ? cl : [cl]
      // Repeated Content-Length is only acceptable when every copy agrees (RFC 9112 §6.3).
      const first = (v[0] as string).split(',')[0]?.trim() ?? ''
      const all = v.flatMap((x) => x.split(',')).map((x) => x.trim())
      if (!/^\d{1,15}$/.test(first) || all.some((x) => x !== first)) return fail('BAD_HEAD', `invalid Content-Length: ${JSON.stringify(v.join(', '))}`, at)
      length = Number(first)
    }
    let framing: BodyFraming
    if (kind === 'request') {
      const upgrade = headers['upgrade'] !== undefined && /upgrade/i.test(String(headers['connection'] ?? ''))
      if (method === 'CONNECT') framing = 'upgrade'
      else if (chunked) framing = 'chunked'
      else if (length > 0) framing = 'length'
      else framing = upgrade ? 'upgrade' : 'none'
    } else if (status === 101) framing = 'upgrade'
    else if ((status >= 100 && status < 200) || status === 204 || status === 304) framing = 'none'
    else if (chunked) framing = 'chunked'
    else if (length >= 0) framing = length === 0 ? 'none' : 'length'
    else framing = 'close'
    const head: Http1Head = { method, url, status, statusText, versionMinor, rawHeaders, headers, bytes }
    const noBody = handlers.onHead(head, framing) === true
    if (error) return
    if (framing === 'upgrade') {
      // The head is the last thing of this protocol on the connection (a request body, if any,
      // is the client's business: the server decides with its 101 or not).
      upgraded = true
      state = State.Done
      handlers.onEnd()
      return
    }
    if (noBody || framing === 'none') return end()
    if (framing === 'length') {
      remaining = length
      state = State.Length
    } else if (framing === 'chunked') {
      state = State.ChunkSize
      line = ''
    } else state = State.Close
  }

  function end(): void {
    state = State.Head
    inMessage = false
    handlers.onEnd()
  }

  /** Passes on up to `remaining` body bytes from `i`; returns where it stopped. */
  function body(buf: Buffer, i: number, n: number): number {
    const take = Math.min(remaining, n - i)
    handlers.onBody(buf.subarray(i, i + take))
    remaining -= take
    return i + take
  }

  function feed(buf: Buffer): void {
    let i = 0
    const n = buf.length
    while (i < n && state !== State.Done) {
      switch (state) {
        case State.Head: {
          inMessage = true
          // Stray CRLFs between messages are allowed before a request line (RFC 9112 §2.2).
          if (headBuf === undefined) {
            while (i < n && (buf[i] === CR || buf[i] === LF)) i++
            if (i === n) {
              inMessage = false
              break
            }
          }
          const startAt = offset + i
          const prevLen = headBuf?.length ?? 0
          const joined = headBuf === undefined ? buf.subarray(i) : Buffer.concat([headBuf, buf.subarray(i)])
          // Search from a little before the seam: the blank line may straddle two chunks.
          const from = Math.max(0, prevLen - 3)
          const crlf = joined.indexOf('\r\n\r\n', from)
          const lflf = joined.indexOf('\n\n', from)
          const endAt = crlf === -1 ? (lflf === -1 ? -1 : lflf + 2) : lflf === -1 || crlf + 4 <= lflf + 2 ? crlf + 4 : lflf + 2
          if (endAt === -1) {
            if (joined.length > maxHead) return fail('HEAD_TOO_LARGE', `message head larger than ${maxHead} bytes`, startAt - prevLen)
            headBuf = Buffer.from(joined)
            i = n
            break
          }
          if (endAt > maxHead) return fail('HEAD_TOO_LARGE', `message head larger than ${maxHead} bytes`, startAt - prevLen)
          headBuf = undefined
          i += endAt - prevLen
          parseHead(joined.toString('latin1', 0, endAt), endAt, startAt - prevLen)
          break
        }
        case State.Length:
          i = body(buf, i, n)
          if (remaining === 0) end()
          break
        case State.ChunkSize:
        case State.Trailers: {
          const lf = buf.indexOf(LF, i)
          const piece = buf.toString('latin1', i, lf === -1 ? n : lf)
          line += piece
          if (line.length > 8192) return fail('BAD_CHUNK', 'chunk-size or trailer line longer than 8 KiB', offset + i)
          if (lf === -1) {
            i = n
            break
          }
          i = lf + 1
          const l = line.endsWith('\r') ? line.slice(0, -1) : line
          line = ''
          if (state === State.Trailers) {
            if (l === '') end()
            break
          }
          const m = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$/.exec(l)
          if (!m) return fail('BAD_CHUNK', `invalid chunk-size line: ${JSON.stringify(l.slice(0, 40))}`, offset + i - 1)
          remaining = parseInt(m[1] as string, 16)
          state = remaining === 0 ? State.Trailers : State.ChunkData
          break
        }
        case State.ChunkData:
          i = body(buf, i, n)
          if (remaining === 0) {
            state = State.ChunkDataEnd
            remaining = 2
          }
          break
        case State.ChunkDataEnd: {
          // CRLF after the chunk's data (a bare LF is tolerated).
          const c = buf[i] as number
          if (remaining === 2 && c === CR) {
            remaining = 1
            i++
          } else if (c === LF) {
            i++
            state = State.ChunkSize
          } else return fail('BAD_CHUNK', 'chunk data not followed by CRLF', offset + i)
          break
        }
        case State.Close:
          handlers.onBody(buf.subarray(i))
          i = n
          break
      }
    }
    offset += n
  }

  return {
    feed(chunk) {
      if (state === State.Done || chunk.length === 0) {
        offset += chunk.length
        return
      }
      feed(chunk)
    },
    finish() {
      if (state === State.Close) {
        state = State.Done
        handlers.onEnd()
        return
      }
      if (state === State.Done) return
      if (state === State.Head && !inMessage && headBuf === undefined) return
      fail('TRUNCATED', `connection ended inside a message (${state === State.Head ? 'head' : 'body'} incomplete)`, offset)
    },
    get error() {
      return error
    },
    get idle() {
      return state === State.Head && !inMessage && headBuf === undefined
    },
    get upgraded() {
      return upgraded
    },
  }
}
