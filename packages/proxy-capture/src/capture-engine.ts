import { TextDecoder } from 'node:util'
import { SCHEMA_VERSION, type CaptureRecord, type ClientFrameRecord, type FlowEndRecord, type FlowRecord, type SseRecord } from '@agenttap/jsonl-io'
import { createRedactor, createSseRedactor, createStreamRedactor, inspectRequest, type Redactor, type RedactorOptions, type SseRedactor, type StreamRedactor } from '@agenttap/session-extractor'
import { createSseFramer, createStreamNormalizer, normalizeResponseBody, type AgentEvent, type SseFramer, type StreamNormalizer } from '@agenttap/stream-normalizer'
import { createBodyDecoder, type BodyDecoder } from './body-decoder.js'
import { parseRequestBody } from './request-body.js'
import { createCaptureSessions, type ChainedFlow, type SessionChainingOptions } from './session-chaining.js'
import type { CaptureOp, FlowInit, Headers } from './capture-ops.js'
import type { CaptureRedactor, RawWriter } from './types.js'

export type { CaptureOp, FlowInit } from './capture-ops.js'

/** Where the engine's output goes. */
export interface CaptureEngineOutput {
  /** A finished, redacted record. */
  emit(record: CaptureRecord): void
  /** A raw body writer under `sse_logs/`, if the sinks keep raw bodies. */
  raw(name: string): RawWriter | undefined
  log(level: 'debug' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void
}

/** Options of {@link createCaptureEngine}. */
export interface CaptureEngineOptions {
  maxInlineBodyBytes?: number
  maxEventBytes?: number
  rawBodies?: 'exact' | 'redacted' | 'off'
  /** Options of session-extractor's `createRedactor` (plain data: they cross to the capture thread). */
  redaction?: RedactorOptions
  /** A redactor object instead (in-process use of the engine only: functions cannot cross threads). */
  redactor?: CaptureRedactor
  /**
   * Requests without a session id of their own (SDK scripts) get their session from their
   * history (session-extractor's session chain, one per client): `session_source: "history"`.
   * `false` keeps the derived id. @defaultValue `{}` (on)
   */
  sessionChain?: SessionChainingOptions | false
}

/** The capture side of the proxy: turns {@link CaptureOp}s into canonical records. */
export interface CaptureEngine {
  apply(ops: readonly CaptureOp[]): void
  /** Resolves once every ended flow's flow_end is out (decoders drained). */
  drain(): Promise<void>
  readonly stats: { capturedFlows: number; events: number }
}

interface Flow {
  id: string
  seq: number
  t0: number
  method: string
  url: string
  host: string
  transport: 'sse' | 'ws' | 'http'
  reqHeaders: Headers
  reqChunks: Buffer[]
  reqTruncated: boolean
  captured: boolean
  flowWritten: boolean
  sessionId: string
  /** The flow's session came from the session chain: it is told the answer or the failure. */
  chained?: ChainedFlow
  /** Client and provider as session-extractor classified the request (for the stream normalizer). */
  client?: string
  provider?: string
  ended: boolean
  status?: number
  ttfb?: number
  bytes: number
  /** `sse` records so far (server events / frames): the flow_end's `events`. */
  events: number
  /** Next `seq`: shared by the server's `sse` records and the client's `client_frame` records. */
  nextSeq: number
  sawErrorEvent: boolean
  /**
   * The provider's terminal event of the latest response was captured (stream-normalizer's
   * `message_end` without `incomplete`, and no `message_start` since): a socket that closes
   * after it does not make the flow aborted.
   */
  terminal: boolean
  /** Reads the server's events as the provider meant them (terminal and error events). */
  normalizer?: StreamNormalizer
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
  /** Wire time of the bytes being framed now (sse records are timed by it). */
  tNow: number
  /** Holds back SSE/WS records just long enough to catch a secret split across events. */
  sseRedactor?: SseRedactor<SseRecord>
  /** rawBodies 'redacted': the decoded body, redacted as a stream, to this file. */
  redactedRaw?: { writer: RawWriter; redactor?: StreamRedactor; decoder?: TextDecoder }
  /** WebSocket frames the client sent after the first one (redacted, one JSON line each). */
  wsClientLog?: RawWriter
  /** The error of a socket that closed after the terminal event (kept on the flow_end, not as its error). */
  closedAfterTerminal?: string
}

let isoMs = 0
let isoText = new Date(0).toISOString()
/** ISO-8601 of a wire time; records of one millisecond share one formatted string. */
function iso(t: number): string {
  const ms = Math.floor(t)
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

/** What stream-normalizer reads a flow's provider from. */
function flowHints(flow: Flow): { url: string; host: string; provider?: string; client?: string } {
  return { url: flow.url, host: flow.host, ...(flow.provider !== undefined ? { provider: flow.provider } : {}), ...(flow.client !== undefined ? { client: flow.client } : {}) }
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)
}

/**
 * Creates the capture engine: session extraction, redaction (session-extractor), SSE framing
 * (stream-normalizer), content decoding and the canonical records, from the ops the proxy's
 * data path posts. It runs on the proxy's thread, or on a capture thread of its own so the
 * relay never waits for it (see `captureThread` in the proxy options).
 *
 * @example
 * const engine = createCaptureEngine({}, { emit: (r) => sink.write(r), raw: (n) => sink.raw?.(n), log: () => {} })
 * engine.apply([['open', id, { seq: 0, t: Date.now(), method: 'POST', url, host, transport: 'http', headers }]])
 */
export function createCaptureEngine(opts: CaptureEngineOptions, out: CaptureEngineOutput): CaptureEngine {
  const maxInline = opts.maxInlineBodyBytes ?? 1024 * 1024
  const rawMode = opts.rawBodies ?? 'redacted'
  // One redactor for everything the flow writes (request, records, bodies): keyed markers match across them.
  const builtIn: Redactor | undefined = opts.redactor ? undefined : createRedactor(opts.redaction ?? {})
  const redactor: CaptureRedactor = opts.redactor ?? (builtIn as CaptureRedactor)
  const streamRedactor = (opts.redactor ?? builtIn) as Redactor
  const flows = new Map<string, Flow>()
  const pendingEnds = new Set<Promise<void>>()
  const stats = { capturedFlows: 0, events: 0 }
  const sessions = opts.sessionChain === false ? undefined : createCaptureSessions(opts.sessionChain ?? {})

  function elapsed(flow: Flow, t: number): number {
    return round(t - flow.t0)
  }

  /** Writes the flow record (once), after session extraction on the full request. */
  function writeFlowRecord(flow: Flow, response?: { status?: number; headers?: Headers }, bodyOverride?: Buffer): void {
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
      out.log('warn', { err: (err as Error).message, flow_id: flow.id }, 'session extraction failed; using the flow id as session')
    }
    flow.sessionId = info?.sessionId ?? `flow-${flow.id}`
    if (info?.client !== undefined) flow.client = info.client
    if (info?.provider !== undefined) flow.provider = info.provider
    if (info?.derived === true && sessions !== undefined) {
      const chained = sessions.assign(flow.id, { url: flow.url, body: parsed.body, client: info.client, provider: info.provider, ...(flow.clientIp !== undefined ? { clientIp: flow.clientIp } : {}) })
      if (chained !== undefined) {
        flow.chained = chained
        flow.sessionId = chained.sessionId
      }
    }
    const record: FlowRecord = {
      v: SCHEMA_VERSION,
      type: 'flow',
      ts: new Date(flow.t0).toISOString(),
      flow_id: flow.id,
      session_id: flow.sessionId,
      flow_seq: flow.seq,
      client: info?.client ?? 'unknown',
      provider: info?.provider ?? 'unknown',
      session_source: flow.chained !== undefined ? 'history' : (info?.sessionSource ?? 'derived'),
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
      const raw = out.raw(`${flow.id}.request.${typeof redacted === 'string' ? 'txt' : 'json'}`)
      if (raw) {
        raw.write(text)
        raw.end()
        if (raw.ref) record['request_raw'] = raw.ref
      }
      record.request_body = Buffer.byteLength(text) <= maxInline || !raw?.ref ? redacted : { $ref: raw.ref, bytes: Buffer.byteLength(text) }
    }
    if (parsed.note) record['request_body_note'] = parsed.note
    if (flow.reqTruncated) record['request_body_truncated'] = true
    out.emit(record)
  }

