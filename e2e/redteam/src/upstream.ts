/**
 * The local upstream the proxy forwards to: HTTPS (SSE and JSON answers, WebSockets) and plain
 * HTTP, each answering with the scripted response of the case named in `x-rt-id` (or `?rt=`).
 * SSE bytes go out in random-size chunks, so events and secrets are cut on the wire too.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as zlib from 'node:zlib'
import { WebSocketServer } from 'ws'
import type { Case, HttpCase, ResponseSpec, SseEvent, WsCase } from './corpus.js'
import { createRng } from './secrets.js'

export interface Upstream {
  httpsPort: number
  httpPort: number
  /** PEM of the upstream's self-signed certificate (the proxy's `--upstream-ca`). */
  certPath: string
  /** Cases whose request reached the upstream. */
  seen: Set<string>
  close(): Promise<void>
}

/** A self-signed certificate for 127.0.0.1 (openssl CLI, fast EC key). */
function selfSigned(dir: string): { key: string; cert: string; certPath: string } {
  const keyPath = join(dir, 'upstream.key')
  const certPath = join(dir, 'upstream.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' })
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath }
}

function sseBytes(e: SseEvent): string {
  return `${e.event !== undefined ? `event: ${e.event}\n` : ''}${e.id !== undefined ? `id: ${e.id}\n` : ''}${e.data.split('\n').map((d) => `data: ${d}\n`).join('')}\n`
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

async function respond(res: ServerResponse, spec: ResponseSpec, seed: number): Promise<void> {
  const r = createRng(seed)
  const headers: Record<string, string> = { 'content-type': spec.type === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/json', ...(spec.headers ?? {}) }
  if (spec.gzip) headers['content-encoding'] = 'gzip'
  res.writeHead(200, headers)
  const gz = spec.gzip ? zlib.createGzip() : undefined
  if (gz) gz.on('data', (c: Buffer) => res.write(c))
  const write = (s: string): void => {
    if (gz) {
      gz.write(s)
      gz.flush()
    } else res.write(s)
  }
  if (spec.type === 'json') write(spec.body)
  else {
    // Several events per write, cut at random byte offsets: the proxy sees events and secrets
    // split across TCP reads as well as across events.
    const wire = spec.events.map(sseBytes).join('')
    for (let i = 0; i < wire.length; ) {
      const n = r.next() < 0.3 ? r.int(1, 16) : r.int(64, 2048)
      write(wire.slice(i, i + n))
      i += n
      if (r.next() < 0.25) await tick()
    }
  }
  if (gz) {
    const drained = new Promise<void>((resolve) => gz.once('end', resolve))
    gz.end()
    await drained
  }
  res.end()
}

/** Starts the upstream for `cases` (looked up by id) in `dir`. */
export async function startUpstream(dir: string, cases: readonly Case[]): Promise<Upstream> {
  const byId = new Map(cases.map((c) => [c.id, c]))
  const seen = new Set<string>()
  const { key, cert, certPath } = selfSigned(dir)

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const id = String(req.headers['x-rt-id'] ?? '')
    req.resume()
    req.on('end', () => {
      seen.add(id)
      const c = byId.get(id)
      const spec: ResponseSpec = c?.kind === 'https' ? (c as HttpCase).response : { type: 'sse', events: [{ event: 'message_stop', data: '{"type":"message_stop"}' }] }
      respond(res, spec, id.length * 7919 + [...id].reduce((a, ch) => a + ch.charCodeAt(0), 0)).catch(() => res.destroy())
    })
  }
  const https: HttpsServer = createHttpsServer({ key, cert }, handle)
  const http: HttpServer = createHttpServer(handle)

  const wss = new WebSocketServer({ server: https, path: '/ws' })
  wss.on('connection', (ws, req) => {
    const id = new URL(req.url ?? '/', 'https://x').searchParams.get('rt') ?? ''
    const c = byId.get(id) as WsCase | undefined
    if (!c) {
      ws.close(1008, 'unknown case')
      return
    }
    let got = 0
    ws.on('message', () => {
      if (++got !== c.clientFrames.length) return
      seen.add(id)
      void (async () => {
        for (const f of c.serverFrames) {
          ws.send(f)
          await tick()
        }
        if (c.close.by === 'server') ws.close(c.close.code, c.close.reason)
      })()
    })
  })

  await Promise.all([new Promise<void>((r) => https.listen(0, '127.0.0.1', r)), new Promise<void>((r) => http.listen(0, '127.0.0.1', r))])
  return {
    httpsPort: (https.address() as AddressInfo).port,
    httpPort: (http.address() as AddressInfo).port,
    certPath,
    seen,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      https.closeAllConnections()
      http.closeAllConnections()
      await Promise.all([new Promise((r) => https.close(r)), new Promise((r) => http.close(r))])
    },
  }
}
