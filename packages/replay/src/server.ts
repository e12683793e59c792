/**
 * The replay server: an HTTP and HTTPS upstream on one port (the first byte tells TLS from plain
 * HTTP) that answers an agent's requests from a capture, over SSE, plain HTTP bodies or
 * WebSocket frames as they were captured, at the recorded pace or as fast as the client reads.
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { rootCertificates, TLSSocket, createSecureContext, type SecureContext } from 'node:tls'
import * as zlib from 'node:zlib'
import { createLeafMinter, ensureCa } from '@agenttap/proxy-capture'
import { createRedactor, type RedactorOptions } from '@agenttap/session-extractor'
import WebSocket, { WebSocketServer } from 'ws'
import { ReplayError } from './errors.js'
import { excerpt, firstDifference, requestPrint } from './fingerprint.js'
import { createMatcher, type MatchResult } from './matcher.js'
import { pace, waitUntil } from './pace.js'
import { errorBody, errorFrame, providerOf } from './provider-error.js'
import { createDivergenceReport, defaultReportPath } from './report.js'
import type { DivergenceEntry, ReplayCapture, ReplayConnection, ReplayEvent, ReplayExchange, ReplaySummary, RequestPrint } from './types.js'

/** Options of {@link createReplayServer}. */
export interface ReplayServerOptions {
  /** What to serve (see `loadReplayCapture`). */
  capture: ReplayCapture
  /** @defaultValue `'127.0.0.1'` */
  host?: string
  /** 0 picks a free port. @defaultValue 0 */
  port?: number
  /** Recorded pace divided by this (2 = twice as fast); `Infinity` = as fast as the client reads. @defaultValue 1 */
  speed?: number
  /**
   * HTTPS on the same port, with certificates from the agenttap CA in this directory (minted for
   * the name the client asks for: `api.anthropic.com` through `agenttap-proxy --connect-to`).
   * `false`: plain HTTP only. @defaultValue `false`
   */
  caDir?: string | false
  /**
   * HMAC key of the capture's redaction markers (the proxy's `<caDir>/keys/redaction.key`): the
   * incoming requests are redacted with it before they are fingerprinted, as the captured ones
   * were. @defaultValue none (markers of secrets in requests will not match the capture's)
   */
  redactionKey?: string
  /** Other options of session-extractor's redactor, as the capturing proxy had them. */
  redaction?: RedactorOptions
  /** HTTP status of the provider-shaped error answering a request the capture has no call for. @defaultValue 400 */
  divergenceStatus?: number
  /** Send requests the capture has no call for to this upstream instead (`https://api.anthropic.com`). */
  fallthrough?: string
  /** Extra PEM roots trusted for the fall-through upstream. */
  fallthroughCa?: string
  /** The divergence report (JSONL). @defaultValue beside the capture (see `defaultReportPath`) */
  report?: string
  /**
   * Called for each request served from the capture (`reused`: an auxiliary request asked again,
   * answered with a captured response served before).
   */
  onServe?(exchange: ReplayExchange, at: { method: string; path: string; transport: 'http' | 'ws'; reused: boolean }): void
  /** Called for each request the capture has no call for (after it is in the report). */
  onDivergence?(entry: DivergenceEntry): void
  /** Problems that do not stop the server (a client gone, the report unwritable, the fall-through failing). */
  onError?(error: ReplayError): void
}

/** A running replay server. */
export interface ReplayServer {
  /** Listens; resolves with the bound address. */
  start(): Promise<{ host: string; port: number; url: string }>
  /** Stops listening, closes open connections, writes the report's summary line and returns it. */
  close(): Promise<ReplaySummary>
  readonly port: number
  /** `http://host:port` (the same port speaks HTTPS when `caDir` is set). */
  readonly url: string
  /** The divergence report's path. */
  readonly reportPath: string
  /** Counts so far. */
  stats(): { served: number; divergences: number; fallthroughs: number; aux: number; unused: number }
}

const MAX_REQUEST_BYTES = 64 * 1024 * 1024
/** Bytes of events joined into one write at most (as fast: the socket's buffer is refilled in steps of this). */
const WRITE_BYTES = 64 * 1024
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'])

/** An event as it goes on the wire, serialised before the stream starts. */
interface WireEvent {
  t: number
  text: string
}