  /** The next `sse` record of a flow (an SSE event or a WebSocket text frame). */
  function sseRecord(flow: Flow, data: string, transport: 'sse' | 'ws'): SseRecord {
    flow.events++
    return { v: SCHEMA_VERSION, type: 'sse', ts: iso(flow.tNow), flow_id: flow.id, session_id: flow.sessionId, seq: flow.nextSeq++, t_ms: elapsed(flow, flow.tNow), data, transport }
  }

  /**
   * The server's events, as stream-normalizer reads them (before redaction, in memory only):
   * whether the latest response reached its terminal event, and whether the provider reported
   * an error. The proxy decodes no provider JSON of its own.
   */
  function observe(flow: Flow, rec: SseRecord): void {
    if (!flow.normalizer) {
      flow.normalizer = createStreamNormalizer({
        flow_id: flow.id,
        flow: flowHints(flow),
        onEvent: (e: AgentEvent) => {
          flow.chained?.event(e)
          if (e.type === 'message_start') flow.terminal = false
          else if (e.type === 'message_end') flow.terminal = e.incomplete !== true
          else if (e.type === 'error') flow.sawErrorEvent = true
        },
        ...(opts.maxEventBytes !== undefined ? { maxEventBytes: opts.maxEventBytes } : {}),
      })
    }
    flow.normalizer.feedRecord(rec.event !== undefined ? { seq: rec.seq, event: rec.event, data: rec.data, transport: rec.transport ?? 'sse' } : { seq: rec.seq, data: rec.data, transport: rec.transport ?? 'sse' })
  }

