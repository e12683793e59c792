import type { Agent as HttpAgent, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import type { Duplex } from 'node:stream'
import { Proxy as MitmProxy } from 'http-mitm-proxy'
import type { WebSocket } from 'ws'
import { ProxyCaptureError } from './errors.js'

/** The slice of http-mitm-proxy's WebSocket context this package touches. */
export interface MitmWsCtx {
  clientToProxyWebSocket?: WebSocket & { upgradeReq?: IncomingMessage }
  proxyToServerWebSocket?: WebSocket
  proxyToServerWebSocketOptions?: {
    url?: string
    headers?: Record<string, string | string[] | undefined>
    agent?: unknown
    createConnection?: () => Duplex
    lookup?: unknown
  }
  closedByServer?: boolean
}

/** agenttap's handlers for what http-mitm-proxy's server receives. */
export interface MitmHooks {
  /** A CONNECT tunnel's first bytes (after http-mitm-proxy answered `200`). */
  connectData(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** A plain-HTTP request (absolute-form proxy request, or plain HTTP inside a tunnel). */
  request(req: IncomingMessage, res: ServerResponse): void
  error(kind: string, err: Error): void
  socketError(desc: string, err: NodeJS.ErrnoException): void
}

/**
 * http-mitm-proxy with its per-request machinery taken out of the hot path: CONNECT and HTTP
 * requests come to agenttap's own handlers (one direct pipe per request instead of a context
 * object, handler chains and filter streams); WebSocket upgrades stay with http-mitm-proxy.
 * These overrides replace underscore methods of http-mitm-proxy 1.x: they are its private API,
 * pinned by the `^1.1.0` range.
 */
export class AgenttapMitm extends MitmProxy {
  hooks!: MitmHooks
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

  /** The listening server, once {@link listenMitm} resolved. */
  get server(): Server | undefined {
    return (this as unknown as { httpServer?: Server }).httpServer
  }
}

/**
 * Starts http-mitm-proxy's server on `host:port` (0 = a free port) and resolves once it listens.
 * A failed bind rejects with `LISTEN_FAILED` instead of hanging: http-mitm-proxy creates its
 * server only after loading the CA and reports a failed bind only as an 'error' event on it, so
 * the server is caught as it is assigned. Errors after listening go to `onLateError`.
 */
export function listenMitm(
  m: AgenttapMitm,
  opts: { host: string; port: number; sslCaDir: string; httpAgent: HttpAgent; httpsAgent: HttpsAgent },
  onLateError: (err: Error) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let listening = false
    const onErr = (err: Error): void => {
      if (listening) {
        onLateError(err)
        return
      }
      reject(
        new ProxyCaptureError(
          'LISTEN_FAILED',
          `could not listen on ${opts.host}:${opts.port}: ${err.message}${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (another proxy running? pass another port, or 0 for a free one)' : ''}`,
          { cause: err },
        ),
      )
    }
    let hs: Server | undefined
    Object.defineProperty(m, 'httpServer', {
      configurable: true,
      enumerable: true,
      get: () => hs,
      set: (v: Server | undefined) => {
        hs = v
        v?.on('error', onErr)
      },
    })
    m.listen({ host: opts.host, port: opts.port, sslCaDir: opts.sslCaDir, keepAlive: true, httpAgent: opts.httpAgent, httpsAgent: opts.httpsAgent }, ((err?: Error) => {
      if (err) onErr(err)
      else {
        listening = true
        resolve()
      }
    }) as () => void)
  })
}
