import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { LOOP_ERROR_CODE } from './addresses.js'
import type { FlowFeed } from './flow-feed.js'
import { hostOnly } from './host-filter.js'
import type { Target, Upstream } from './upstream.js'

/** Where a CONNECT tunnel leads (the address the client asked for, not its Host header). */
export interface TunnelTarget extends Target {
  tls: boolean
}

/** What the relays (TLS, plain HTTP, WebSocket) share: the capture feed, the way out, the sockets. */
export interface RelayContext {
  log: Logger
  feed: FlowFeed
  upstream: Upstream
  /** Every open socket (client and upstream side), destroyed on stop. */
  sockets: Set<Duplex>
  /**
   * TLS sockets that carried at least one request: a handshake followed by silence is the
   * signature of a client that rejected the certificate.
   */
  usedSockets: WeakSet<object>
  /** The CONNECT target of each tunnelled socket. */
  tunnels: WeakMap<object, TunnelTarget>
  /** The in-process HTTP server that takes WebSocket upgrades handed off by a TLS relay. */
  inner(): Server | undefined
}

/** `host:port` / `[v6]:port` of a CONNECT line or Host header. */
export function parseHostPort(hostPort: string, defaultPort: number): Target {
  const host = hostOnly(hostPort)
  const rest = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : host === hostPort ? '' : hostPort.slice(host.length)
  const port = rest.startsWith(':') ? Number(rest.slice(1)) : NaN
  return { host, port: Number.isInteger(port) && port > 0 && port < 65536 ? port : defaultPort }
}

/** The first value of a header. */
export function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}

/**
 * The answer a client gets when its upstream could not be reached: `502` with a JSON error, or
 * `508 Loop Detected` when the upstream is this proxy itself.
 */
export function upstreamFailure(err: NodeJS.ErrnoException | undefined, reason: string): { status: number; statusText: string; type: string; message: string; body: string } {
  const loop = err?.code === LOOP_ERROR_CODE
  const type = loop ? 'agenttap_forwarding_loop' : 'agenttap_upstream_error'
  const message = loop ? (err?.message ?? reason) : `agenttap proxy could not reach the upstream: ${err?.message ?? reason}`
  return { status: loop ? 508 : 502, statusText: loop ? 'Loop Detected' : 'Bad Gateway', type, message, body: JSON.stringify({ type: 'error', error: { type, message } }) }
}
