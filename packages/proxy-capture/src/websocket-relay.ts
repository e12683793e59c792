import { connect as netConnect, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import type { WebSocket } from 'ws'
import type { Flow } from './flow-feed.js'
import type { HostFilter } from './host-filter.js'
import type { AgenttapMitm, MitmWsCtx } from './mitm-server.js'
import type { RelayContext } from './relay-context.js'

/** Bytes a WebSocket may have queued towards a slow reader before its source is paused. */
const WS_HIGH_WATER = 1024 * 1024

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
 * Installs the WebSocket path on http-mitm-proxy: it forwards frames both ways (its own
 * upstream WebSocket), and these handlers capture them (server text frames → `sse`, client text
 * frames → `client_frame`), route its upstream connection (connect-to, the forwarding-loop
 * guard), pass backpressure on, and end the flow exactly once.
 */
export function installWebSocketRelay(ctx: RelayContext, m: AgenttapMitm, filter: HostFilter): void {
  const { feed } = ctx
  const wsFlows = new WeakMap<object, Flow>()

  /**
   * The upstream connection of http-mitm-proxy's WebSocket: the URL (and so the Host header,
   * SNI and certificate name) stays the client's; a connect-to rule moves the socket, through a
   * connection of its own (the shared agent would connect to the URL's host); names resolving
   * to the proxy itself are refused.
   */
  function routeUpstream(wctx: MitmWsCtx, url: URL): void {
    const o = wctx.proxyToServerWebSocketOptions
    if (!o) return
    const secure = url.protocol === 'wss:'
    const name = url.hostname.replace(/^\[|\]$/g, '')
    const target = { host: name, port: url.port ? Number(url.port) : secure ? 443 : 80 }
    const refused = ctx.upstream.refusal(target)
    if (refused) {
      // The upstream WebSocket still exists (http-mitm-proxy's close handling needs one) but its
      // connection fails at once: the flow ends upstream_error with the reason, the client is closed.
      o.agent = undefined
      o.createConnection = () => {
        const s = new Socket()
        process.nextTick(() => s.destroy(refused))
        return s
      }
      return
    }
    const addr = ctx.upstream.route(target)
    const lookup = ctx.upstream.guard.lookupFor(addr.port)
    if (!addr.redirected) {
      o.lookup = lookup
      return
    }
    o.agent = undefined
    o.createConnection = secure
      ? () => tlsConnect({ host: addr.host, port: addr.port, ...ctx.upstream.tlsOptions(name, addr), lookup })
      : () => netConnect({ host: addr.host, port: addr.port, lookup })
  }

  m.onWebSocketConnection((rawCtx, cb) => {
    const wctx = rawCtx as unknown as MitmWsCtx
    const url = wctx.proxyToServerWebSocketOptions?.url ?? ''
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      parsed = undefined
    }
    const hostName = parsed?.hostname.replace(/^\[|\]$/g, '') ?? ''
    if (parsed) routeUpstream(wctx, parsed)
    if (filter.captures(hostName)) {
      const headers = { ...(wctx.clientToProxyWebSocket?.upgradeReq?.headers ?? {}) }
      const flow = feed.open('GET', url, hostName, headers, 'ws', wctx.clientToProxyWebSocket?.upgradeReq?.socket.remoteAddress, true)
      flow.status = 101
      wsFlows.set(rawCtx as object, flow)
      flow.kill = () => {
        wctx.clientToProxyWebSocket?.terminate()
        wctx.proxyToServerWebSocket?.terminate()
      }
    }
    cb()
  })
  m.onWebSocketFrame((rawCtx, type, fromServer, data, isBinary, cb) => {
    const flow = wsFlows.get(rawCtx as object)
    if (flow && type === 'message') {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data as Buffer[]) : Buffer.from(data as ArrayBuffer)
      feed.wsMessage(flow, fromServer, buf, isBinary)
    }
    cb(null, data, isBinary)
    if (type === 'message') {
      const wctx = rawCtx as unknown as MitmWsCtx
      if (fromServer) wsBackpressure(wctx.proxyToServerWebSocket, wctx.clientToProxyWebSocket)
      else wsBackpressure(wctx.clientToProxyWebSocket, wctx.proxyToServerWebSocket)
    }
  })
  m.onWebSocketClose((rawCtx, code, message, cb) => {
    const wctx = rawCtx as unknown as MitmWsCtx
    const flow = wsFlows.get(rawCtx as object)
    const normal = code === 1000 || code === 1001 || code === 1005
    if (flow) {
      const reason = Buffer.isBuffer(message) ? message.toString('utf8') : String(message ?? '')
      if (normal) feed.end(flow, 'completed')
      else if (wctx.closedByServer) feed.end(flow, 'upstream_error', `upstream closed the WebSocket with code ${code}${reason ? `: ${reason}` : ''}`)
      else feed.end(flow, 'aborted', `client closed the WebSocket with code ${code}${reason ? `: ${reason}` : ''}`)
    }
    // http-mitm-proxy forwards a server close with no status (1005) to the server again
    // instead of the client; close the other side here so neither end hangs.
    const other = wctx.closedByServer ? wctx.clientToProxyWebSocket : wctx.proxyToServerWebSocket
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
    if (flow) feed.end(flow, 'upstream_error', `WebSocket error: ${err?.message ?? 'unknown'}`)
  })
}
