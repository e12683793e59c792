import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureProxy, type CaptureProxy, type CaptureProxyOptions } from '../src/index.js'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer as createHttpsServer, Agent as HttpsAgent, request as httpsRequest, type Server } from 'node:https'
import { request as httpRequest, type IncomingMessage, type ServerResponse, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import * as zlib from 'node:zlib'
import { WebSocketServer } from 'ws'

/**
 * A self-signed certificate for 127.0.0.1 and `names` (DNS names), made with the openssl CLI
 * (fast EC key), written as `<base>.key` / `<base>.pem` in `dir`.
 */
export function selfSigned(dir: string, names: readonly string[] = ['localhost'], base = 'upstream'): { key: string; cert: string } {
  const key = join(dir, `${base}.key`)
  const cert = join(dir, `${base}.pem`)
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', `subjectAltName=${['IP:127.0.0.1', ...names.map((n) => `DNS:${n}`)].join(',')}`,
  ], { stdio: 'ignore' })
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') }
}

const madeDirs: string[] = []

/** A fresh directory under the OS temp dir; removed after the test file (see test/setup.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  madeDirs.push(dir)
  return dir
}

/** Removes every directory {@link tempDir} made in this test file. */
export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A realistic-looking Anthropic key (random body) that the split-secret route streams in two halves. */
export const SPLIT_KEY = 'sk-ant-api03-Q7xZp2Lk9VwR4tYb8NcM1sHd6JfG3eUa0OiKq5Wz-Xy_Rt7Bn2Vc8Lm4Pk9Jh6Gf3Ds1Az0SwEdRfTgYhUjIkOlP0o9I8u7Y6tT5rAA'

export interface FixtureFlow {
  flow: Record<string, unknown> & { request_headers: Record<string, string>; request_body: unknown; url: string }
  events: { event?: string; data: string }[]
}

/** Loads the first flow of a canonical fixture file with its SSE events. */
export function loadFixture(name: string): FixtureFlow {
  const path = new URL(`../../../fixtures/${name}`, import.meta.url)
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '')
  const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const flow = recs.find((r) => r['type'] === 'flow') as FixtureFlow['flow']
  const events = recs
    .filter((r) => r['type'] === 'sse' && r['flow_id'] === flow['flow_id'])
    .map((r) => (r['event'] === undefined ? { data: r['data'] as string } : { event: r['event'] as string, data: r['data'] as string }))
  return { flow, events }
}

export function sseBytes(e: { event?: string; data: string }): string {
  return `${e.event !== undefined ? `event: ${e.event}\n` : ''}${e.data.split('\n').map((d) => `data: ${d}\n`).join('')}\n`
}

export interface Upstream {
  port: number
  server: Server
  cert: string
  /** Bytes the upstream wrote on the wire, per `x-test-id`. */
  sent: Map<string, Buffer>
  /** Resolvers the `/drip` route waits on, per test id. */
  gates: Map<string, () => void>
  /** Test ids whose upstream response saw the connection close early. */
  closedEarly: Set<string>
  /** Bytes the `/flood` route managed to write, per test id. */
  flood: Map<string, number>
  /** Host header and TLS server name of each request (HTTP and WebSocket), per `t` query parameter. */
  seen: Map<string, { host: string | undefined; servername: string | false | null | undefined }>
  close(): Promise<void>
}

type Route = (req: IncomingMessage, res: ServerResponse, id: string, write: (b: Buffer | string) => void, end: () => void) => void