  /** One SSE event as framed from the wire (stream-normalizer's framer). */
  function onSseEvent(flow: Flow, event: string | undefined, data: string, id: string | undefined, truncated: boolean): void {
    const rec = sseRecord(flow, data, 'sse')
    if (event !== undefined) rec.event = event
    if (id !== undefined) rec['id'] = id
    if (truncated) {
      rec['truncated'] = true
      flow.truncatedEvent = true
    }
    observe(flow, rec)
    emitSse(flow, rec)
  }

  /** Every sse record goes out through the flow's SSE redactor (raw data in, redacted out). */
  function emitSse(flow: Flow, rec: SseRecord): void {
    if (!flow.sseRedactor) {
      flow.sseRedactor = createSseRedactor<SseRecord>({
        onRecord: (r) => {
          stats.events++
          out.emit(r)
          if (flow.redactedRaw && r.transport !== 'ws') flow.redactedRaw.writer.write(sseText(r))
        },
        redactor: streamRedactor,
        onError: (err) => out.log('debug', { err: err.message, flow_id: flow.id }, 'SSE redactor flushed early'),
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

  function open(id: string, init: FlowInit): void {
    const flow: Flow = {
      id,
      seq: init.seq,
      t0: init.t,
      tNow: init.t,
      method: init.method,
      url: init.url,
      host: init.host,
      transport: init.transport,
      reqHeaders: init.headers,
      reqChunks: [],
      reqTruncated: false,
      captured: init.captured ?? false,
      flowWritten: false,
      sessionId: '',
      ended: false,
      bytes: 0,
      events: 0,
      nextSeq: 0,
      sawErrorEvent: false,
      terminal: false,
      errors: [],
      bodyLen: 0,
      bodyOverCap: false,
      truncatedEvent: false,
    }
    if (init.clientIp !== undefined) flow.clientIp = init.clientIp
    if (init.transport === 'ws') {
      flow.status = 101
      flow.ttfb = 0
    }
    flows.set(id, flow)
  }

  /** A response head: decoders, SSE framer and raw writers of a captured flow; the flow record. */
  function head(flow: Flow, t: number, status: number, headers: Headers, captured: boolean): void {
    flow.ttfb = elapsed(flow, t)
    flow.status = status
    const contentType = headerValue(headers['content-type'])
    if (contentType !== undefined) flow.contentType = contentType
    const isSse = /^\s*text\/event-stream/i.test(contentType ?? '')
    flow.transport = isSse ? 'sse' : 'http'
    flow.captured = captured
    if (!captured) {
      flow.reqChunks = []
      return
    }
    writeFlowRecord(flow, { status, headers })
    if (status >= 400) flow.chained?.fail()
    if (rawMode === 'exact') {
      const raw = out.raw(`${flow.id}.response.raw`)
      if (raw) flow.raw = raw
    } else if (rawMode === 'redacted') {
      const writer = out.raw(`${flow.id}.response.redacted.txt`)
      // SSE bodies are rebuilt from the redacted records: no stream redactor needed for them.
      if (writer) flow.redactedRaw = isSse ? { writer } : { writer, redactor: createStreamRedactor({ redactor: streamRedactor }), decoder: new TextDecoder() }
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
      out.log('warn', { flow_id: flow.id, encoding: decoder.encoding }, 'response encoding not decodable on this Node; no events captured (rawBodies exact keeps the bytes)')
      return
    }
    flow.decoder = decoder
    if (isSse) {
      flow.framer = createSseFramer({
        onEvent: (_seq, event, data, truncated, id) => onSseEvent(flow, event, data, id, truncated),
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

  function wsMessage(flow: Flow, t: number, fromServer: boolean, buf: Buffer, isBinary: boolean): void {
    flow.bytes += buf.length
    if (isBinary || !flow.captured) return
    flow.tNow = t
    const text = buf.toString('utf8')
    if (fromServer) {
      if (!flow.flowWritten) writeFlowRecord(flow, { status: 101 })
      const rec = sseRecord(flow, text, 'ws')
      observe(flow, rec)
      emitSse(flow, rec)
      return
    }
    // The first client frame (Codex: response.create) is also the request body: session id,
    // prompt_cache_key, model. Later frames also go to the flow's client-frame log (kept for
    // readers of the `client_frames` ref).
    const first = !flow.flowWritten
    if (first) writeFlowRecord(flow, { status: 101 }, buf)
    let json: string | undefined
    let redacted: string
    try {
      json = JSON.stringify(redactor.json(JSON.parse(text)))
      redacted = json
    } catch {
      redacted = redactor.text(text)
    }
    if (!first) {
      if (!flow.wsClientLog) {
        const raw = out.raw(`${flow.id}.ws-client.jsonl`)
        if (raw) flow.wsClientLog = raw
      }
      flow.wsClientLog?.write(`${json ?? JSON.stringify(redacted)}\n`)
    }
    clientFrame(flow, redacted)
  }

  /**
   * A `client_frame` record: the frame's redacted text, numbered in the flow's `seq` with the
   * server's frames. The server's records still held by the SSE redactor go first, so the file
   * keeps `seq` order (a client frame is a turn boundary: nothing secret spans it).
   */
  function clientFrame(flow: Flow, data: string): void {
    flow.sseRedactor?.end()
    const rec: ClientFrameRecord = { v: SCHEMA_VERSION, type: 'client_frame', ts: iso(flow.tNow), flow_id: flow.id, session_id: flow.sessionId, seq: flow.nextSeq++, t_ms: elapsed(flow, flow.tNow), data, transport: 'ws' }
    const bytes = Buffer.byteLength(data)
    if (bytes > maxInline) {
      // Like a large request body: the record points at the frame's own body.
      const raw = out.raw(`${flow.id}.client-frame-${rec.seq}.json`)
      if (raw) {
        raw.write(data)
        raw.end()
        if (raw.ref) {
          rec.data = ''
          rec['data_ref'] = { $ref: raw.ref, bytes }
        }
      }
    }
    out.emit(rec)
  }

  /** Ends a flow exactly once; writes its flow_end after the decoder drained. */
  function end(flow: Flow, t: number, outcome: FlowEndRecord['outcome'], error: string | undefined, captured: boolean | undefined, reqTruncated: boolean): void {
    if (flow.ended) return
    flow.ended = true
    flows.delete(flow.id)
    // `!= null`: ops that crossed to the capture thread as JSON carry null for undefined.
    if (captured != null && flow.status === undefined) flow.captured = captured
    if (reqTruncated) flow.reqTruncated = true
    const duration = elapsed(flow, t)
    const done = (async () => {
      if (flow.captured && !flow.flowWritten) writeFlowRecord(flow)
      if (flow.decoder) await flow.decoder.end()
      flow.framer?.end()
      // Release held records before the flow_end, so readers see the flow's events first.
      flow.sseRedactor?.end()
      flow.raw?.end()
      flow.wsClientLog?.end()
      if (flow.redactedRaw) {
        const rr = flow.redactedRaw
        if (rr.redactor && rr.decoder && !flow.framer) rr.writer.write(rr.redactor.feed(rr.decoder.decode()) + rr.redactor.end())
        rr.writer.end()
      }
      if (!flow.captured) return
      let finalOutcome = outcome
      // The response was over (its terminal event is in the records) when the socket went:
      // Codex closes as soon as it reads response.completed, before the last body bytes.
      if ((outcome === 'aborted' || outcome === 'upstream_error') && flow.terminal) {
        finalOutcome = 'completed'
        if (error) flow.closedAfterTerminal = `${outcome}: ${error}`
      } else if (error) flow.errors.unshift(error)
      if (finalOutcome === 'completed' && ((flow.status ?? 0) >= 400 || flow.sawErrorEvent)) finalOutcome = 'error'
      const rec: FlowEndRecord = {
        v: SCHEMA_VERSION,
        type: 'flow_end',
        ts: iso(t),
        flow_id: flow.id,
        session_id: flow.sessionId,
        outcome: finalOutcome,
        events: flow.events,
        bytes: flow.bytes,
        ttfb_ms: flow.ttfb ?? null,
        duration_ms: duration,
      }
      if (flow.status !== undefined) rec.status = flow.status
      if (flow.errors.length > 0) {
        // Error texts carry wire content too: a WebSocket close reason, an upgrade header, an upstream message.
        const errors = flow.errors.map((e) => redactor.text(e))
        rec.error = errors.length === 1 ? (errors[0] as string) : { message: errors[0] as string, all: errors }
      }
      const rawRef = flow.raw?.ref ?? flow.redactedRaw?.writer.ref
      if (rawRef) rec['raw'] = rawRef
      if (flow.wsClientLog?.ref) rec['client_frames'] = flow.wsClientLog.ref
      if (flow.encoding && flow.encoding !== 'identity') rec['encoding'] = flow.encoding
      if (flow.encodingUnsupported) rec['encoding_unsupported'] = flow.encodingUnsupported
      if (flow.truncatedEvent) rec['truncated'] = true
      // It quotes the close reason: wire content, redacted like the errors above.
      if (flow.closedAfterTerminal !== undefined) rec['closed_after_terminal'] = redactor.text(flow.closedAfterTerminal)
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
          // A non-streamed answer: the chain remembers it (as the client will send it back, unredacted) as it does a streamed one.
          if (flow.chained !== undefined && typeof body === 'object') for (const e of normalizeResponseBody(body, { flow_id: flow.id, flow: flowHints(flow), toolArgDeltas: false }).events) flow.chained.event(e)
          rec['body'] = typeof body === 'string' ? redactor.text(body) : redactor.json(body)
        }
        flow.bodyChunks = []
      }
      out.emit(rec)
    })()
    pendingEnds.add(done)
    void done
      .catch((err: unknown) => out.log('error', { err: (err as Error).message, flow_id: flow.id }, 'could not finish flow'))
      .finally(() => pendingEnds.delete(done))
  }

  return {
    apply(ops) {
      for (const op of ops) {
        if (op[0] === 'open') {
          open(op[1], op[2])
          continue
        }
        if (op[0] === 'record') {
          out.emit(op[1])
          continue
        }
        const flow = flows.get(op[1])
        if (!flow) continue
        switch (op[0]) {
          case 'req':
            flow.reqChunks.push(asBuffer(op[2]))
            break
          case 'head':
            head(flow, op[2], op[3], op[4], op[5])
            break
          case 'body': {
            const chunk = asBuffer(op[3])
            flow.bytes += chunk.length
            flow.tNow = op[2]
            flow.raw?.write(chunk)
            flow.decoder?.write(chunk)
            break
          }
          case 'ws':
            wsMessage(flow, op[2], op[3], asBuffer(op[4]), op[5])
            break
          case 'note':
            flow.errors.push(op[2])
            break
          case 'end':
            end(flow, op[2], op[3], op[4], op[5], op[6])
            break
        }
      }
    },
    async drain() {
      while (pendingEnds.size > 0) await Promise.all([...pendingEnds])
    },
    stats,
  }
}
