import { randomUUID } from 'node:crypto'
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { isIP, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect, createSecureContext, rootCertificates, TLSSocket, type SecureContext } from 'node:tls'
import { TextDecoder } from 'node:util'
import * as zlib from 'node:zlib'
import { Proxy as MitmProxy } from 'http-mitm-proxy'
import { pino, type Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { SCHEMA_VERSION, type CaptureRecord, type FlowEndRecord, type FlowRecord, type SseRecord } from '@agenttap/jsonl-io'
import { createRedactor, createSseRedactor, createStreamRedactor, inspectRequest, type SseRedactor, type StreamRedactor } from '@agenttap/session-extractor'
import { createBodyDecoder, type BodyDecoder } from './body-decoder.js'
import { createHttp1Parser } from './http1.js'
import { createLeafMinter, defaultCaDir, ensureCa, type CaFiles, type LeafMinter } from './ca.js'
import { ProxyCaptureError } from './errors.js'
import { createSseFramer, type SseFramer } from '@agenttap/stream-normalizer'
import { createFileSink, defaultLogDir } from './file-sink.js'
import { createHostFilter, hostOnly } from './host-filter.js'
import { createRecordHub } from './record-hub.js'
import type { CaptureProxy, CaptureProxyOptions, CaptureRedactor, CaptureSink, CaptureStats, RawWriter } from './types.js'

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

let isoMs = 0
let isoText = new Date(0).toISOString()
/** ISO-8601 now; records of one millisecond share one formatted string. */
function nowIso(): string {
  const ms = Date.now()
  if (ms !== isoMs) {
    isoMs = ms
    isoText = new Date(ms).toISOString()
  }
  return isoText
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** An SSE event as text, from a (redacted) record: `event:` line, one `data:` line per line of data. */
function sseText(r: SseRecord): string {
  const ev = r.event !== undefined ? `event: ${r.event}\n` : ''
  return `${ev}${r.data.split('\n').map((d) => `data: ${d}\n`).join('')}\n`
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}

/** Parses a request body for the capture: decompressed, JSON when it is JSON, else text. */
function parseRequestBody(buf: Buffer, encoding: string | undefined, contentType: string | undefined): { body?: unknown; note?: string } {
  if (buf.length === 0) return {}
  let plain = buf
  const enc = (encoding ?? '').trim().toLowerCase()
  try {
    if (enc === 'gzip' || enc === 'x-gzip') plain = zlib.gunzipSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    else if (enc === 'br') plain = zlib.brotliDecompressSync(buf)
    else if (enc === 'deflate') plain = zlib.inflateSync(buf)
    else if (enc === 'zstd') {
      const z = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync
      if (!z) return { note: 'encoding_unsupported:zstd' }
      plain = z(buf)
    } else if (enc !== '' && enc !== 'identity') return { note: `encoding_unsupported:${enc}` }
  } catch (err) {
    return { note: `decode_failed:${(err as Error).message}` }
  }
  const text = plain.toString('utf8')
  const looksJson = /json/i.test(contentType ?? '') || /^\s*[[{]/.test(text)
  if (looksJson) {
    try {
      return { body: JSON.parse(text) as unknown }
    } catch {
      return { body: text, note: 'request body is not valid JSON; kept as text' }
    }
  }
  if (text.includes('\uFFFD') && /[\0-\x08\x0e-\x1f]/.test(text)) return { note: `binary request body (${buf.length} bytes) not inlined` }
  return { body: text }
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

type FlowState = 'open' | 'ending' | 'ended'

interface Flow {
  id: string
  seq: number
  startedAt: number
  startedWall: number
  method: string
  url: string
  host: string
  transport: 'sse' | 'ws' | 'http'
  reqHeaders: Record<string, string | string[] | undefined>
  reqChunks: Buffer[]
  reqBytes: number
  reqTruncated: boolean
  captured: boolean
  flowWritten: boolean
  sessionId: string
  state: FlowState
  status?: number
  ttfb?: number
  bytes: number
  events: number
  sawErrorEvent: boolean
  errors: string[]
  raw?: RawWriter
  decoder?: BodyDecoder
  framer?: SseFramer
  bodyChunks?: Buffer[]
  bodyLen: number
  bodyOverCap: boolean
  contentType?: string
  encoding?: string
  encodingUnsupported?: string
  truncatedEvent: boolean
  clientIp?: string
  /** Holds back SSE/WS records just long enough to catch a secret split across events. */
  sseRedactor?: SseRedactor<SseRecord>
  /** rawBodies 'redacted': the decoded body, redacted as a stream, to this file. */
  redactedRaw?: { writer: RawWriter; redactor?: StreamRedactor; decoder?: TextDecoder }
  kill?: () => void
  /** The response head, until the flow record is written (after the client got its bytes). */
  head?: { status: number; headers: Record<string, string | string[] | undefined> } | undefined
  /** WebSocket frames the client sent after the first one (redacted, one JSON line each). */
  wsClientLog?: RawWriter
  /** Response bytes the client already has, waiting for the capture (see runCapture). */
  capQueue?: Buffer[]
  capScheduled?: boolean
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
  const redactor: CaptureRedactor = opts.redactor ?? (createRedactor() as CaptureRedactor)
  const hub = createRecordHub({
    ...(opts.maxBufferedRecords !== undefined ? { maxBuffered: opts.maxBufferedRecords } : {}),
    onError: (err) => log.error({ err }, 'record subscriber threw; the capture continues'),
  })

  let sinks: CaptureSink[] = []
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
  const stats = { flows: 0, capturedFlows: 0, events: 0, bytes: 0 }
  const openFlows = new Set<Flow>()
  const pendingEnds = new Set<Promise<void>>()
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

  function emit(record: CaptureRecord): void {
    for (const s of sinks) {
      try {
        s.write(record)
      } catch (err) {
        log.error({ err, flow_id: record.flow_id }, 'sink write failed')
      }
    }
    hub.emit(record)
  }

  function rawWriter(name: string): RawWriter | undefined {
    for (const s of sinks) if (s.raw) return s.raw(name)
    return undefined
  }

  function newFlow(method: string, url: string, hostName: string, headers: Record<string, string | string[] | undefined>, transport: Flow['transport']): Flow {
    stats.flows++
    const flow: Flow = {
      id: randomUUID(),
      seq: flowSeq++,
      startedAt: performance.now(),
      startedWall: Date.now(),
      method,
      url,
      host: hostName,
      transport,
      reqHeaders: headers,
      reqChunks: [],
      reqBytes: 0,
      reqTruncated: false,
      captured: false,
      flowWritten: false,
      sessionId: '',
      state: 'open',
      bytes: 0,
      events: 0,
      sawErrorEvent: false,
      errors: [],
      bodyLen: 0,
      bodyOverCap: false,
      truncatedEvent: false,
    }
    openFlows.add(flow)
    return flow
  }

  function elapsed(flow: Flow): number {
    return round(performance.now() - flow.startedAt)
  }

  /** Writes the flow record (once), after session extraction on the full request. */
  function writeFlowRecord(flow: Flow, response?: { status?: number; headers?: Record<string, string | string[] | undefined> }, bodyOverride?: Buffer): void {
    if (flow.flowWritten || !flow.captured) return
    flow.flowWritten = true
    stats.capturedFlows++
    const reqBuf = bodyOverride ?? Buffer.concat(flow.reqChunks)
    flow.reqChunks = []
    const parsed = parseRequestBody(reqBuf, headerValue(flow.reqHeaders['content-encoding']), headerValue(flow.reqHeaders['content-type']))
    let info: ReturnType<typeof inspectRequest> | undefined
    try {
      info = inspectRequest({
        method: flow.method,
        url: flow.url,
        headers: flow.reqHeaders,
        ...(parsed.body !== undefined ? { body: parsed.body } : {}),
        ...(flow.clientIp !== undefined ? { clientIp: flow.clientIp } : {}),
      })
    } catch (err) {
      log.warn({ err, flow_id: flow.id }, 'session extraction failed; using the flow id as session')
    }
    flow.sessionId = info?.sessionId ?? `flow-${flow.id}`
    const record: FlowRecord = {
      v: SCHEMA_VERSION,
      type: 'flow',
      ts: new Date(flow.startedWall).toISOString(),
      flow_id: flow.id,
      session_id: flow.sessionId,
      flow_seq: flow.seq,
      client: info?.client ?? 'unknown',
      provider: info?.provider ?? 'unknown',
      session_source: info?.sessionSource ?? 'derived',
      method: flow.method,
      url: redactor.url(flow.url),
      host: flow.host,
      transport: flow.transport,
      request_headers: redactor.headers(flow.reqHeaders),
    }
    if (info?.subagent !== undefined) record['subagent'] = info.subagent
    if (response?.status !== undefined) record.status = response.status
    if (response?.headers) record.response_headers = redactor.headers(response.headers)
    if (parsed.body !== undefined) {
      const redacted = typeof parsed.body === 'string' ? redactor.text(parsed.body) : redactor.json(parsed.body)
      const text = typeof redacted === 'string' ? redacted : JSON.stringify(redacted)
      const raw = rawWriter(`${flow.id}.request.${typeof redacted === 'string' ? 'txt' : 'json'}`)
      if (raw) {
        raw.write(text)
        raw.end()
        if (raw.ref) record['request_raw'] = raw.ref
      }
      record.request_body = Buffer.byteLength(text) <= maxInline || !raw?.ref ? redacted : { $ref: raw.ref, bytes: Buffer.byteLength(text) }
    }
    if (parsed.note) record['request_body_note'] = parsed.note
    if (flow.reqTruncated) record['request_body_truncated'] = true
    emit(record)
  }

  /** The next `sse` record of a flow (an SSE event or a WebSocket text frame). */
  function sseRecord(flow: Flow, data: string, transport: 'sse' | 'ws'): SseRecord {
    return { v: SCHEMA_VERSION, type: 'sse', ts: nowIso(), flow_id: flow.id, session_id: flow.sessionId, seq: flow.events++, t_ms: elapsed(flow), data, transport }
  }

  /** One SSE event as framed from the wire (stream-normalizer's framer). */
  function onSseEvent(flow: Flow, e: { event: string | undefined; data: string; id: string | undefined; truncated: boolean }): void {
    const rec = sseRecord(flow, e.data, 'sse')
    if (e.event !== undefined) rec.event = e.event
    if (e.id !== undefined) rec['id'] = e.id
    if (e.truncated) {
      rec['truncated'] = true
      flow.truncatedEvent = true
    }
    if (e.event === 'error' || e.event === 'response.failed' || /^\{\s*"type"\s*:\s*"(error|response\.failed)"/.test(e.data)) flow.sawErrorEvent = true
    emitSse(flow, rec)
  }

  /** Every sse record goes out through the flow's SSE redactor (raw data in, redacted out). */
  function emitSse(flow: Flow, rec: SseRecord): void {
    if (!flow.sseRedactor) {
      flow.sseRedactor = createSseRedactor<SseRecord>({
        onRecord: (r) => {
          stats.events++
          emit(r)
          if (flow.redactedRaw && r.transport !== 'ws') flow.redactedRaw.writer.write(sseText(r))
        },
        ...(opts.redactor ? { redactor: opts.redactor as never } : {}),
        onError: (err) => log.debug({ err: err.message, flow_id: flow.id }, 'SSE redactor flushed early'),
      })
    }
    flow.sseRedactor.feed(rec)
  }

  function onDecoded(flow: Flow, chunk: Buffer): void {
    const rr = flow.redactedRaw
    // SSE bodies are rebuilt from the redacted records instead (see emitSse): secrets split
    // across events are only visible there.
    if (rr?.redactor && rr.decoder && !flow.framer) rr.writer.write(rr.redactor.feed(rr.decoder.decode(chunk, { stream: true })))
    if (flow.framer) {
      flow.framer.feed(chunk)
      return
    }
    if (flow.bodyOverCap) return
    if (flow.bodyLen + chunk.length > maxInline) {
      flow.bodyOverCap = true
      flow.bodyChunks = []
      return
    }
    flow.bodyChunks?.push(chunk)
    flow.bodyLen += chunk.length
  }

  /**
   * The capture's share of the response path, run once the client's bytes are on their way
   * (end of the event-loop turn, or when the flow ends): flow record (session extraction,
   * redaction), then the queued body bytes to the raw writer and the decoder, in order.
   */
  function runCapture(flow: Flow): void {
    flow.capScheduled = false
    if (flow.head) {
      const head = flow.head
      flow.head = undefined
      writeFlowRecord(flow, head)
    }
    const q = flow.capQueue
    if (q === undefined || q.length === 0) return
    flow.capQueue = []
    for (const c of q) {
      flow.raw?.write(c)
      flow.decoder?.write(c)
    }
  }

  function scheduleCapture(flow: Flow): void {
    if (flow.capScheduled) return
    flow.capScheduled = true
    setImmediate(runCapture, flow)
  }

  /** Ends a flow exactly once; writes its flow_end after the decoder drained. */
  function endFlow(flow: Flow, outcome: FlowEndRecord['outcome'], error?: string): void {
    if (flow.state !== 'open') return
    flow.state = 'ending'
    runCapture(flow)
    if (error) flow.errors.unshift(error)
    const done = (async () => {
      if (flow.captured && !flow.flowWritten) writeFlowRecord(flow)
      if (flow.decoder) {
        if (outcome === 'completed' || outcome === 'error' || outcome === 'upstream_error' || outcome === 'aborted') await flow.decoder.end()
      }
      flow.framer?.end()
      // Release held records before the flow_end, so readers see the flow's events first.
      flow.sseRedactor?.end()
      flow.raw?.end()
      if (flow.redactedRaw) {
        const rr = flow.redactedRaw
        if (rr.redactor && rr.decoder && !flow.framer) rr.writer.write(rr.redactor.feed(rr.decoder.decode()) + rr.redactor.end())
        rr.writer.end()
      }
      flow.state = 'ended'
      openFlows.delete(flow)
      if (!flow.captured) return
      let finalOutcome = outcome
      if (outcome === 'completed' && ((flow.status ?? 0) >= 400 || flow.sawErrorEvent)) finalOutcome = 'error'
      const rec: FlowEndRecord = {
        v: SCHEMA_VERSION,
        type: 'flow_end',
        ts: nowIso(),
        flow_id: flow.id,
        session_id: flow.sessionId,
        outcome: finalOutcome,
        events: flow.events,
        bytes: flow.bytes,
        ttfb_ms: flow.ttfb ?? null,
        duration_ms: elapsed(flow),
      }
      if (flow.status !== undefined) rec.status = flow.status
      if (flow.errors.length > 0) rec.error = flow.errors.length === 1 ? (flow.errors[0] as string) : { message: flow.errors[0] as string, all: flow.errors }
      const rawRef = flow.raw?.ref ?? flow.redactedRaw?.writer.ref
      if (rawRef) rec['raw'] = rawRef
      if (flow.wsClientLog?.ref) rec['client_frames'] = flow.wsClientLog.ref
      if (flow.encoding && flow.encoding !== 'identity') rec['encoding'] = flow.encoding
      if (flow.encodingUnsupported) rec['encoding_unsupported'] = flow.encodingUnsupported
      if (flow.truncatedEvent) rec['truncated'] = true
      if (flow.transport !== 'sse' && flow.bodyChunks) {
        if (flow.bodyOverCap) {
          if (rawRef) rec['body'] = { $ref: rawRef, bytes: flow.bytes }
          else rec['body_omitted'] = `larger than maxInlineBodyBytes (${maxInline}) and raw bodies are off`
        } else if (!flow.encodingUnsupported) {
          const text = Buffer.concat(flow.bodyChunks).toString('utf8')
          let body: unknown = text
          if (/json/i.test(flow.contentType ?? '') || /^\s*[[{]/.test(text)) {
            try {
              body = JSON.parse(text)
            } catch {
              body = text
            }
          }
          rec['body'] = typeof body === 'string' ? redactor.text(body) : redactor.json(body)
        }
        flow.bodyChunks = []
      }
      emit(rec)
    })()
    pendingEnds.add(done)
    void done
      .catch((err: unknown) => log.error({ err, flow_id: flow.id }, 'could not finish flow'))
      .finally(() => pendingEnds.delete(done))
  }

  /**
   * The capture's side of a response head: status, TTFB, whether the flow is captured, and the
   * decoder / SSE framer / raw writers its body goes through. Returns whether it is SSE.
   */
  function beginResponse(flow: Flow, status: number, headers: Record<string, string | string[] | undefined>): boolean {
    flow.ttfb = elapsed(flow)
    flow.status = status
    const contentType = headerValue(headers['content-type'])
    if (contentType !== undefined) flow.contentType = contentType
    const isSse = /^\s*text\/event-stream/i.test(contentType ?? '')
    flow.transport = isSse ? 'sse' : 'http'
    flow.captured = filter.captures(flow.host, contentType)
    if (flow.captured) {
      flow.head = { status, headers }
      scheduleCapture(flow)
      if (rawMode === 'exact') {
        const raw = rawWriter(`${flow.id}.response.raw`)
        if (raw) flow.raw = raw
      } else if (rawMode === 'redacted') {
        const writer = rawWriter(`${flow.id}.response.redacted.txt`)
        // SSE bodies are rebuilt from the redacted records: no stream redactor needed for them.
        if (writer) flow.redactedRaw = isSse ? { writer } : { writer, redactor: createStreamRedactor(), decoder: new TextDecoder() }
      }
      const enc = headerValue(headers['content-encoding'])
      const decoder = createBodyDecoder(
        enc,
        (c) => onDecoded(flow, c),
        (err) => flow.errors.push(`could not decode ${enc ?? ''} body for the capture: ${err.message}`),
      )
      flow.encoding = decoder.encoding
      if (!decoder.supported) {
        flow.encodingUnsupported = decoder.encoding
        log.warn({ flow_id: flow.id, encoding: decoder.encoding }, 'response encoding not decodable on this Node; no events captured (rawBodies exact keeps the bytes)')
      } else {
        flow.decoder = decoder
        if (isSse) {
          flow.framer = createSseFramer({
            onEvent: (_seq, event, data, truncated, id) => onSseEvent(flow, { event, data, id, truncated }),
            // Dropped or damaged data goes on the flow_end; a truncated last event is flagged on its record.
            onError: (err) => {
              if (err.code === 'EVENT_TOO_LARGE' || err.code === 'INVALID_UTF8') flow.errors.push(err.message)
            },
            ...(opts.maxEventBytes !== undefined ? { maxEventBytes: opts.maxEventBytes } : {}),
          })
        } else {
          flow.bodyChunks = []
        }
      }
    } else {
      flow.reqChunks = []
    }
    return isSse
  }

  /** Response body bytes (transfer coding removed) the client already has: to the capture. */
  function responseBody(flow: Flow, chunk: Buffer): void {
    flow.bytes += chunk.length
    stats.bytes += chunk.length
    if ((flow.raw || flow.decoder) && flow.state === 'open') {
      ;(flow.capQueue ??= []).push(chunk)
      scheduleCapture(flow)
    }
  }

  /** Plain-HTTP path: pipes Node's upstream response to the client with backpressure, teed to the capture. */
  function onResponse(flow: Flow, up: IncomingMessage, res: ServerResponse, upReq: ClientRequest): void {
    const isSse = beginResponse(flow, up.statusCode ?? 0, up.headers)
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
    up.on('data', (chunk: Buffer) => {
      // Client first: the capture work below must not add to the latency the agent sees.
      if (!res.write(chunk)) {
        // Slow client: stop reading upstream until it drains, so memory stays bounded.
        up.pause()
        res.once('drain', () => up.resume())
      }
      responseBody(flow, chunk)
    })
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
   * How much of a request body to keep for the capture. Hosts that are only captured if they
   * answer text/event-stream get a smaller buffer: a large upload to some unrelated host
   * shouldn't sit in memory for nothing.
   */
  function requestCap(hostName: string): number {
    return filter.captures(hostName) ? maxReq : Math.min(maxReq, 4 * 1024 * 1024)
  }

  function requestBody(flow: Flow, chunk: Buffer, cap: number): void {
    if (flow.reqTruncated) return
    if (flow.reqBytes + chunk.length > cap) flow.reqTruncated = true
    else {
      flow.reqChunks.push(chunk)
      flow.reqBytes += chunk.length
    }
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
    const reqCap = requestCap(target.host)
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
          const flow = newFlow(head.method, `${origin}${head.url}`, target.host, head.headers, 'http')
          if (client.remoteAddress) flow.clientIp = client.remoteAddress
          flow.kill = kill
          flows.push(flow)
        },
        onBody(chunk) {
          const flow = flows[flows.length - 1]
          if (flow) requestBody(flow, chunk, reqCap)
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
          if (framing === 'upgrade') flow.errors.push(`protocol switched (${String(head.headers['upgrade'] ?? 'unknown')}) after other requests on this connection; the rest is relayed without capture`)
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
        head.captured = filter.captures(head.host)
        endFlow(head, 'upstream_error', reason)
        const body = JSON.stringify({ type: 'error', error: { type: 'agenttap_upstream_error', message: `agenttap proxy could not reach the upstream: ${err?.message ?? reason}` } })
        client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-agenttap-error: agenttap_upstream_error\r\nconnection: close\r\n\r\n${body}`)
      } else {
        if (head.status === undefined) head.captured = filter.captures(head.host)
        endFlow(head, 'upstream_error', reason)
        client.destroy()
      }
      for (const f of rest) {
        f.captured = filter.captures(f.host)
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
    }

    client.on('data', onClientData)
    // A client that ends its side is gone: HTTP clients don't half-close and wait for answers.
    client.on('end', () => clientGone())
    client.on('close', () => clientGone())
    function clientGone(): void {
      const pending = flows.splice(0)
      for (const f of pending) {
        if (f.status === undefined) f.captured = filter.captures(f.host)
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
        target = parseHostPort(m[1] as string, 80)
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
    const flow = newFlow(req.method ?? 'GET', url, target.host, req.headers, 'http')
    if (req.socket.remoteAddress) flow.clientIp = req.socket.remoteAddress

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

    const reqCap = requestCap(target.host)
    req.on('data', (chunk: Buffer) => {
      if (!upReq.write(chunk)) {
        req.pause()
        upReq.once('drain', () => req.resume())
      }
      requestBody(flow, chunk, reqCap)
    })
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
      flow.captured = filter.captures(flow.host)
      endFlow(flow, 'upstream_error', `upstream request failed: ${err.code ? `${err.code} ` : ''}${err.message}`)
      respondError(res, 502, 'agenttap_upstream_error', `agenttap proxy could not reach the upstream: ${err.message}`)
    })
    res.on('error', (err) => log.debug({ err, flow_id: flow.id }, 'client response error'))
    // The request's 'close' only says its body was read; the response's 'close' before any
    // answer means the client went away.
    res.once('close', () => {
      if (flow.state === 'open' && flow.status === undefined) {
        flow.captured = filter.captures(flow.host)
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
        const flow = newFlow('GET', url, hostName, headers, 'ws')
        flow.captured = true
        flow.status = 101
        flow.ttfb = 0
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
        flow.bytes += buf.length
        stats.bytes += buf.length
        if (!isBinary) {
          const text = buf.toString('utf8')
          if (fromServer) {
            if (!flow.flowWritten) writeFlowRecord(flow, { status: 101 })
            const rec = sseRecord(flow, text, 'ws')
            if (/^\{\s*"type"\s*:\s*"(error|response\.failed)"/.test(text)) flow.sawErrorEvent = true
            emitSse(flow, rec)
          } else {
            // The first client frame (Codex: response.create) is the request body: session id,
            // prompt_cache_key, model. Later frames go to the flow's client-frame log.
            if (!flow.flowWritten) writeFlowRecord(flow, { status: 101 }, buf)
            else {
              let raw = flow.wsClientLog
              if (!raw) {
                raw = rawWriter(`${flow.id}.ws-client.jsonl`)
                if (raw) flow.wsClientLog = raw
              }
              let line: string
              try {
                line = JSON.stringify(redactor.json(JSON.parse(text)))
              } catch {
                line = JSON.stringify(redactor.text(text))
              }
              raw?.write(`${line}\n`)
            }
          }
        }
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
        flow.wsClientLog?.end()
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

  function statsNow(): CaptureStats {
    return {
      openFlows: openFlows.size,
      flows: stats.flows,
      capturedFlows: stats.capturedFlows,
      events: stats.events,
      bytes: stats.bytes,
      certsMinted: minter?.minted ?? 0,
      droppedRecords: hub.dropped,
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
      sinks = opts.sinks ?? [createFileSink({ logDir, onError: (err) => log.error({ err }, 'raw body write failed') })]
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
        await Promise.all(sinks.map((sk) => sk.close().catch(() => undefined)))
        sinks = []
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
      await Promise.all([...pendingEnds])
      await Promise.all(sinks.map((s) => s.flush().catch((err: unknown) => log.error({ err }, 'sink flush failed'))))
      await Promise.all(sinks.map((s) => s.close().catch((err: unknown) => log.error({ err }, 'sink close failed'))))
      hub.close()
      log.info(statsNow(), 'agenttap proxy stopped')
    },
    onRecord(fn) {
      return hub.subscribe(fn)
    },
    records(o) {
      return hub.iterate(o)
    },
    stats: statsNow,
  }
  return api
}