function sseText(e: ReplayEvent): string {
  let s = e.event !== undefined ? `event: ${e.event}\n` : ''
  // A multi-line data field goes out as one `data:` line per line, as the capture joined them.
  for (const line of e.data.split('\n')) s += `data: ${line}\n`
  return `${s}\n`
}

function decodeBody(buf: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(buf)
    case 'deflate':
      return zlib.inflateSync(buf)
    case 'br':
      return zlib.brotliDecompressSync(buf)
    case 'zstd': {
      const z = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync
      if (z === undefined) throw new Error('zstd request bodies need Node ≥ 22.15')
      return z(buf)
    }
    default:
      return buf
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let n = 0
    req.on('data', (c: Buffer) => {
      n += c.length
      if (n > MAX_REQUEST_BYTES) {
        reject(new Error(`request body over ${MAX_REQUEST_BYTES} bytes`))
        req.destroy()
        return
      }
      parts.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(parts)))
    req.on('error', reject)
  })
}

function headerMap(h: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v
  return out
}

/**
 * Creates a replay server over a loaded capture. Each request is fingerprinted (model, system
 * prompt, tools, message history, through session-extractor's request anatomy, after the same
 * redaction the capture went through) and answered with the first captured response of that
 * fingerprint not served yet: its status, its headers (hop-by-hop, length, encoding and redacted
 * ones left out) and its events at the recorded pace. A request the capture has no response for
 * gets a provider-shaped error naming the closest captured call and the first differing message
 * (or goes to `fallthrough`), and a line in the divergence report.
 *
 * @example
 * const capture = await loadReplayCapture('fixtures/capture')
 * const server = createReplayServer({ capture, speed: Infinity })
 * const { url } = await server.start() // ANTHROPIC_BASE_URL=url claude …
 * // …
 * const summary = await server.close() // { served, divergences, unused: [...] }
 */