/** The local HTTPS upstream of the integration tests. */
export async function startUpstream(dir: string, fixtures: Record<string, FixtureFlow>, opts: { names?: readonly string[] } = {}): Promise<Upstream> {
  const { key, cert } = selfSigned(dir, opts.names)
  const seen: Upstream['seen'] = new Map()
  const see = (req: IncomingMessage): void => {
    const t = new URL(req.url ?? '/', 'https://x').searchParams.get('t')
    if (t !== null) seen.set(t, { host: req.headers.host, servername: (req.socket as TLSSocket).servername })
  }
  const sent = new Map<string, Buffer>()
  const gates = new Map<string, () => void>()
  const closedEarly = new Set<string>()
  const flood = new Map<string, number>()

  const streamEvents = async (events: { event?: string; data: string }[], write: (b: string) => void, split: number): Promise<void> => {
    for (const e of events) {
      const s = sseBytes(e)
      if (split > 0) for (let i = 0; i < s.length; i += split) write(s.slice(i, i + split))
      else write(s)
      await new Promise((r) => setImmediate(r))
    }
  }

  const routes: Record<string, Route> = {
    '/v1/messages': (req, res, _id, write, end) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'request-id': 'req_test' })
      const q = new URL(req.url!, 'https://x').searchParams
      // upto=N: only the first N events, then the response stays open.
      const upto = q.get('upto')
      const events = fixtures['anthropic']!.events
      void streamEvents(upto === null ? events : events.slice(0, Number(upto)), write, Number(q.get('split') ?? 0)).then(upto === null ? end : () => undefined)
    },
    '/v1/responses': (req, res, _id, write, end) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const q = new URL(req.url!, 'https://x').searchParams
      // hang=1: every event, the terminal one included, then the response stays open (the
      // client is the one to close, as Codex does once it read response.completed).
      void streamEvents(fixtures['openai']!.events, write, Number(q.get('split') ?? 0)).then(q.get('hang') ? () => undefined : end)
    },
    '/drip': (_req, res, id, write, end) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      write(sseBytes({ event: 'first', data: '{"n":1}' }))
      // The rest is only sent after the client proves it got the first event: a proxy that
      // buffered the response would deadlock this route (and the test would time out).
      gates.set(id, () => {
        write(sseBytes({ event: 'second', data: '{"n":2}' }))
        end()
      })
    },
    '/reset': (_req, res, _id, write) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      write(sseBytes({ event: 'a', data: '{"n":1}' }))
      write(sseBytes({ event: 'b', data: '{"n":2}' }))
      setTimeout(() => res.socket?.destroy(), 20)
    },
    '/hang': (_req, res, _id, write) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      write(sseBytes({ event: 'start', data: '{}' }))
    },
    '/json': (_req, res, _id, write, end) => {
      const body = JSON.stringify({ id: 'msg_1', type: 'message', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 3, output_tokens: 1 } })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      write(body)
      end()
    },
    '/echo': (req, res, _id, write, end) => {
      // A server that sends back what it was given (a model echoing a key from its prompt).
      const body = JSON.stringify({ echo: (req as IncomingMessage & { bodyText?: string }).bodyText ?? '' })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      write(body)
      end()
    },
    '/error': (_req, res, _id, write, end) => {
      const body = JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
      res.writeHead(529, { 'content-type': 'application/json' })
      write(body)
      end()
    },
    '/malformed': (_req, res, _id, write, end) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      write(Buffer.from([0xff, 0xfe, 0x00, 0x0a]))
      write('data: {"ok":true}\r\n\r\n')
      write('event: cut\ndata: {"partial":')
      end()
    },
    '/zstd': (_req, res, _id, write, end) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'zstd' })
      // Not real zstd (Node 20 can't encode it): the proxy must pass it through byte for byte.
      write(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5]))
      end()
    },
    '/flood': (_req, res, id) => {
      // Writes 32 MiB as fast as the connection takes it and reports how far it got, so a
      // test can tell whether the proxy passed backpressure on or buffered everything.
      const event = Buffer.from(`data: {"pad":"${'x'.repeat(4000)}"}\n\n`)
      const total = 32 * 1024 * 1024
      let sent = 0
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const pump = (): void => {
        while (sent < total) {
          sent += event.length
          flood.set(id, sent)
          if (!res.write(event)) {
            res.once('drain', pump)
            return
          }
        }
        res.end()
      }
      pump()
    },
    '/split-secret': (_req, res, _id, write, end) => {
      // A model echoing a key, split over two text deltas: each half alone matches no pattern.
      const key = SPLIT_KEY
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      write(sseBytes({ event: 'content_block_start', data: '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}' }))
      write(sseBytes({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `your key is ${key.slice(0, 20)}` } }) }))
      write(sseBytes({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `${key.slice(20)} keep it safe` } }) }))
      write(sseBytes({ event: 'content_block_stop', data: '{"type":"content_block_stop","index":0}' }))
      write(sseBytes({ event: 'message_stop', data: '{"type":"message_stop"}' }))
      end()
    },
    '/concurrent': (req, res, _id, write, end) => {
      const n = new URL(req.url!, 'https://x').searchParams.get('n')
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const events = Array.from({ length: 20 }, (_, i) => ({ event: 'tick', data: JSON.stringify({ flow: n, i }) }))
      void streamEvents(events, write, 7).then(end)
    },
  }

  const server = createHttpsServer({ key, cert }, (req, res) => {
    const id = String(req.headers['x-test-id'] ?? '')
    see(req)
    const path = new URL(req.url ?? '/', 'https://x').pathname
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      ;(req as IncomingMessage & { bodyText?: string }).bodyText = Buffer.concat(chunks).toString('utf8')
      const route = routes[path]
      if (!route) {
        res.writeHead(404).end()
        return
      }
      const enc = new URL(req.url ?? '/', 'https://x').searchParams.get('enc')
      const wire: Buffer[] = []
      let write = (b: Buffer | string): void => {
        const buf = typeof b === 'string' ? Buffer.from(b) : b
        wire.push(buf)
        res.write(buf)
      }
      let end = (): void => {
        sent.set(id, Buffer.concat(wire))
        res.end()
      }
      if (enc === 'gzip' || enc === 'br') {
        const z = enc === 'gzip' ? zlib.createGzip() : zlib.createBrotliCompress()
        const origWriteHead = res.writeHead.bind(res)
        res.writeHead = ((status: number, headers: Record<string, string>) => origWriteHead(status, { ...headers, 'content-encoding': enc })) as typeof res.writeHead
        z.on('data', (c: Buffer) => {
          wire.push(c)
          res.write(c)
        })
        z.on('end', () => {
          sent.set(id, Buffer.concat(wire))
          res.end()
        })
        // Flush per write so compressed streams still stream.
        write = (b) => {
          z.write(b)
          z.flush()
        }
        end = () => z.end()
      }
      res.on('close', () => {
        if (!res.writableFinished) closedEarly.add(id)
      })
      route(req, res, id, write, end)
    })
  })
  const wss = new WebSocketServer({ server, path: '/ws' })
  wss.on('connection', (ws, req) => {
    see(req)
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.send(data, { binary: true })
        return
      }
      const msg = JSON.parse(data.toString()) as { type?: string; close?: number; flood?: string }
      if (msg.flood) {
        // A well-behaved sender: only sends while its own socket drains, and reports progress.
        const id = msg.flood
        const frame = JSON.stringify({ type: 'response.output_text.delta', delta: 'y'.repeat(16 * 1024) })
        const total = 32 * 1024 * 1024
        let sent = 0
        const pump = (): void => {
          while (sent < total && ws.bufferedAmount < 256 * 1024) {
            ws.send(frame)
            sent += frame.length
            flood.set(id, sent)
          }
          if (sent < total) setTimeout(pump, 2)
          else ws.close(1000)
        }
        pump()
        return
      }
      ws.send(JSON.stringify({ type: 'response.created', sequence_number: 0 }))
      ws.send(JSON.stringify({ type: 'response.output_text.delta', sequence_number: 1, delta: 'héllo 😀' }))
      ws.send(JSON.stringify({ type: 'response.completed', sequence_number: 2, response: { usage: { input_tokens: 1, output_tokens: 2 } } }))
      if (msg.close) ws.close(msg.close)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as AddressInfo).port,
    server,
    cert,
    sent,
    gates,
    closedEarly,
    flood,
    seen,
    close: () =>
      new Promise<void>((r) => {
        wss.close()
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** An https.Agent that opens each connection as a CONNECT tunnel through the proxy, trusting only `ca`. */
export class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxyPort: number,
    private readonly ca: string,
  ) {
    super({ keepAlive: false })
  }
  override createConnection(options: import('node:http').RequestOptions & { servername?: string }, callback?: (err: Error | null, s: import('node:stream').Duplex) => void): undefined {
    const cb = (err: Error | null, s?: TLSSocket): void => callback?.(err, s as unknown as import('node:stream').Duplex)
    const target = `${options.host ?? '127.0.0.1'}:${options.port ?? 443}`
    const req = httpRequest({ host: '127.0.0.1', port: this.proxyPort, method: 'CONNECT', path: target, headers: { host: target } })
    req.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        cb(new Error(`CONNECT ${target} → ${res.statusCode}`))
        return
      }
      const host = options.host ?? '127.0.0.1'
      const t = tlsConnect({ socket, ca: this.ca, host, ...(options.servername ? { servername: options.servername } : {}) })
      cb(null, t)
    })
    req.on('error', (err) => cb(err))
    req.end()
    return undefined
  }
}

