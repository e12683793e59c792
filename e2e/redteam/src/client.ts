/**
 * The agent side: requests through the proxy as a real client makes them (CONNECT, then TLS
 * that trusts only the proxy's CA; plain HTTP in absolute form; WebSockets over the tunnel).
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { gzipSync } from 'node:zlib'
import WebSocket from 'ws'
import type { HttpCase, PlainCase, WsCase } from './corpus.js'

/**
 * An https.Agent whose connections are CONNECT tunnels through the proxy, kept alive between
 * requests unless `keepAlive` is false (a WebSocket gets a tunnel of its own, as agents open
 * them: the proxy relays an upgrade on a reused connection without capturing it).
 */
export class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxyPort: number,
    private readonly ca: string,
    keepAlive = true,
  ) {
    super({ keepAlive, maxSockets: 8 })
  }

  override createConnection(options: RequestOptions & { servername?: string }, callback?: (err: Error | null, s: Duplex) => void): undefined {
    const cb = (err: Error | null, s?: TLSSocket): void => callback?.(err, s as unknown as Duplex)
    const target = `${options.host ?? '127.0.0.1'}:${options.port ?? 443}`
    const req = httpRequest({ host: '127.0.0.1', port: this.proxyPort, method: 'CONNECT', path: target, headers: { host: target } })
    req.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        cb(new Error(`CONNECT ${target}: ${res.statusCode}`))
        return
      }
      cb(null, tlsConnect({ socket, ca: this.ca, host: options.host ?? '127.0.0.1' }))
    })
    req.on('error', (err) => cb(err))
    req.end()
    return undefined
  }
}

function drain(res: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    res.on('data', () => {})
    res.on('end', () => resolve(res.statusCode ?? 0))
    res.on('error', reject)
  })
}

/** One HTTPS case through the proxy; resolves with the status once the whole answer was read. */
export function sendHttps(agent: TunnelAgent, upstreamPort: number, c: HttpCase): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = c.body === undefined ? undefined : c.gzip ? gzipSync(c.body) : Buffer.from(c.body)
    const headers: Record<string, string> = { ...c.headers, 'x-rt-id': c.id }
    if (body) headers['content-length'] = String(body.length)
    if (c.gzip) headers['content-encoding'] = 'gzip'
    const req = httpsRequest({ host: '127.0.0.1', port: upstreamPort, path: c.path, method: c.method, headers, agent }, (res) => drain(res).then(resolve, reject))
    req.on('error', reject)
    req.end(body)
  })
}

/** A plain-HTTP case: the request line carries the absolute URL, userinfo included. */
export function sendPlain(proxyPort: number, upstreamPort: number, c: PlainCase): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
    const req = httpRequest(
      { host: '127.0.0.1', port: proxyPort, path: c.url(upstreamPort), method: 'POST', headers: { host: `127.0.0.1:${upstreamPort}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-rt-id': c.id } },
      (res) => drain(res).then(resolve, reject),
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A WebSocket case: client frames, the server's frames back, then the scripted close. */
export function runWs(agent: TunnelAgent, upstreamPort: number, c: WsCase): Promise<{ frames: number; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${upstreamPort}/ws?rt=${c.id}`, { agent, headers: c.headers })
    let frames = 0
    ws.on('open', () => {
      for (const f of c.clientFrames) ws.send(f)
    })
    ws.on('message', () => {
      if (++frames === c.serverFrames.length && c.close.by === 'client') ws.close(c.close.code, c.close.reason)
    })
    ws.on('close', (code) => resolve({ frames, code }))
    ws.on('error', reject)
  })
}

/** Runs `jobs` with at most `limit` at a time; rejects with the first failure. */
export async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      out[i] = await (jobs[i] as () => Promise<T>)()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker))
  return out
}
