import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import type { Flow } from './flow-feed.js'
import { headerValue, parseHostPort, upstreamFailure, type RelayContext } from './relay-context.js'
import type { Target } from './upstream.js'

/** Path of the proxy's own status endpoint (`GET http://127.0.0.1:9110/__agenttap/health`). */
export const HEALTH_PATH = '/__agenttap/health'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'])

/** Sends a JSON error of agenttap's own (or cuts the response if its head already went). */
export function respondError(res: ServerResponse, status: number, type: string, message: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({ type: 'error', error: { type, message } })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-agenttap-error': type })
  res.end(body)
}

/**
 * `src` → `dst`, client first: each chunk is written on, then handed to `tee` (the capture).
 * A slow reader pauses `src` until `dst` drains, a capture thread that fell behind until it
 * caught up: memory stays bounded either way.
 */
function pipeTee(ctx: RelayContext, src: IncomingMessage, dst: ServerResponse | ClientRequest, tee: (chunk: Buffer) => void): void {
  src.on('data', (chunk: Buffer) => {
    if (!dst.write(chunk)) {
      src.pause()
      dst.once('drain', () => src.resume())
    }
    tee(chunk)
    ctx.feed.throttle(src)
  })
}

/**
 * Creates the plain-HTTP path: a proxy request (absolute URL), plain HTTP inside a CONNECT
 * tunnel, or a request to the proxy itself (its health endpoint, else a 400 that says what
 * this is). A proxied request is one direct pipe client → upstream through the keep-alive
 * agents, the request body teed to the capture up to its cap, and the response piped back with
 * backpressure, teed too.
 */
export function createHttpForward(ctx: RelayContext, deps: { self: () => { host: string; port: number }; health: () => object }): (req: IncomingMessage, res: ServerResponse) => void {
  const { feed, log } = ctx

  /** A request aimed at the proxy by name: the health endpoint, else a 400 that says what this is. */
  function answerSelf(req: IncomingMessage, res: ServerResponse): void {
    req.resume()
    if ((req.url ?? '').split('?')[0] === HEALTH_PATH) {
      const body = JSON.stringify(deps.health())
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    } else {
      respondError(res, 400, 'agenttap_not_a_proxy_request', `this is the agenttap capture proxy; use it as HTTPS_PROXY (status: ${HEALTH_PATH})`)
    }
  }

  /** The proxy's own address as written by a client (names that resolve to it are caught when connecting). */
  function namesSelf(t: Target): boolean {
    const me = deps.self()
    if (t.port !== me.port) return false
    if (t.host === me.host || t.host.toLowerCase() === 'localhost') return true
    return isIP(t.host) !== 0 && ctx.upstream.guard.isSelf(t.host, t.port)
  }

  /** Pipes the upstream's response to the client with backpressure, teed to the capture. */
  function onResponse(flow: Flow, up: IncomingMessage, res: ServerResponse, upReq: ClientRequest): void {
    feed.response(flow, up.statusCode ?? 0, up.headers)
    const isSse = /^\s*text\/event-stream/i.test(headerValue(up.headers['content-type']) ?? '')
    // A reset must stay visible to the client as a reset, never as a clean end.
    up.on('error', (err) => {
      feed.end(flow, 'upstream_error', `upstream response failed: ${err.message}`)
      res.destroy()
    })
    up.on('close', () => {
      if (!up.complete && flow.state === 'open') {
        feed.end(flow, 'upstream_error', 'upstream closed the connection before the response was complete')
        res.destroy()
      }
    })
    res.on('close', () => {
      if (!res.writableFinished && flow.state === 'open') {
        feed.end(flow, 'aborted', 'client closed the connection before the response was complete')
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
    pipeTee(ctx, up, res, (chunk) => feed.responseBody(flow, chunk))
    up.on('end', () => {
      res.end()
      feed.end(flow, 'completed')
    })
    up.resume()
  }

  return function handleRequest(req, res) {
    ctx.usedSockets.add(req.socket)
    const tunnel = ctx.tunnels.get(req.socket)
    let tls: boolean
    let target: Target
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
      if (target.host === '' || namesSelf(target)) {
        answerSelf(req, res)
        return
      }
    }
    const defaultPort = tls ? 443 : 80
    const hostForUrl = isIP(target.host) === 6 ? `[${target.host}]` : target.host
    const url = `${tls ? 'https' : 'http'}://${hostForUrl}${target.port !== defaultPort ? `:${target.port}` : ''}${path}`
    const flow = feed.open(req.method ?? 'GET', url, target.host, req.headers, 'http', req.socket.remoteAddress)

    const refused = ctx.upstream.refusal(target)
    if (refused) {
      req.resume()
      feed.end(flow, 'upstream_error', refused.message)
      const f = upstreamFailure(refused, refused.message)
      respondError(res, f.status, f.type, f.message)
      return
    }

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
    const upReq = ctx.upstream.request(tls, target, { method: req.method, path, headers })

    pipeTee(ctx, req, upReq, (chunk) => feed.requestBody(flow, chunk))
    req.on('end', () => upReq.end())
    req.on('error', (err) => {
      feed.end(flow, 'aborted', `client connection failed: ${err.message}`)
      upReq.destroy()
    })

    upReq.on('response', (up: IncomingMessage) => onResponse(flow, up, res, upReq))
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      if (flow.state !== 'open') return
      if (flow.status !== undefined) {
        // The response had started: the client's copy is cut, and must look cut.
        feed.end(flow, 'upstream_error', `upstream connection failed: ${err.message}`)
        res.destroy()
        return
      }
      log.warn({ err: err.message, code: err.code, flow_id: flow.id, host: target.host }, 'upstream error')
      feed.end(flow, 'upstream_error', `upstream request failed: ${err.code ? `${err.code} ` : ''}${err.message}`)
      const f = upstreamFailure(err, err.message)
      respondError(res, f.status, f.type, f.message)
    })
    res.on('error', (err) => log.debug({ err, flow_id: flow.id }, 'client response error'))
    // The request's 'close' only says its body was read; the response's 'close' before any
    // answer means the client went away.
    res.once('close', () => {
      if (flow.state === 'open' && flow.status === undefined) {
        feed.end(flow, 'aborted', 'client closed the connection before the upstream answered')
        upReq.destroy()
      }
    })
    flow.kill = () => {
      upReq.destroy()
      res.destroy()
    }
  }
}