export interface ClientResult {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  error?: Error
}

/** Sends a request through the proxy; `onChunk` sees each body chunk as it arrives. */
export function proxiedRequest(
  agent: HttpsAgent,
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; onChunk?: (c: Buffer, req: ReturnType<typeof httpsRequest>) => void } = {},
): Promise<ClientResult> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'POST', agent, headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        opts.onChunk?.(c, req)
      })
      let settled = false
      const done = (error?: Error): void => {
        if (settled) return
        settled = true
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...(error ? { error } : {}) })
      }
      res.on('end', () => done())
      res.on('error', (err) => done(err))
      res.on('aborted', () => done(new Error('aborted')))
      res.on('close', () => {
        if (!res.complete) done(new Error('connection closed before the response completed'))
      })
    })
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: err }))
    if (opts.body !== undefined) req.write(opts.body)
    req.end()
  })
}

/** Every file under `dir`, recursively. */
export function allFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...allFiles(p))
    else out.push(p)
  }
  return out
}

export function readJsonlFile(path: string): Record<string, unknown>[] {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A capture proxy for a test, its records collected into `records`, and a client agent that trusts its CA. */
export async function startTestProxy(opts: CaptureProxyOptions, records: CaptureRecord[]): Promise<{ proxy: CaptureProxy; agent: TunnelAgent }> {
  const proxy = createCaptureProxy(opts)
  proxy.onRecord((r) => records.push(r))
  await proxy.start()
  return { proxy, agent: new TunnelAgent(proxy.port, readFileSync(proxy.caCertPath, 'utf8')) }
}

/**
 * Polls `read` every `everyMs` until it returned the same value `times` times in a row, and
 * returns that value: "the upstream can't write any more", "the capture has counted everything".
 */
export async function steadyValue(read: () => number, times: number, everyMs: number): Promise<number> {
  let last = Number.NaN
  for (let same = 0; same < times; ) {
    await new Promise((r) => setTimeout(r, everyMs))
    const now = read()
    same = now === last ? same + 1 : 0
    last = now
  }
  return last
}