export function createReplayServer(opts: ReplayServerOptions): ReplayServer {
  const { capture } = opts
  const speed = opts.speed ?? 1
  if (!(speed > 0)) throw new ReplayError('INVALID_OPTION', `createReplayServer: expected speed > 0 (Infinity for as fast as possible), received ${String(opts.speed)}`)
  const divergenceStatus = opts.divergenceStatus ?? 400
  if (!Number.isInteger(divergenceStatus) || divergenceStatus < 400 || divergenceStatus > 599) throw new ReplayError('INVALID_OPTION', `createReplayServer: expected divergenceStatus to be an HTTP error status 400-599, received ${String(opts.divergenceStatus)}`)
  let fallthrough: URL | undefined
  if (opts.fallthrough !== undefined) {
    try {
      fallthrough = new URL(opts.fallthrough)
    } catch {
      throw new ReplayError('INVALID_OPTION', `createReplayServer: fallthrough must be an http(s) URL such as https://api.anthropic.com, received ${opts.fallthrough}`)
    }
    if (fallthrough.protocol !== 'http:' && fallthrough.protocol !== 'https:') throw new ReplayError('INVALID_OPTION', `createReplayServer: fallthrough must be an http(s) URL, received ${opts.fallthrough}`)
  }
  const onError = (e: ReplayError): void => opts.onError?.(e)
  const redactor = createRedactor({ ...(opts.redaction ?? {}), ...(opts.redactionKey !== undefined ? { hashKey: opts.redactionKey } : {}) })
  const matcher = createMatcher(capture.exchanges)
  const report = createDivergenceReport(opts.report ?? defaultReportPath(capture), onError)
  const connsByPath = new Map<string, ReplayConnection[]>()
  for (const c of capture.connections) {
    const list = connsByPath.get(c.path) ?? []
    list.push(c)
    connsByPath.set(c.path, list)
  }
  let divergences = 0
  let fallthroughs = 0
  let aux = 0
  let errorSeq = 0
  const sockets = new Set<Socket>()
  const live = new AbortController()
  const ftSecure: SecureContext | undefined = opts.fallthroughCa ? createSecureContext({ ca: [...rootCertificates, opts.fallthroughCa] }) : undefined

  const parseRedacted = (buf: Buffer): unknown => {
    const text = buf.toString('utf8')
    if (!/^\s*[{[]/.test(text.slice(0, 64))) return text === '' ? undefined : redactor.text(text)
    try {
      return redactor.json(JSON.parse(text))
    } catch {
      return redactor.text(text)
    }
  }

  type Miss = Extract<MatchResult, { difference: unknown }>
  const diverged = async (print: RequestPrint, at: { method: string; path: string; transport: 'http' | 'ws' }, miss: Miss, action: 'error' | 'fallthrough', status: number): Promise<DivergenceEntry> => {
    divergences++
    const near = miss.closest?.exchange
    if (miss.difference.field === 'history' && near !== undefined) {
      // The captured prints keep no message text: read the closest call's request again to show
      // the changed words.
      try {
        miss = { ...miss, difference: firstDifference(await capture.readPrint(near), print) }
      } catch (err) {
        onError(new ReplayError('BODY_REF', `could not read the request of ${near.key} again: ${(err as Error).message}`, { flow_id: near.flow_id, cause: err }))
      }
    }
    const entry: DivergenceEntry = {
      type: 'divergence', ts: new Date().toISOString(), method: at.method, path: at.path, transport: at.transport, api: print.api,
      ...(print.model !== undefined ? { model: print.model } : {}), fingerprint: print.key, messages: print.history.length,
      difference: miss.difference, action, status,
    }
    if (miss.closest) {
      const e = miss.closest.exchange
      entry.closest = { key: e.key, flow_id: e.flow_id, index: e.index, session_id: e.session_id, common_messages: miss.closest.common, ...(e.prompt !== undefined ? { prompt: excerpt(e.prompt) as string } : {}), used: miss.closest.used }
    }
    report.add(entry)
    opts.onDivergence?.(entry)
    return entry
  }

  const divergenceMessage = (entry: DivergenceEntry): string => {
    const d = entry.difference
    const where =
      d.field === 'history' ? `message ${d.index ?? 0} differs${d.at !== undefined ? ` at character ${d.at}` : ''}: captured ${d.expected ?? '?'}, received ${d.received ?? '?'}`
        : d.field === 'used' ? 'every captured call equal to this request was already served'
          : `${d.field} differs: captured ${d.expected ?? '(none)'}, received ${d.received ?? '(none)'}`
    const closest = entry.closest ? `closest captured call ${entry.closest.key} (session ${entry.closest.session_id}, ${entry.closest.common_messages} message(s) in common)` : 'no captured call of this API'
    return `agenttap replay: no captured call matches this request; ${closest}; ${where}. Report: ${report.path}`
  }

  // --- HTTP ---------------------------------------------------------------------------------

  const serveHttp = async (ex: ReplayExchange, res: ServerResponse, start: number): Promise<void> => {
    const ac = new AbortController()
    const abort = (): void => ac.abort()
    res.once('close', abort)
    live.signal.addEventListener('abort', abort, { once: true })
    try {
      const headers: Record<string, string | string[]> = { ...ex.headers }
      const fast = !Number.isFinite(speed)
      if (ex.transport === 'http') {
        const body = (await capture.readBody(ex)) ?? Buffer.alloc(0)
        if (!fast && ex.ttfb !== undefined) await waitUntil(start + ex.ttfb / speed, ac.signal)
        if (ac.signal.aborted) return
        if (!ex.cut) headers['content-length'] = String(body.length)
        res.writeHead(ex.status, headers)
        if (ex.cut) {
          res.write(body)
          res.destroy()
        } else res.end(body)
        return
      }
      // A WebSocket response asked for over HTTP goes out as the SSE stream of the same events.
      if (ex.transport === 'ws' && headers['content-type'] === undefined) headers['content-type'] = 'text/event-stream'
      // Read from disk and serialised before the first deadline: nothing but writes while it streams.
      const wire: WireEvent[] = (await capture.readEvents(ex)).map((e) => ({ t: e.t, text: sseText(e) }))
      if (ac.signal.aborted) return
      const first = wire[0]?.t ?? 0
      if (!fast) await waitUntil(start + Math.min(ex.ttfb ?? first, first) / speed, ac.signal)
      if (ac.signal.aborted) return
      res.writeHead(ex.status, headers)
      res.flushHeaders()
      // The events due at once go out as one write (one chunk, one TCP segment where it fits).
      let joined: string[] = []
      let bytes = 0
      let full = false
      await pace(wire, (e) => e.t, start, speed, {
        write: (e) => {
          joined.push(e.text)
          bytes += e.text.length
          return bytes < WRITE_BYTES
        },
        batch: (fn) => {
          fn()
          if (joined.length === 0) return
          full = !res.write(joined.length === 1 ? (joined[0] as string) : joined.join(''))
          joined = []
          bytes = 0
        },
        drained: () => new Promise<void>((resolve) => {
          if (!full || ac.signal.aborted) return resolve()
          const done = (): void => {
            res.off('drain', done)
            ac.signal.removeEventListener('abort', done)
            resolve()
          }
          res.once('drain', done)
          ac.signal.addEventListener('abort', done, { once: true })
        }),
      }, ac.signal)
      if (ac.signal.aborted) return
      // A response the capture saw cut (upstream gone, proxy killed) is cut again: no terminating chunk.
      if (ex.cut) setImmediate(() => res.destroy())
      else res.end()
    } finally {
      res.off('close', abort)
      live.signal.removeEventListener('abort', abort)
    }
  }

  const forwardHttp = (req: IncomingMessage, res: ServerResponse, body: Buffer, target: URL): void => {
    const headers: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(headerMap(req.headers))) if (!HOP.has(k.toLowerCase())) headers[k] = v
    headers['host'] = target.host
    headers['content-length'] = String(body.length)
    const url = new URL(req.url ?? '/', target)
    if (target.pathname !== '/' && target.pathname !== '') url.pathname = target.pathname.replace(/\/$/, '') + (req.url ?? '/').split('?')[0]
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const up = send(url, { method: req.method, headers, ...(ftSecure ? { secureContext: ftSecure } : {}) }, (upRes) => {
      const out: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(headerMap(upRes.headers))) if (!HOP.has(k.toLowerCase()) || k.toLowerCase() === 'content-length') out[k] = v
      res.writeHead(upRes.statusCode ?? 502, out)
      upRes.pipe(res)
    })
    up.on('error', (err) => {
      onError(new ReplayError('FALLTHROUGH_FAILED', `fall-through to ${target.origin} failed: ${err.message}`, { cause: err }))
      if (!res.headersSent) {
        const provider = providerOf('aux', req.url ?? '/', req.headers)
        res.writeHead(502, { 'content-type': 'application/json' })
        res.end(errorBody(provider, 502, `agenttap replay: the fall-through upstream ${target.origin} could not be reached: ${err.message}`, `req_replay_${++errorSeq}`))
      } else res.destroy()
    })
    up.end(body)
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now()
    const method = req.method ?? 'GET'
    const path = req.url ?? '/'
    readBody(req).then(
      (raw) => {
        let parsed: unknown
        try {
          parsed = raw.length === 0 ? undefined : parseRedacted(decodeBody(raw, req.headers['content-encoding'] as string | undefined))
        } catch (err) {
          parsed = undefined
          onError(new ReplayError('INVALID_OPTION', `could not decode a ${String(req.headers['content-encoding'])} request body: ${(err as Error).message}`, { cause: err }))
        }
        const print = requestPrint({ body: parsed, method, url: path, headers: headerMap(req.headers) })
        const got = matcher.take(print)
        if ('exchange' in got) {
          if (got.reused) aux++
          opts.onServe?.(got.exchange, { method, path, transport: 'http', reused: got.reused })
          return serveHttp(got.exchange, res, start)
        }
        if ('aux' in got) {
          // A non-model endpoint the capture never saw (a policy, settings or plugin list the
          // first run did not ask for): an empty success, which the clients read as "nothing set".
          aux++
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2', 'x-agenttap-replay': 'aux' })
          res.end('{}')
          return undefined
        }
        if (fallthrough !== undefined) {
          fallthroughs++
          void diverged(print, { method, path, transport: 'http' }, got, 'fallthrough', 0)
          forwardHttp(req, res, raw, fallthrough)
          return undefined
        }
        return diverged(print, { method, path, transport: 'http' }, got, 'error', divergenceStatus).then((entry) => {
          const provider = providerOf(print.api, path, req.headers)
          const body = errorBody(provider, divergenceStatus, divergenceMessage(entry), `req_replay_${++errorSeq}`)
          res.writeHead(divergenceStatus, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-agenttap-replay': 'divergence' })
          res.end(body)
        })
      },
      (err: Error) => {
        onError(new ReplayError('INVALID_OPTION', `could not read a request body: ${err.message}`, { cause: err }))
        if (!res.headersSent) res.writeHead(413).end()
      },
    ).catch((err: unknown) => {
      onError(new ReplayError('INVALID_OPTION', `serving ${method} ${path} failed: ${(err as Error).message}`, { cause: err }))
      res.destroy()
    })
  }

  // --- WebSocket ----------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  const upgradeHeaders = new WeakMap<IncomingMessage, Record<string, string | string[]>>()
  wss.on('headers', (lines, req) => {
    const h = upgradeHeaders.get(req)
    if (h === undefined) return
    for (const [k, v] of Object.entries(h)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`)
  })
  const usedConns = new Set<ReplayConnection>()

  const onConnection = (ws: WebSocket, req: IncomingMessage): void => {
    const path = req.url ?? '/'
    let chain: Promise<void> = Promise.resolve()
    let upstream: WebSocket | undefined
    const ac = new AbortController()
    ws.on('close', () => {
      ac.abort()
      upstream?.close()
    })
    ws.on('error', () => ac.abort())
    live.signal.addEventListener('abort', () => ac.abort(), { once: true })
    const toUpstream = (text: string): void => {
      if (upstream === undefined || fallthrough === undefined) return
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text)
      else upstream.once('open', () => upstream?.send(text))
    }
    ws.on('message', (data, isBinary) => {
      if (isBinary) return
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')
      const start = performance.now()
      if (upstream !== undefined) return toUpstream(text)
      let parsed: unknown
      try {
        parsed = parseRedacted(Buffer.from(text))
      } catch {
        parsed = text
      }
      const isCreate = typeof parsed === 'object' && parsed !== null && (parsed as Record<string, unknown>)['type'] === 'response.create'
      if (!isCreate) return
      const print = requestPrint({ body: parsed, method: 'GET', url: path, headers: headerMap(req.headers) })
      const got = matcher.take(print)
      if ('exchange' in got) {
        const ex = got.exchange
        if (got.reused) aux++
        opts.onServe?.(ex, { method: 'GET', path, transport: 'ws', reused: got.reused })
        chain = chain.then(() => serveWs(ws, ex, start, ac.signal))
        return
      }
      if ('aux' in got) return
      if (fallthrough !== undefined) {
        fallthroughs++
        void diverged(print, { method: 'GET', path, transport: 'ws' }, got, 'fallthrough', 0)
        const target = new URL(path, fallthrough)
        target.protocol = fallthrough.protocol === 'https:' ? 'wss:' : 'ws:'
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && !k.startsWith('sec-websocket') && typeof v === 'string') headers[k] = v
        upstream = new WebSocket(target, { headers, perMessageDeflate: false, ...(opts.fallthroughCa ? { ca: [...rootCertificates, opts.fallthroughCa] } : {}) })
        upstream.on('message', (d, bin) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(d, { binary: bin })
        })
        upstream.on('close', () => ws.close())
        upstream.on('error', (err) => {
          onError(new ReplayError('FALLTHROUGH_FAILED', `WebSocket fall-through to ${target.origin} failed: ${err.message}`, { cause: err }))
          if (ws.readyState === WebSocket.OPEN) ws.send(errorFrame(502, `agenttap replay: the fall-through upstream ${target.origin} could not be reached: ${err.message}`))
          ws.close()
        })
        toUpstream(text)
        return
      }
      const entry = diverged(print, { method: 'GET', path, transport: 'ws' }, got, 'error', divergenceStatus)
      chain = chain.then(async () => {
        const e = await entry
        if (ws.readyState === WebSocket.OPEN) ws.send(errorFrame(divergenceStatus, divergenceMessage(e)))
      })
    })
  }

  const serveWs = async (ws: WebSocket, ex: ReplayExchange, start: number, signal: AbortSignal): Promise<void> => {
    const events = await capture.readEvents(ex)
    await pace(events, (e) => e.t, start, speed, {
      write: (e) => {
        if (ws.readyState !== WebSocket.OPEN) return true
        ws.send(e.data)
        return ws.bufferedAmount < 1024 * 1024
      },
      drained: () => new Promise<void>((resolve) => {
        const check = (): void => {
          if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount < 256 * 1024 || signal.aborted) resolve()
          else setTimeout(check, 1)
        }
        check()
      }),
    }, signal)
    if (ex.cut && !signal.aborted) ws.terminate()
  }

  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const path = req.url ?? '/'
    const candidates = connsByPath.get(path) ?? connsByPath.get(path.split('?')[0] as string) ?? capture.connections
    const conn = candidates.find((c) => !usedConns.has(c)) ?? candidates[0]
    if (conn !== undefined) {
      usedConns.add(conn)
      upgradeHeaders.set(req, conn.headers)
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req))
  }

  // --- listening: one port, TLS or not by the first byte ----------------------------------------

  const http = createHttpServer({ keepAliveTimeout: 5000 }, onRequest)
  http.on('upgrade', onUpgrade)
  http.on('clientError', (_err, socket) => socket.destroy())
  let minter: ReturnType<typeof createLeafMinter> | undefined
  let defaultContext: SecureContext | undefined
  const net: NetServer = createNetServer((sock) => {
    sockets.add(sock)
    // Events are small writes spaced in time: Nagle's algorithm would hold each one back until
    // the previous one is acknowledged (up to the peer's delayed-ACK timer, ~40 ms).
    sock.setNoDelay(true)
    sock.once('close', () => sockets.delete(sock))
    sock.on('error', () => sock.destroy())
    sock.once('data', (chunk: Buffer) => {
      sock.pause()
      sock.unshift(chunk)
      if (chunk[0] === 0x16 && minter !== undefined) {
        const m = minter
        const tlsSock = new TLSSocket(sock, {
          isServer: true,
          ...(defaultContext ? { secureContext: defaultContext } : {}),
          ALPNProtocols: ['http/1.1'],
          SNICallback: (name, cb) => {
            try {
              cb(null, m.contextFor(name))
            } catch (err) {
              cb(err as Error)
            }
          },
        })
        tlsSock.on('error', () => tlsSock.destroy())
        http.emit('connection', tlsSock)
      } else {
        http.emit('connection', sock)
        sock.resume()
      }
    })
  })

  let bound = { host: opts.host ?? '127.0.0.1', port: 0 }
  let closed: Promise<ReplaySummary> | undefined
  return {
    async start() {
      if (opts.caDir !== false && opts.caDir !== undefined) {
        minter = createLeafMinter(ensureCa(opts.caDir))
        defaultContext = minter.contextFor(bound.host === '::1' ? '::1' : '127.0.0.1')
      }
      await new Promise<void>((resolve, reject) => {
        net.once('error', (err) => reject(new ReplayError('LISTEN_FAILED', `could not listen on ${bound.host}:${opts.port ?? 0}: ${err.message}`, { cause: err })))
        net.listen(opts.port ?? 0, bound.host, () => resolve())
      })
      const addr = net.address()
      if (addr !== null && typeof addr === 'object') bound = { host: bound.host, port: addr.port }
      return { ...bound, url: this.url }
    },
    close() {
      if (closed !== undefined) return closed
      closed = (async () => {
        live.abort()
        for (const c of wss.clients) c.terminate()
        const done = new Promise<void>((resolve) => net.close(() => resolve()))
        for (const s of sockets) s.destroy()
        http.closeAllConnections()
        await done
        const summary: ReplaySummary = {
          type: 'summary', ts: new Date().toISOString(), capture: capture.file ?? capture.dir, served: matcher.served, divergences, fallthroughs, aux,
          unused: matcher.unused().map((e) => e.key),
        }
        report.add(summary)
        return summary
      })()
      return closed
    },
    get port() {
      return bound.port
    },
    get url() {
      const h = bound.host.includes(':') ? `[${bound.host}]` : bound.host
      return `http://${h}:${bound.port}`
    },
    get reportPath() {
      return report.path
    },
    stats: () => ({ served: matcher.served, divergences, fallthroughs, aux, unused: capture.exchanges.length - matcher.served }),
  }
}
