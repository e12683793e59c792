import { randomUUID } from 'node:crypto'
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { isIP, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect, createSecureContext, rootCertificates, TLSSocket, type SecureContext } from 'node:tls'
import { Proxy as MitmProxy } from 'http-mitm-proxy'
import { pino, type Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import type { CaptureRecord, FlowEndRecord } from '@agenttap/jsonl-io'
import { createHttp1Parser } from './http1.js'
import { inlineChannel, threadChannel, type CaptureChannel } from './capture-channel.js'
import type { CaptureEngineOptions, FlowInit } from './capture-engine.js'
import { createLeafMinter, defaultCaDir, ensureCa, type CaFiles, type LeafMinter } from './ca.js'
import { ensureRedactionKey } from './redaction-key.js'
import { ProxyCaptureError } from './errors.js'
import { createFileSink, defaultLogDir } from './file-sink.js'
import { createHostFilter, hostOnly } from './host-filter.js'
import { createRecordHub } from './record-hub.js'
import type { CaptureProxy, CaptureProxyOptions, CaptureStats } from './types.js'

/** The default listen port. */
export const DEFAULT_PORT = 9110

/** Bytes a WebSocket may have queued towards a slow reader before its source is paused. */
const WS_HIGH_WATER = 1024 * 1024

/** Path of the proxy's own status endpoint (`GET http://127.0.0.1:9110/__agenttap/health`). */
export const HEALTH_PATH = '/__agenttap/health'

// The slice of http-mitm-proxy's WebSocket context this module touches.
interface MitmWsCtx {
  clientToProxyWebSocket?: WebSocket & { upgradeReq?: IncomingMessage }
  proxyToServerWebSocket?: WebSocket
  proxyToServerWebSocketOptions?: { url?: string; headers?: Record<string, string | string[] | undefined> }
  closedByServer?: boolean
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'])

function isLoopback(host: string): boolean {
  const h = hostOnly(host)
  return h === 'localhost' || h === '::1' || h.startsWith('127.') || h === '::ffff:127.0.0.1'
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}

/**
 * http-mitm-proxy with its per-request machinery taken out of the hot path: CONNECT and HTTP
 * requests come to agenttap's own handlers (one direct pipe per request instead of a context
 * object, handler chains and filter streams); WebSocket upgrades stay with http-mitm-proxy.
 */
class AgenttapMitm extends MitmProxy {
  hooks!: {
    connectData(req: IncomingMessage, socket: Duplex, head: Buffer): void
    request(req: IncomingMessage, res: ServerResponse): void
    error(kind: string, err: Error): void
    socketError(desc: string, err: NodeJS.ErrnoException): void
  }
  override _onHttpServerConnectData(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.hooks.connectData(req, socket, head)
  }
  override _onHttpServerRequest(_isSSL: boolean, req: IncomingMessage, res: ServerResponse): void {
    this.hooks.request(req, res)
  }
  override _onError(kind: string, _ctx: unknown, err: Error): void {
    this.hooks.error(kind, err)
  }
  override _onSocketError(desc: string, err: NodeJS.ErrnoException): void {
    this.hooks.socketError(desc, err)
  }
}

/** Where a CONNECT tunnel leads (the address the client asked for, not its Host header). */
interface TunnelTarget {
  host: string
  port: number
  tls: boolean
}

/** `host:port` / `[v6]:port` of a CONNECT line or Host header. */
function parseHostPort(hostPort: string, defaultPort: number): { host: string; port: number } {
  const host = hostOnly(hostPort)
  const rest = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : host === hostPort ? '' : hostPort.slice(host.length)
  const port = rest.startsWith(':') ? Number(rest.slice(1)) : NaN
  return { host, port: Number.isInteger(port) && port > 0 && port < 65536 ? port : defaultPort }
}

/** The data path's handle on a flow; the capture engine keeps the rest. */
interface Flow {
  id: string
  seq: number
  host: string
  method: string
  state: 'open' | 'ended'
  /** False when the host filter can't capture this flow whatever it answers: the capture never hears of it. */
  capturable: boolean
  /** Response status, once a head came. */
  status?: number
  reqBytes: number
  reqTruncated: boolean
  /** How much of the request body the capture gets. */
  reqCap: number
  kill?: () => void
}

/**
 * Creates the capture proxy: an HTTP(S) forward proxy on http-mitm-proxy that passes traffic
 * through untouched (status, headers and body bytes as the upstream sent them, streamed with
 * backpressure) and writes the canonical capture, redacted through session-extractor:
 * `flow` when the response starts, one `sse` per SSE event or WebSocket text frame, and
 * exactly one `flow_end` per flow whatever happens (completed, error, aborted by the client,
 * upstream error, proxy shutdown).
 *
 * TLS: CONNECT tunnels are terminated in-process with leaf certificates minted from
 * agenttap's CA (one shared leaf key, contexts cached per host), instead of
 * http-mitm-proxy's per-host HTTPS server reached over an extra loopback TCP hop.
 *
 * @example
 * const proxy = createCaptureProxy({ port: 9110 })
 * await proxy.start()
 * proxy.onRecord((r) => console.log(r.type, r.flow_id))   // the live monitor attaches here
 * // HTTPS_PROXY=http://127.0.0.1:9110 NODE_EXTRA_CA_CERTS=<proxy.caCertPath> claude
 * await proxy.stop()
 */
export function createCaptureProxy(opts: CaptureProxyOptions = {}): CaptureProxy {
  const host = opts.host ?? '127.0.0.1'
  if (!isLoopback(host) && !opts.allowNonLoopback) {
    throw new ProxyCaptureError(
      'NON_LOOPBACK_BIND',
      `refusing to listen on ${host}: it is not a loopback address and anyone who can reach it could read your agents' traffic. Pass allowNonLoopback (CLI: --allow-remote) to do it anyway.`,
    )
  }
  const log: Logger = opts.logger ?? pino({ level: 'silent' })
  const logDir = opts.logDir ?? defaultLogDir()
  const captureDir = join(logDir, 'all-mitm-sse')
  const filter = createHostFilter({ ...(opts.includeHosts ? { include: opts.includeHosts } : {}), ...(opts.excludeHosts ? { exclude: opts.excludeHosts } : {}) })
  const maxInline = opts.maxInlineBodyBytes ?? 1024 * 1024
  const maxReq = opts.maxRequestBodyBytes ?? 64 * 1024 * 1024
  const rawMode = opts.rawBodies ?? 'redacted'
  const hub = createRecordHub({
    ...(opts.maxBufferedRecords !== undefined ? { maxBuffered: opts.maxBufferedRecords } : {}),
    onError: (err) => log.error({ err }, 'record subscriber threw; the capture continues'),
  })

  let capture: CaptureChannel | undefined
  /** Someone listens for records: the capture thread must send them back. */
  let subscribed = false
  let ca: CaFiles | undefined
  let minter: LeafMinter | undefined
  let mitm: AgenttapMitm | undefined
  let inner: ReturnType<typeof createHttpServer> | undefined
  let httpsAgent: HttpsAgent | undefined
  let httpAgent: HttpAgent | undefined
  let innerWss: WebSocketServer | undefined
  let boundPort = opts.port ?? DEFAULT_PORT
  let running = false
  let flowSeq = 0
  const stats = { flows: 0, bytes: 0 }
  const openFlows = new Set<Flow>()
  const sockets = new Set<Duplex>()
  const tunnels = new WeakMap<object, TunnelTarget>()
  /** TLS sessions of upstream hosts, for resumed handshakes on new relay connections. */
  const tlsSessions = new Map<string, Buffer>()
  const upstreamTls: { secureContext?: SecureContext; rejectUnauthorized: boolean } = { rejectUnauthorized: opts.rejectUnauthorized ?? true }
  const wsFlows = new WeakMap<object, Flow>()
  const warnedUntrusted = new Set<string>()
  // TLS sockets that carried at least one request: a handshake followed by silence is the
  // signature of a client that rejected the certificate.
  const usedSockets = new WeakSet<object>()

  function now(): number {
    return performance.timeOrigin + performance.now()
  }

  /** A flow starts (request head seen): the data path's handle, and the capture told. */
  function newFlow(method: string, url: string, hostName: string, headers: Record<string, string | string[] | undefined>, transport: 'sse' | 'ws' | 'http', clientIp?: string, captured?: boolean): Flow {
    stats.flows++
    // A host the filter excludes even for an event stream is never captured: no capture work at all.
    const capturable = captured ?? filter.captures(hostName, 'text/event-stream')
    const flow: Flow = { id: randomUUID(), seq: flowSeq++, host: hostName, method, state: 'open', capturable, reqBytes: 0, reqTruncated: false, reqCap: requestCap(hostName) }
    openFlows.add(flow)
    if (!capturable) return flow
    const init: FlowInit = { seq: flow.seq, t: now(), method, url, host: hostName, transport, headers }
    if (clientIp !== undefined) init.clientIp = clientIp
    if (captured !== undefined) init.captured = captured
    capture?.post(['open', flow.id, init])
    return flow
  }

  /**
   * How much of a request body to keep for the capture. Hosts that are only captured if they
   * answer text/event-stream get a smaller buffer: a large upload to some unrelated host
   * shouldn't sit in memory for nothing.
   */
  function requestCap(hostName: string): number {
    return filter.captures(hostName) ? maxReq : Math.min(maxReq, 4 * 1024 * 1024)
  }

  function requestBody(flow: Flow, chunk: Buffer): void {
    if (flow.reqTruncated || flow.state !== 'open' || !flow.capturable) return
    if (flow.reqBytes + chunk.length > flow.reqCap) {
      flow.reqTruncated = true
      return
    }
    flow.reqBytes += chunk.length
    capture?.post(['req', flow.id, chunk])
  }

  /** A response head: the capture decides, with the host filter's verdict, what to keep of it. */
  function beginResponse(flow: Flow, status: number, headers: Record<string, string | string[] | undefined>): void {
    flow.status = status
    if (flow.state === 'open' && flow.capturable) capture?.post(['head', flow.id, now(), status, headers, filter.captures(flow.host, headerValue(headers['content-type']))])
  }

  /** Response body bytes (transfer coding removed) the client already has: to the capture. */
  function responseBody(flow: Flow, chunk: Buffer): void {
    stats.bytes += chunk.length
    if (flow.state === 'open' && flow.capturable) capture?.post(['body', flow.id, now(), chunk])
  }

  /** The capture thread is behind: stop reading `source` until it caught up (memory stays bounded, nothing is dropped). */
  function throttle(source: { pause(): void; resume(): void }): void {
    if (!capture?.congested) return
    source.pause()
    capture.whenDrained(() => source.resume())
  }

  /**
   * `src` → `dst`, client first: each chunk is written on, then handed to `tee` (the capture).
   * A slow reader pauses `src` until `dst` drains, a capture thread that fell behind until it
   * caught up: memory stays bounded either way.
   */
  function pipeTee(src: IncomingMessage, dst: ServerResponse | ClientRequest, tee: (chunk: Buffer) => void): void {
    src.on('data', (chunk: Buffer) => {
      if (!dst.write(chunk)) {
        src.pause()
        dst.once('drain', () => src.resume())
      }
      tee(chunk)
      throttle(src)
    })
  }

  /** Ends a flow exactly once (its flow_end follows from the capture). */
  function endFlow(flow: Flow, outcome: FlowEndRecord['outcome'], error?: string): void {
    if (flow.state !== 'open') return
    flow.state = 'ended'
    openFlows.delete(flow)
    if (!flow.capturable) return
    // A flow that ends before any response head is captured by its host alone.
    capture?.post(['end', flow.id, now(), outcome, error, filter.captures(flow.host), flow.reqTruncated])
  }

  /** Plain-HTTP path: pipes Node's upstream response to the client with backpressure, teed to the capture. */
  function onResponse(flow: Flow, up: IncomingMessage, res: ServerResponse, upReq: ClientRequest): void {
    beginResponse(flow, up.statusCode ?? 0, up.headers)
    const isSse = /^\s*text\/event-stream/i.test(headerValue(up.headers['content-type']) ?? '')
    // A reset must stay visible to the client as a reset, never as a clean end.
    up.on('error', (err) => {
      endFlow(flow, 'upstream_error', `upstream response failed: ${err.message}`)
      res.destroy()
    })
    up.on('close', () => {
      if (!up.complete && flow.state === 'open') {
        endFlow(flow, 'upstream_error', 'upstream closed the connection before the response was complete')
        res.destroy()
      }
    })
    res.on('close', () => {
      if (!res.writableFinished && flow.state === 'open') {
        endFlow(flow, 'aborted', 'client closed the connection before the response was complete')
        up.destroy()
        upReq.destroy()
      }
    })
    flow.kill = () => {
      res.destroy()
      up.destroy()
    }

    const headers: OutgoingHttpHeaders = {}
    const rh = up.rawHeaders
    for (let i = 0; i + 1 < rh.length; i += 2) {
      const k = rh[i] as string
      if (HOP_BY_HOP.has(k.toLowerCase())) continue
      const v = rh[i + 1] as string
      const prev = headers[k]
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v]
    }
    // Head, the body bytes parsed with it and (for a short response) the last chunk leave in
    // one write, one TLS record, instead of one each: uncorked before the event loop moves on,
    // so nothing waits.
    res.cork()
    queueMicrotask(() => res.uncork())
    res.writeHead(up.statusCode ?? 0, up.statusMessage, headers)
    // An SSE client must see the response start before the first event (an LLM may think for
    // seconds first); other responses send their head with the first body bytes.
    if (isSse) res.flushHeaders()
    pipeTee(up, res, (chunk) => responseBody(flow, chunk))
    up.on('end', () => {
      res.end()
      endFlow(flow, 'completed')
    })
    up.resume()
  }

  function respondError(res: ServerResponse, status: number, type: string, message: string): void {
    if (res.headersSent) {
      res.destroy()
      return
    }
    const body = JSON.stringify({ type: 'error', error: { type, message } })
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-agenttap-error': type })
    res.end(body)
  }

  function isSelf(h: string | undefined, p: number | undefined): boolean {
    if (!h) return false
    const target = hostOnly(h)
    return p === boundPort && (isLoopback(target) || target === host)
  }

  /**
   * An intercepted TLS connection, relayed byte for byte: the client's bytes go to one upstream
   * TLS connection (the CONNECT target) and the upstream's come back unchanged, with
   * backpressure both ways. Copies of both directions feed HTTP/1.1 framing parsers that drive
   * the capture, which therefore never sits between the two sockets. A WebSocket upgrade as
   * the connection's first request goes to the WebSocket path instead (frames captured there).
   */
  function relayTls(client: TLSSocket, target: TunnelTarget): void {
    /** Requests whose response has not ended yet, oldest first. */
    const flows: Flow[] = []
    const first: Buffer[] = []
    let up: TLSSocket | undefined
    let decided = false
    let handoff = false
    let interim = false
    let capturing = true
    const hostForUrl = isIP(target.host) === 6 ? `[${target.host}]` : target.host
    const origin = `https://${hostForUrl}${target.port !== 443 ? `:${target.port}` : ''}`
    const kill = (): void => {
      client.destroy()
      up?.destroy()
    }

    const reqParser = createHttp1Parser(
      'request',
      {
        onHead(head, framing) {
          if (framing === 'upgrade' && !decided && flows.length === 0) {
            handoff = true
            return
          }
          const flow = newFlow(head.method, `${origin}${head.url}`, target.host, head.headers, 'http', client.remoteAddress)
          flow.kill = kill
          flows.push(flow)
        },
        onBody(chunk) {
          const flow = flows[flows.length - 1]
          if (flow) requestBody(flow, chunk)
        },
        onEnd() {},
      },
      {
        onError(err) {
          // Not HTTP/1.x (or broken): keep relaying, stop capturing this connection.
          capturing = false
          log.debug({ err: err.message, host: target.host }, 'request stream not parseable; relaying without capture')
        },
      },
    )

    const resParser = createHttp1Parser(
      'response',
      {
        onHead(head, framing) {
          const flow = flows[0]
          if (!flow || !capturing) return
          if (framing === 'none' && head.status < 200) {
            interim = true
            return
          }
          beginResponse(flow, head.status, head.headers)
          if (framing === 'upgrade' && flow.capturable) capture?.post(['note', flow.id, `protocol switched (${String(head.headers['upgrade'] ?? 'unknown')}) after other requests on this connection; the rest is relayed without capture`])
          return flow.method === 'HEAD'
        },
        onBody(chunk) {
          const flow = flows[0]
          if (flow && capturing) responseBody(flow, chunk)
        },
        onEnd() {
          if (interim) {
            interim = false
            return
          }
          const flow = flows.shift()
          if (flow) endFlow(flow, 'completed')
        },
      },
      {
        onError(err) {
          capturing = false
          const message = err.code === 'TRUNCATED' ? 'upstream closed the connection before the response was complete' : `could not parse the upstream response: ${err.message}`
          for (const flow of flows.splice(0)) endFlow(flow, err.code === 'TRUNCATED' ? 'upstream_error' : 'error', message)
        },
      },
    )

    const resumeClient = (): void => {
      client.resume()
    }
    const resumeUp = (): void => {
      up?.resume()
    }

    function onUpstreamData(b: Buffer): void {
      if (client.destroyed) return
      if (!client.write(b)) {
        up?.pause()
        client.once('drain', resumeUp)
      }
      resParser.feed(b)
      if (up) throttle(up)
    }

    /** The upstream failed or went away: a response in flight is cut, a request still waiting gets a 502. */
    function upstreamGone(reason: string, err?: NodeJS.ErrnoException): void {
      const pending = flows.splice(0)
      if (pending.length === 0) {
        client.end()
        return
      }
      const [head, ...rest] = pending as [Flow, ...Flow[]]
      if (head.status === undefined && resParser.idle && !client.destroyed) {
        if (err) log.warn({ err: err.message, code: err.code, flow_id: head.id, host: target.host }, 'upstream error')
        endFlow(head, 'upstream_error', reason)
        const body = JSON.stringify({ type: 'error', error: { type: 'agenttap_upstream_error', message: `agenttap proxy could not reach the upstream: ${err?.message ?? reason}` } })
        client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-agenttap-error: agenttap_upstream_error\r\nconnection: close\r\n\r\n${body}`)
      } else {
        endFlow(head, 'upstream_error', reason)
        client.destroy()
      }
      for (const f of rest) {
        endFlow(f, 'upstream_error', `${reason} (request was still queued on the connection)`)
      }
    }

    function connectUpstream(): TLSSocket {
      const key = `${target.host}:${target.port}`
      const session = tlsSessions.get(key)
      const s = tlsConnect({
        host: target.host,
        port: target.port,
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
        ...(upstreamTls.secureContext ? { secureContext: upstreamTls.secureContext } : {}),
        rejectUnauthorized: upstreamTls.rejectUnauthorized,
        ALPNProtocols: ['http/1.1'],
        ...(session ? { session } : {}),
      })
      s.setNoDelay(true)
      sockets.add(s)
      s.on('session', (sess: Buffer) => {
        // A few hosts at most (the LLM APIs): resumed handshakes for every later connection.
        if (tlsSessions.size > 256) tlsSessions.clear()
        tlsSessions.set(key, sess)
      })
      s.on('data', onUpstreamData)
      s.on('end', () => {
        resParser.finish()
        if (flows.length === 0) client.end()
      })
      s.on('error', (err: NodeJS.ErrnoException) => {
        upstreamGone(`upstream connection failed: ${err.code ? `${err.code} ` : ''}${err.message}`, err)
      })
      s.on('close', () => {
        sockets.delete(s)
        if (flows.length > 0) upstreamGone('upstream closed the connection before the response was complete')
        else if (!client.destroyed) client.end()
      })
      return s
    }

    function onClientData(b: Buffer): void {
      if (!decided) {
        usedSockets.add(client)
        first.push(b)
        reqParser.feed(b)
        if (handoff) {
          // A WebSocket as first request: the WebSocket path (http-mitm-proxy + ws) captures frames.
          client.off('data', onClientData)
          client.pause()
          client.unshift(first.length === 1 ? (first[0] as Buffer) : Buffer.concat(first))
          inner?.emit('connection', client)
          // The server's 'data' listener doesn't restart a stream paused by hand.
          client.resume()
          return
        }
        if (flows.length === 0 && reqParser.error === undefined) return
        decided = true
        up = connectUpstream()
        for (const c of first) up.write(c)
        first.length = 0
        return
      }
      if (!up) return
      if (!up.write(b)) {
        client.pause()
        up.once('drain', resumeClient)
      }
      if (capturing) reqParser.feed(b)
      throttle(client)
    }

    client.on('data', onClientData)
    // A client that ends its side is gone: HTTP clients don't half-close and wait for answers.
    client.on('end', () => clientGone())
    client.on('close', () => clientGone())
    function clientGone(): void {
      const pending = flows.splice(0)
      for (const f of pending) {
        endFlow(f, 'aborted', f.status === undefined ? 'client closed the connection before the upstream answered' : 'client closed the connection before the response was complete')
      }
      if (up && !up.destroyed) {
        if (pending.length > 0) up.destroy()
        else up.end()
      }
      if (!client.destroyed) client.destroy()
    }
  }

  /** Answers a request aimed at the proxy itself: its health endpoint, else a 400 that says what this is. */
  function answerSelf(req: IncomingMessage, res: ServerResponse): void {
    req.resume()
    if ((req.url ?? '').split('?')[0] === HEALTH_PATH) {
      const body = JSON.stringify({ agenttap: 'proxy', pid: process.pid, host, port: boundPort, captureDir, caCertPath: ca?.certPath, stats: statsNow() })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    } else {
      respondError(res, 400, 'agenttap_not_a_proxy_request', `this is the agenttap capture proxy; use it as HTTPS_PROXY (status: ${HEALTH_PATH})`)
    }
  }

  /**
   * One proxied request: a direct pipe client → upstream (through the keep-alive agents), the
   * request body teed to the capture up to its cap, then {@link onResponse}. The upstream is
   * the CONNECT target for tunnelled requests, the absolute URL for plain proxy requests.
   */
  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    usedSockets.add(req.socket)
    const tunnel = tunnels.get(req.socket)
    let tls: boolean
    let target: { host: string; port: number }
    let path = req.url ?? '/'
    if (tunnel) {
      tls = tunnel.tls
      target = tunnel
    } else {
      tls = false
      const m = /^http:\/\/([^/?#]*)(.*)$/i.exec(path)
      if (m) {
        // `http://user:pass@host/`: the userinfo is no part of where to connect (and is never
        // sent upstream); taken as the host name it failed the lookup and reached the logs.
        target = parseHostPort((m[1] as string).replace(/^[^@]*@/, ''), 80)
        path = m[2] || '/'
      } else {
        const h = req.headers.host
        if (!h) {
          answerSelf(req, res)
          return
        }
        target = parseHostPort(h, 80)
      }
      if (isSelf(target.host, target.port) || target.host === '') {
        answerSelf(req, res)
        return
      }
    }
    const defaultPort = tls ? 443 : 80
    const hostForUrl = isIP(target.host) === 6 ? `[${target.host}]` : target.host
    const url = `${tls ? 'https' : 'http'}://${hostForUrl}${target.port !== defaultPort ? `:${target.port}` : ''}${path}`
    const flow = newFlow(req.method ?? 'GET', url, target.host, req.headers, 'http', req.socket.remoteAddress)

    // Headers as the client wrote them (names, order, repeats), minus hop-by-hop and proxy-* ones.
    const headers: OutgoingHttpHeaders = {}
    const rh = req.rawHeaders
    for (let i = 0; i + 1 < rh.length; i += 2) {
      const k = rh[i] as string
      const lk = k.toLowerCase()
      const v = rh[i + 1] as string
      // A chunked body stays chunked; the other hop-by-hop headers belong to this hop only.
      if ((HOP_BY_HOP.has(lk) && !(lk === 'transfer-encoding' && /chunked/i.test(v))) || lk.startsWith('proxy-')) continue
      const prev = headers[k]
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v]
    }
    const upReq = (tls ? httpsRequest : httpRequest)({
      host: target.host,
      port: target.port,
      method: req.method,
      path,
      headers,
      agent: tls ? httpsAgent : httpAgent,
      ...(tls && isIP(target.host) === 0 ? { servername: target.host } : {}),
    })
    upReq.setNoDelay?.(true)

    pipeTee(req, upReq, (chunk) => requestBody(flow, chunk))
    req.on('end', () => upReq.end())
    req.on('error', (err) => {
      endFlow(flow, 'aborted', `client connection failed: ${err.message}`)
      upReq.destroy()
    })

    upReq.on('response', (up: IncomingMessage) => onResponse(flow, up, res, upReq))
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      if (flow.state !== 'open') return
      if (flow.status !== undefined) {
        // The response had started: the client's copy is cut, and must look cut.
        endFlow(flow, 'upstream_error', `upstream connection failed: ${err.message}`)
        res.destroy()
        return
      }
      log.warn({ err: err.message, code: err.code, flow_id: flow.id, host: target.host }, 'upstream error')
      endFlow(flow, 'upstream_error', `upstream request failed: ${err.code ? `${err.code} ` : ''}${err.message}`)
      respondError(res, 502, 'agenttap_upstream_error', `agenttap proxy could not reach the upstream: ${err.message}`)
    })
    res.on('error', (err) => log.debug({ err, flow_id: flow.id }, 'client response error'))
    // The request's 'close' only says its body was read; the response's 'close' before any
    // answer means the client went away.
    res.once('close', () => {
      if (flow.state === 'open' && flow.status === undefined) {
        endFlow(flow, 'aborted', 'client closed the connection before the upstream answered')
        upReq.destroy()
      }
    })
    flow.kill = () => {
      upReq.destroy()
      res.destroy()
    }
  }

  function installHooks(m: AgenttapMitm): void {
    m.hooks = {
      connectData(req, socket, head) {
        socket.pause()
        sockets.add(socket)
        socket.once('close', () => sockets.delete(socket))
        socket.on('error', (err) => log.debug({ err }, 'client tunnel socket error'))
        ;(socket as Socket).setNoDelay?.(true)
        const tunnel = parseHostPort(req.url ?? '', 443)
        const target = tunnel.host
        if (head.length > 0 && head[0] === 0x16 && minter && inner) {
          let secureContext
          try {
            secureContext = minter.contextFor(target)
          } catch (err) {
            log.error({ err, host: target }, 'could not mint a certificate')
            socket.destroy()
            return
          }
          socket.unshift(head)
          const tlsSocket = new TLSSocket(socket as Socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] })
          const tlsTarget = { ...tunnel, tls: true }
          tunnels.set(tlsSocket, tlsTarget)
          const warnUntrusted = (): void => {
            if (warnedUntrusted.has(target)) return
            warnedUntrusted.add(target)
            log.warn(
              { host: target, ca: ca?.certPath },
              'a client rejected the agenttap certificate or hung up right after the TLS handshake: usually it does not trust the agenttap CA, and nothing from it can be captured (set NODE_EXTRA_CA_CERTS for Node agents such as Claude Code, SSL_CERT_FILE / CODEX_CA_CERTIFICATE for Codex; see `agenttap-proxy ca`)',
            )
          }
          // Whether TLS got as far as negotiating keys: the first 'keylog' line comes right after
          // the ServerHello. (Not getProtocol() on 'close': on Node 20 it reads the SSL object
          // already freed by destroy() and segfaults the process.)
          let handshaken = false
          tlsSocket.once('keylog', () => {
            handshaken = true
          })
          tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
            // OpenSSL clients send an alert; Node clients verify after the handshake and just hang up.
            if (/UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR/i.test(`${err.code ?? ''} ${err.message}`)) warnUntrusted()
            else log.debug({ err, host: target }, 'client TLS error')
          })
          tlsSocket.once('close', () => {
            if (handshaken && !usedSockets.has(tlsSocket)) warnUntrusted()
          })
          // No socket.resume(): the TLS wrap owns the handle now and consumes the bytes the
          // socket still buffers (the ClientHello read to sniff the protocol) by itself.
          relayTls(tlsSocket, tlsTarget)
        } else {
          // Plain HTTP (or garbage) inside a tunnel: let the plain proxy server parse it.
          socket.unshift(head)
          tunnels.set(socket, { ...tunnel, tls: false })
          m.httpServer?.emit('connection', socket)
          socket.resume()
        }
      },
      request: handleRequest,
      error(kind, err) {
        log.debug({ err, kind }, 'proxy error')
      },
      socketError(desc, err) {
        log.debug({ err: err.message, desc }, 'socket error')
      },
    }

    m.onWebSocketConnection((rawCtx, cb) => {
      const ctx = rawCtx as unknown as MitmWsCtx
      const url = ctx.proxyToServerWebSocketOptions?.url ?? ''
      let hostName = ''
      try {
        hostName = new URL(url).hostname.replace(/^\[|\]$/g, '')
      } catch {
        hostName = ''
      }
      if (filter.captures(hostName)) {
        const headers = { ...(ctx.clientToProxyWebSocket?.upgradeReq?.headers ?? {}) }
        const flow = newFlow('GET', url, hostName, headers, 'ws', ctx.clientToProxyWebSocket?.upgradeReq?.socket.remoteAddress, true)
        flow.status = 101
        wsFlows.set(ctx, flow)
        flow.kill = () => {
          ctx.clientToProxyWebSocket?.terminate()
          ctx.proxyToServerWebSocket?.terminate()
        }
      }
      cb()
    })
    m.onWebSocketFrame((rawCtx, type, fromServer, data, isBinary, cb) => {
      const flow = wsFlows.get(rawCtx as object)
      if (flow && flow.state === 'open' && type === 'message') {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data as Buffer[]) : Buffer.from(data as ArrayBuffer)
        stats.bytes += buf.length
        capture?.post(['ws', flow.id, now(), fromServer, buf, isBinary])
      }
      cb(null, data, isBinary)
      if (type === 'message') {
        const ctx = rawCtx as unknown as MitmWsCtx
        if (fromServer) wsBackpressure(ctx.proxyToServerWebSocket, ctx.clientToProxyWebSocket)
        else wsBackpressure(ctx.clientToProxyWebSocket, ctx.proxyToServerWebSocket)
      }
    })
    m.onWebSocketClose((rawCtx, code, message, cb) => {
      const ctx = rawCtx as unknown as MitmWsCtx
      const flow = wsFlows.get(rawCtx as object)
      const normal = code === 1000 || code === 1001 || code === 1005
      if (flow) {
        const reason = Buffer.isBuffer(message) ? message.toString('utf8') : String(message ?? '')
        if (normal) endFlow(flow, 'completed')
        else if (ctx.closedByServer) endFlow(flow, 'upstream_error', `upstream closed the WebSocket with code ${code}${reason ? `: ${reason}` : ''}`)
        else endFlow(flow, 'aborted', `client closed the WebSocket with code ${code}${reason ? `: ${reason}` : ''}`)
      }
      // http-mitm-proxy forwards a server close with no status (1005) to the server again
      // instead of the client; close the other side here so neither end hangs.
      const other = ctx.closedByServer ? ctx.clientToProxyWebSocket : ctx.proxyToServerWebSocket
      try {
        if (other && other.readyState === 1) {
          if (normal && code !== 1005) other.close(code)
          else if (normal) other.close()
          else other.terminate()
        }
      } catch {
        other?.terminate()
      }
      cb(null)
    })
    m.onWebSocketError((rawCtx, err) => {
      const flow = wsFlows.get(rawCtx as object)
      if (flow) endFlow(flow, 'upstream_error', `WebSocket error: ${err?.message ?? 'unknown'}`)
    })
  }

  /**
   * http-mitm-proxy forwards frames with `send()` and never looks back: a reader slower than
   * the writer would queue frames in the proxy without bound. Pause the source WebSocket while
   * the destination has more than {@link WS_HIGH_WATER} bytes queued, resume on drain.
   */
  function wsBackpressure(src: WebSocket | undefined, dst: WebSocket | undefined): void {
    if (!src || !dst || src.isPaused || dst.bufferedAmount <= WS_HIGH_WATER) return
    const sock = (dst as unknown as { _socket?: Duplex })._socket
    if (!sock) return
    src.pause()
    const retry = (): void => {
      if (dst.readyState === 1 && dst.bufferedAmount > WS_HIGH_WATER) {
        sock.once('drain', retry)
        return
      }
      sock.off('close', retry)
      if (src.readyState === 1) src.resume()
    }
    sock.once('drain', retry)
    sock.once('close', retry)
  }

  /**
   * The capture: on a thread of its own when the proxy owns its sinks (the file sink, built
   * there) and nothing in-process must see the engine (a custom redactor); else inline, after
   * each event-loop turn, writing to the given sinks.
   */
  function openCapture(): CaptureChannel {
    const engineOpts: CaptureEngineOptions = {
      maxInlineBodyBytes: maxInline,
      rawBodies: rawMode,
      ...(opts.maxEventBytes !== undefined ? { maxEventBytes: opts.maxEventBytes } : {}),
      ...(opts.redactor ? { redactor: opts.redactor } : { redactionKey: opts.redactionKey ?? ensureRedactionKey(opts.caDir ?? defaultCaDir()).key }),
    }
    const out = {
      emit: (r: CaptureRecord) => hub.emit(r),
      log: (level: 'debug' | 'warn' | 'error', obj: Record<string, unknown>, msg: string) => log[level](obj, msg),
    }
    if (opts.captureThread !== false && !opts.sinks && !opts.redactor) {
      const ch = threadChannel(engineOpts, { logDir }, out)
      if (ch) {
        if (subscribed) ch.forward(true)
        return ch
      }
    }
    const sinks = opts.sinks ?? [createFileSink({ logDir, onError: (err) => log.error({ err }, 'raw body write failed') })]
    return inlineChannel(engineOpts, sinks, out)
  }

  function wantRecords(): void {
    if (subscribed) return
    subscribed = true
    capture?.forward(true)
  }

  function statsNow(): CaptureStats {
    return {
      openFlows: openFlows.size,
      flows: stats.flows,
      capturedFlows: capture?.stats.capturedFlows ?? 0,
      events: capture?.stats.events ?? 0,
      bytes: stats.bytes,
      certsMinted: minter?.minted ?? 0,
      droppedRecords: hub.dropped,
      captureThread: capture?.mode === 'thread',
      captureBacklogBytes: capture?.backlog ?? 0,
    }
  }

  const api: CaptureProxy = {
    get host() {
      return host
    },
    get port() {
      return boundPort
    },
    get url() {
      return `http://${isIP(host) === 6 ? `[${host}]` : host}:${boundPort}`
    },
    get caCertPath() {
      return ca?.certPath ?? ''
    },
    get caBundlePath() {
      return ca?.bundlePath ?? ''
    },
    captureDir,
    async start() {
      if (running) return { host, port: boundPort, url: api.url }
      ca = ensureCa(opts.caDir ?? defaultCaDir())
      minter = createLeafMinter(ca)
      capture = openCapture()
      const extraCa = opts.upstreamCa === undefined ? [] : typeof opts.upstreamCa === 'string' ? [opts.upstreamCa] : [...opts.upstreamCa]
      const agentOpts = { keepAlive: true, maxFreeSockets: 64, noDelay: true, scheduling: 'lifo' as const }
      // One secure context for every upstream connection: passing `ca` instead would re-parse
      // ~150 root certificates per TLS connection and stringify them into every agent key.
      if (extraCa.length > 0) upstreamTls.secureContext = createSecureContext({ ca: [...rootCertificates, ...extraCa] })
      const upHttps = new HttpsAgent({
        ...agentOpts,
        rejectUnauthorized: upstreamTls.rejectUnauthorized,
        ...(upstreamTls.secureContext ? { secureContext: upstreamTls.secureContext } : {}),
      })
      const upHttp = new HttpAgent(agentOpts)
      httpsAgent = upHttps
      httpAgent = upHttp
      const m = new AgenttapMitm()
      installHooks(m)
      inner = createHttpServer({ noDelay: true, keepAlive: true, requestTimeout: 0 })
      inner.on('request', handleRequest)
      inner.on('upgrade', (req: IncomingMessage) => usedSockets.add(req.socket))
      innerWss = new WebSocketServer({ server: inner })
      innerWss.on('connection', (ws: WebSocket & { upgradeReq?: IncomingMessage }, req: IncomingMessage) => {
        ws.upgradeReq = req
        m._onWebSocketServerConnect(true, ws as never, req)
      })
      innerWss.on('error', (err) => log.debug({ err }, 'inner websocket server error'))
      const listened = new Promise<void>((resolve, reject) => {
        let listening = false
        const onErr = (err: Error): void => {
          if (listening) {
            log.error({ err }, 'proxy server error')
            return
          }
          reject(
            new ProxyCaptureError(
              'LISTEN_FAILED',
              `could not listen on ${host}:${boundPort}: ${err.message}${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (another proxy running? pass another port, or 0 for a free one)' : ''}`,
              { cause: err },
            ),
          )
        }
        // http-mitm-proxy creates its server only after loading the CA and reports a failed
        // bind only as an 'error' event on it: catch the server as it is assigned.
        let hs: import('node:http').Server | undefined
        Object.defineProperty(m, 'httpServer', {
          configurable: true,
          enumerable: true,
          get: () => hs,
          set: (v: import('node:http').Server | undefined) => {
            hs = v
            v?.on('error', onErr)
          },
        })
        m.listen({ host, port: boundPort, sslCaDir: ca?.dir ?? '', keepAlive: true, httpAgent: upHttp, httpsAgent: upHttps }, ((err?: Error) => {
          if (err) onErr(err)
          else {
            listening = true
            resolve()
          }
        }) as () => void)
      })
      try {
        await listened
      } catch (err) {
        // Nothing was captured yet: release the sink files so a retry on another port is clean.
        await capture?.close().catch(() => undefined)
        capture = undefined
        throw err
      }
      const srv = (m as unknown as { httpServer: import('node:http').Server }).httpServer
      srv.requestTimeout = 0
      srv.on('connection', (s: Socket) => {
        s.setNoDelay(true)
        sockets.add(s)
        s.once('close', () => sockets.delete(s))
      })
      mitm = m
      boundPort = m.httpPort
      running = true
      log.info({ host, port: boundPort, captureDir, ca: ca.certPath }, 'agenttap proxy listening')
      return { host, port: boundPort, url: api.url }
    },
    async stop() {
      if (!running) return
      running = false
      const m = mitm
      mitm = undefined
      const srv = (m as unknown as { httpServer?: import('node:http').Server } | undefined)?.httpServer
      srv?.close()
      for (const flow of [...openFlows]) {
        endFlow(flow, 'aborted', 'proxy shutdown')
        flow.kill?.()
      }
      for (const s of [...sockets]) s.destroy()
      httpsAgent?.destroy()
      httpAgent?.destroy()
      innerWss?.close()
      inner?.close()
      await capture?.close().catch((err: unknown) => log.error({ err }, 'capture close failed'))
      hub.close()
      log.info(statsNow(), 'agenttap proxy stopped')
    },
    onRecord(fn) {
      wantRecords()
      return hub.subscribe(fn)
    },
    records(o) {
      wantRecords()
      return hub.iterate(o)
    },
    async flush() {
      await capture?.flush()
    },
    stats: statsNow,
  }
  return api
}
