/**
 * One flow's records → its model calls and its facts. Responses are decoded by
 * stream-normalizer (streams, and whole bodies through `normalizeResponseBody`), requests by
 * session-extractor (`analyzeRequest`, `analyzeClientFrame`); this file only assembles.
 */
import { analyzeClientFrame, analyzeRequest, type RequestAnatomy, type SessionChain } from '@agenttap/session-extractor'
import { createStreamNormalizer, normalizeResponseBody, normalizeUsage, type AgentEvent, type NormalizerError, type StreamNormalizer, type StreamProvider } from '@agenttap/stream-normalizer'
import { CallBuilder, type CallRequestSource, type RequestFacts } from './call-builder.js'
import { captureError, captureOutcome } from './capture-outcome.js'
import type { LedgerErrorCode } from './errors.js'
import { apiOf, header, isRef, msBetween, num, providerOfApi, rateLimits, str, urlParts, withStreamLimits } from './record-fields.js'
import { factsOf } from './request-facts.js'
import { LEDGER_VERSION, type CallApi, type CallError, type CallOutcome, type CallTransport, type FlowFacts, type ModelCall } from './types.js'

/** A record as read (canonical fields, unknown extras kept). */
export type AnyRecord = Record<string, unknown>

/** What a flow needs from its ledger. */
export interface FlowContext {
  emitCall(call: ModelCall): void
  /** Absent when nobody takes flow facts (a live view's calls): they are not built. */
  emitFlow: ((facts: FlowFacts) => void) | undefined
  /** Content (system prompt, tools) of a request, emitted once per distinct hash. */
  content(anatomy: RequestAnatomy): void
  error(code: LedgerErrorCode, message: string, where: { flow_id: string; seq?: number | undefined; excerpt?: string | undefined; cause?: unknown }): void
  readonly chain: SessionChain | undefined
  readonly maxCallChars: number
  /** Calls keep their text, reasoning and tool calls (see `LedgerOptions.callText`). */
  readonly callText: boolean
  readonly maxHeldCalls: number
  /** Analyze requests keeping each cache segment's JSON (for `LedgerContent` `segment`). */
  readonly segmentTexts: boolean
  /** What is read of each request (see `LedgerOptions.requestFacts`). */
  readonly requestFacts: 'all' | 'call'
}

/** The earliest `ts` of some records (ISO-8601 strings of one clock compare as text). */
function earliestTs(records: readonly AnyRecord[] | undefined): string | undefined {
  let min: string | undefined
  for (const r of records ?? []) {
    const ts = str(r['ts'])
    if (ts !== undefined && (min === undefined || ts < min)) min = ts
  }
  return min
}

/** The records and state of one flow. */
export class FlowAssembler {
  /** Records that came before the flow record. */
  pending: AnyRecord[] | undefined = []
  /** Where the first of those was read (for reports about a flow whose flow record never came). */
  firstAt: { file?: string; line?: number; offset?: number } | undefined
  /** With a shared normalizer: the events of `pending[i]`, decoded before the flow started. */
  private early: (AgentEvent[] | undefined)[] = []
  /**
   * The flow's stream is decoded by a normalizer the caller feeds (a live view's, shared through
   * {@link FlowAssembler.share}): `sse` records only move the flow's clock, and the events come
   * through {@link FlowAssembler.external}.
   */
  private shared = false
  /** finish() is done: nothing more is taken. */
  private closed = false
  /** The flow record was seen (or the flow was started without it). */
  started = false
  /** The flow record was seen (the flow did not start without it). */
  private hasRec = false
  private url: string | undefined
  private method: string | undefined
  private userAgent: string | undefined
  /** The flow's request (the first response's, on a WebSocket). */
  private first: RequestFacts | undefined
  private session_id = '-'
  private session_source: string | undefined
  private agent: string | undefined
  private client = 'unknown'
  private provider = 'unknown'
  private api: CallApi = 'unknown'
  private kind: 'model' | 'aux' = 'model'
  /** Calls of kind `model` emitted so far. */
  private modelCalls = 0
  private started_at = ''
  private transport: CallTransport = 'http'
  private status: number | undefined
  /**
   * The rate-limit state a call carries: the response headers, then each `rate_limits` stream
   * event as it comes (the later wins). Replaced, never mutated: emitted calls hold the old one.
   */
  private limits: Record<string, string> | undefined
  private requestId: string | undefined
  private normalizer: StreamNormalizer | undefined
  private builder: CallBuilder | undefined
  private nextIndex = 0
  private calls = 0
  private lastOutcome: CallOutcome | undefined
  /** `response.create` frames with a seq, not yet matched to a response (they precede it). */
  private frames: CallRequestSource[] = []
  /** Frames fed without a seq (an older capture's `flow_end.client_frames` file): the k-th answers response k+1. */
  private loose: RequestFacts[] = []
  private sawSeqFrame = false
  /** WebSocket calls whose request may still come as a loose frame. */
  private held: CallBuilder[] = []
  /** `sse` records seen, to know when a flow_end's `events` (the flow's `sse` records) are all in. */
  private seen = 0
  private sawSse = false
  private endRec: AnyRecord | undefined
  private ts: string | undefined
  private seq: number | undefined
  private finishing = false
  private open = false
  private reportedNewer = false
  finished = false

  constructor(
    readonly flow_id: string,
    private readonly ctx: FlowContext,
  ) {}

  /** The flow's flow_end was fed. */
  get hasEnd(): boolean {
    return this.endRec !== undefined
  }

  /** Records waiting for the flow record (for the ledger's cap). */
  get waiting(): number {
    return this.pending?.length ?? 0
  }

  /** Notes a record of a newer schema once per flow. */
  newer(v: number): void {
    if (this.reportedNewer) return
    this.reportedNewer = true
    this.ctx.error('NEWER_SCHEMA', `flow ${this.flow_id}: record of schema v${v}; this ledger knows v1 and reads it as v1 (upgrade @agenttap/ledger to read what v${v} adds)`, { flow_id: this.flow_id })
  }

  /**
   * Starts the flow from its flow record, or without one (`rec` undefined: the flow record never
   * came; what the request said is unknown). Buffered records are then replayed.
   */
  start(rec: AnyRecord | undefined, fallbackSession: string | undefined): void {
    this.started = true
    this.hasRec = rec !== undefined
    const r = rec ?? {}
    // Without its flow record, a flow started no later than its earliest record.
    this.started_at = str(r['ts']) ?? (rec === undefined ? earliestTs(this.pending) : undefined) ?? ''
    this.session_id = str(r['session_id']) ?? fallbackSession ?? '-'
    this.session_source = str(r['session_source'])
    this.agent = str(r['subagent']) ?? str(r['agent'])
    this.client = str(r['client']) ?? 'unknown'
    this.provider = str(r['provider']) ?? 'unknown'
    this.status = num(r['status'])
    if (this.status === 101) this.transport = 'ws'
    this.url = str(r['url'])
    this.method = str(r['method'])
    this.userAgent = header(r['request_headers'], 'user-agent')
    this.limits = rateLimits(r['response_headers'])
    this.requestId = header(r['response_headers'], 'request-id') ?? header(r['response_headers'], 'x-request-id')
    if (rec !== undefined) {
      const a = analyzeRequest({ body: r['request_body'], ...this.requestHints() }, { facts: this.ctx.requestFacts, ...(this.ctx.segmentTexts ? { segmentTexts: true } : {}) })
      this.api = a.api
      this.kind = a.kind
      if (a.body_ref !== undefined) {
        this.ctx.error('BODY_REF', `flow ${this.flow_id}: request body stored out of line (${a.body_ref}); resolve it (jsonl-io readRawRef) and set request_body before feeding to get its prompt, tool results and fingerprints`, { flow_id: this.flow_id })
      }
      this.ctx.content(a)
      const chain = this.ctx.chain
      if (chain !== undefined && this.session_source === 'derived' && a.history.length > 0) {
        this.session_id = chain.assign(a.history, this.flow_id).session_id
        this.session_source = 'history'
      }
      this.first = factsOf(a)
    }
    const pending = this.pending ?? []
    const early = this.early
    this.pending = undefined
    this.early = []
    for (let i = 0; i < pending.length; i++) {
      this.record(pending[i] as AnyRecord)
      for (const e of early[i] ?? []) this.external(e)
    }
  }

  /**
   * Makes `n` this flow's normalizer, fed by the caller: its events must be given to
   * {@link FlowAssembler.external} (before the caller uses them), and `sse` records fed here only
   * move the flow's clock. The ledger still ends it (`end()`) when the flow ends, so the events it
   * flushes are the ledger's too.
   */
  share(n: StreamNormalizer): void {
    this.shared = true
    this.normalizer = n
  }

  /** The normalizer shared with the caller, if any. */
  get sharedNormalizer(): StreamNormalizer | undefined {
    return this.shared ? this.normalizer : undefined
  }

  /** An event of the shared normalizer (see {@link FlowAssembler.share}). */
  external(e: AgentEvent): void {
    if (this.pending !== undefined) {
      // Not started (no flow record yet): kept with the record it came from, replayed at start.
      const i = this.pending.length - 1
      if (i >= 0) (this.early[i] ??= []).push(e)
      return
    }
    if (this.closed) return // a late event of a flow already assembled
    this.event(e)
  }

  private requestHints(): { url?: string; headers?: Record<string, string>; client?: string; provider?: string } {
    const out: { url?: string; headers?: Record<string, string>; client?: string; provider?: string } = { client: this.client, provider: this.provider }
    if (this.url !== undefined) out.url = this.url
    if (this.userAgent !== undefined) out.headers = { 'user-agent': this.userAgent }
    return out
  }

  /** One record of this flow (`sse`, `client_frame`, `flow_end`), after the flow started. */
  record(r: AnyRecord): void {
    if (this.finished) return
    if (!this.hasRec) {
      // Started without its flow record: its start is the earliest record time seen.
      const ts = str(r['ts'])
      if (ts !== undefined && (this.started_at === '' || ts < this.started_at)) this.started_at = ts
    }
    const type = r['type']
    if (type === 'sse') this.sse(r)
    else if (type === 'client_frame') this.clientFrame(r)
    else if (type === 'flow_end') {
      this.endRec = r
      const events = num(r['events'])
      if (events !== undefined && this.seen < events) return
      this.finish(false)
      return
    }
    const end = this.endRec
    if (end !== undefined && this.seen >= (num(end['events']) ?? 0)) this.finish(false)
  }

  private makeNormalizer(): StreamNormalizer {
    const provider = providerOfApi(this.api)
    const flow: { url?: string; provider?: string; client?: string } = { client: this.client, provider: this.provider }
    if (this.url !== undefined) flow.url = this.url
    return createStreamNormalizer({
      flow_id: this.flow_id,
      // Arguments are taken joined, at the call's end: no object per fragment.
      toolArgDeltas: false,
      ...(provider === undefined ? { flow } : { provider }),
      onEvent: (e) => this.event(e),
      onError: (e) => this.streamError(e),
    })
  }

  private streamError(e: NormalizerError): void {
    if (this.open) return // an open flow is cut by the end of the input, not broken
    this.ctx.error('STREAM', e.message, { flow_id: this.flow_id, seq: e.seq ?? this.seq, excerpt: e.excerpt, cause: e })
  }

  private sse(r: AnyRecord): void {
    this.seen++
    this.sawSse = true
    if (r['transport'] === 'ws') this.transport = 'ws'
    else if (this.transport === 'http') this.transport = 'sse'
    this.ts = str(r['ts'])
    this.seq = num(r['seq'])
    if (this.shared) return // decoded by the caller, who gives the events to external()
    this.normalizer ??= this.makeNormalizer()
    this.normalizer.feedRecord(r as { data: string; seq?: number; event?: string })
  }

  private clientFrame(r: AnyRecord): void {
    const seq = num(r['seq'])
    if (seq !== undefined) this.sawSeqFrame = true
    this.transport = 'ws'
    const data = r['data']
    const ref = r['data_ref']
    if ((data === '' || data === undefined) && isRef(ref)) {
      this.ctx.error('BODY_REF', `flow ${this.flow_id}: client frame ${seq ?? ''} stored out of line (${ref.$ref}); resolve it (jsonl-io readRawRef) and set its data before feeding to get the request of the response it asked for`, { flow_id: this.flow_id, seq })
    }
    const a = analyzeClientFrame(data, this.requestHints(), { facts: this.ctx.requestFacts, ...(this.ctx.segmentTexts ? { segmentTexts: true } : {}) })
    if (a === undefined) return
    this.ctx.content(a)
    if (seq !== undefined) this.frames.push({ facts: factsOf(a), ts: str(r['ts']) })
    else this.loose.push(factsOf(a))
  }

  /** The request of the response at `index`. */
  private takeRequest(index: number): CallRequestSource {
    const f = this.frames.shift()
    if (f !== undefined) return f
    if (index === 0) return { facts: this.first, ts: this.started_at || undefined }
    return { facts: this.loose[index - 1], ts: undefined }
  }

  /** A unified event of the flow's response(s). */
  private event(e: AgentEvent): void {
    if (e.type === 'unknown') return
    if (e.type === 'rate_limits') {
      // Account state sent before a response: it belongs to no call of its own, and it is newer
      // than the headers (and than an earlier event) for the calls that end after it.
      this.limits = withStreamLimits(this.limits, e)
      return
    }
    let b = this.builder
    if (b === undefined || b.ended) {
      const index = this.nextIndex++
      b = new CallBuilder(index, this.takeRequest(index), this.ctx.maxCallChars, this.ctx.callText)
      this.builder = b
    }
    if (!b.event(e, this.ts)) {
      this.ctx.error('CALL_TOO_LARGE', `flow ${this.flow_id} call ${b.index}: text and reasoning exceed maxCallChars (${this.ctx.maxCallChars}); the rest is not kept`, { flow_id: this.flow_id, seq: this.seq })
    }
    if (e.type === 'message_end') this.complete(b)
  }

  private complete(b: CallBuilder): void {
    if (this.builder === b) this.builder = undefined
    if (this.finishing) {
      this.emit(b)
      return
    }
    // A WebSocket response whose request is not known yet: an older capture keeps the client's
    // later frames in a file of their own, which the caller may still feed (as loose frames).
    if (b.request.facts === undefined && this.transport === 'ws' && b.index > 0 && !this.sawSeqFrame) {
      const loose = this.loose[b.index - 1]
      if (loose !== undefined) b.request = { facts: loose, ts: undefined }
      else {
        this.held.push(b)
        if (this.held.length > this.ctx.maxHeldCalls) this.emit(this.held.shift() as CallBuilder)
        return
      }
    }
    this.emit(b)
  }

  private outcomeOf(b: CallBuilder): CallOutcome {
    if (b.error !== undefined || b.stop_reason === 'failed' || (this.status !== undefined && this.status >= 400)) return 'error'
    if (b.terminal) return 'completed'
    if (this.open) return 'open'
    // Interrupted by the next response on the same connection.
    if (!this.finishing) return 'truncated'
    const o = this.endRec?.['outcome']
    if (o === 'aborted') return 'aborted'
    if (o === 'upstream_error') return b.any && this.sawSse ? 'truncated' : 'upstream_error'
    if (o === 'error') return 'error'
    return 'truncated'
  }

  private emit(b: CallBuilder): void {
    const outcome = this.outcomeOf(b)
    const req = b.request.facts
    const started = b.request.ts ?? b.first_token_at ?? this.started_at
    const call: ModelCall = {
      ledger_version: LEDGER_VERSION,
      key: `${this.flow_id}#${b.index}`,
      source: 'wire',
      flow_id: this.flow_id,
      index: b.index,
      session_id: this.session_id,
      client: this.client,
      provider: this.provider,
      api: this.api !== 'unknown' ? this.api : apiOf(this.normalizer?.provider ?? 'unknown'),
      transport: this.transport,
      kind: req?.kind ?? this.kind,
      started_at: started,
      outcome,
      text: b.text.joined(),
      reasoning: b.reasoning.joined(),
      tool_calls: b.tools,
      tool_results: req?.tool_results ?? [],
      request: req?.request ?? { tool_names: [], message_count: 0 },
    }
    if (b.response_id !== undefined) call.response_id = b.response_id
    if (this.requestId !== undefined) call.request_id = this.requestId
    if (this.session_source !== undefined) call.session_source = this.session_source
    if (this.agent !== undefined) call.agent = this.agent
    const model = b.model ?? req?.request.model
    if (model !== undefined) call.model = model
    if (b.first_token_at !== undefined) {
      call.first_token_at = b.first_token_at
      const t = msBetween(started, b.first_token_at)
      if (t !== undefined) call.ttft_ms = t
    }
    const ended = outcome === 'open' ? undefined : (b.ended_at ?? str(this.endRec?.['ts']) ?? this.ts)
    if (ended !== undefined) {
      call.ended_at = ended
      const d = msBetween(started, ended)
      if (d !== undefined) call.duration_ms = d
    }
    if (b.stop_reason !== undefined) call.stop_reason = b.stop_reason
    if (this.status !== undefined) call.http_status = this.status
    const error = b.error ?? (outcome === 'completed' || outcome === 'open' ? undefined : this.failure())
    if (error !== undefined) call.error = error
    if (b.usage !== undefined) call.usage = normalizeUsage(b.usage, this.normalizerProvider())
    if (req?.prompt !== undefined) call.prompt = req.prompt
    if (this.limits !== undefined) call.rate_limits = this.limits
    this.calls++
    if (call.kind === 'model') this.modelCalls++
    this.lastOutcome = outcome
    this.ctx.emitCall(call)
    const chain = this.ctx.chain
    // A failed request (HTTP 429 / 529, an error event) is sent again by SDKs and agents: the
    // chain keeps the retry in its session.
    if (chain !== undefined && this.session_source === 'history' && outcome === 'error' && req?.history_hash !== undefined) chain.failed(req.history_hash, this.session_id)
    if (chain !== undefined && this.session_source === 'history' && b.terminal && req?.history_hash !== undefined) {
      const tool_calls = b.tools.filter((t) => t.kind !== 'server' && t.kind !== 'mcp').map((t) => ({ call_id: t.call_id, name: t.name, arguments: t.arguments }))
      chain.respond(req.history_hash, this.session_id, { texts: b.text.done, tool_calls })
    }
  }

  private normalizerProvider(): StreamProvider {
    return this.normalizer?.provider ?? providerOfApi(this.api) ?? 'unknown'
  }

  /** Why a call failed when the provider said nothing: the capture's error, or the HTTP status. */
  private failure(): CallError | undefined {
    const e = captureError(this.endRec?.['error'])
    if (e !== undefined) return e
    if (this.status !== undefined && this.status >= 400) return { type: `http_${this.status}`, message: `HTTP ${this.status}` }
    return undefined
  }

  /**
   * Ends the flow: at its flow_end (`open` false), or at the end of the input with the flow still
   * open (`open` true: its calls and facts say `open`).
   */
  finish(open: boolean): void {
    if (this.finished) return
    this.finished = true
    this.finishing = true
    this.open = open
    const end = this.endRec
    if (!open && end !== undefined) {
      const status = num(end['status'])
      if (status !== undefined) this.status = status
      const events = num(end['events'])
      if (events !== undefined && this.seen < events) {
        this.ctx.error('MISSING_EVENTS', `flow ${this.flow_id}: flow_end announces ${events} sse records, ${this.seen} were fed; the calls are assembled from those`, { flow_id: this.flow_id })
      }
    }
    // Earlier WebSocket responses that waited for their request (loose frames) go first, in order.
    for (const b of this.held) {
      const loose = this.loose[b.index - 1]
      if (loose !== undefined) b.request = { facts: loose, ts: undefined }
      this.emit(b)
    }
    this.held = []
    const body = end?.['body']
    const modelFlow = this.api !== 'unknown' || (this.normalizer !== undefined && this.normalizer.provider !== 'unknown')
    if (!open && !this.sawSse && body !== undefined && this.api !== 'unknown') {
      if (isRef(body)) {
        this.ctx.error('BODY_REF', `flow ${this.flow_id}: response body stored out of line (${body.$ref}); resolve it (jsonl-io readRawRef) and set flow_end.body before feeding to get the response`, { flow_id: this.flow_id })
      } else {
        this.ts = str(end?.['ts'])
        const hints: { url?: string; provider?: string; client?: string } = { client: this.client, provider: this.provider }
        if (this.url !== undefined) hints.url = this.url
        const res = normalizeResponseBody(body, { flow_id: this.flow_id, flow: hints, toolArgDeltas: false, ...(this.status === undefined ? {} : { status: this.status }) })
        for (const err of res.errors) this.streamError(err)
        const ttfb = num(end?.['ttfb_ms'])
        const first = ttfb !== undefined && this.started_at !== '' ? new Date(Date.parse(this.started_at) + ttfb).toISOString() : undefined
        for (const e of res.events) {
          // The body arrived whole: its first byte is the first token.
          if (first !== undefined && e.type !== 'message_end') this.ts = first
          else this.ts = str(end?.['ts'])
          this.event(e)
        }
      }
    } else if (this.normalizer !== undefined) {
      this.ts = open ? this.ts : (str(end?.['ts']) ?? this.ts)
      this.normalizer.end()
    }
    if (this.builder !== undefined) this.complete(this.builder)
    // A model request that got no response at all (upstream unreachable, HTTP error without body).
    if (this.calls === 0 && modelFlow && this.hasRec && !open) {
      this.emit(new CallBuilder(this.nextIndex++, this.takeRequest(0), this.ctx.maxCallChars, this.ctx.callText))
    }
    this.closed = true
    if (this.ctx.emitFlow !== undefined) this.emitFacts(this.ctx.emitFlow)
  }

  private emitFacts(emitFlow: (facts: FlowFacts) => void): void {
    const end = this.open ? undefined : this.endRec
    const url = this.url
    const facts: FlowFacts = {
      ledger_version: LEDGER_VERSION,
      flow_id: this.flow_id,
      session_id: this.session_id,
      client: this.client,
      provider: this.provider,
      // A flow that made a model call is a model flow, whatever its first request was (Codex
      // opens a WebSocket with a prewarm frame, `generate: false`, which is aux).
      kind: this.modelCalls > 0 ? 'model' : this.kind,
      outcome: this.open ? 'open' : this.calls > 0 && this.lastOutcome !== undefined ? this.lastOutcome : captureOutcome(end?.['outcome']),
      started_at: this.started_at || (str(end?.['ts']) ?? ''),
      calls: this.calls,
    }
    if (this.session_source !== undefined) facts.session_source = this.session_source
    if (this.agent !== undefined) facts.agent = this.agent
    if (this.method !== undefined) facts.method = this.method
    if (url !== undefined) {
      facts.url = url
      const p = urlParts(url)
      if (p.host !== undefined) facts.host = p.host
      if (p.path !== undefined) facts.path = p.path
    }
    if (this.status !== undefined) facts.http_status = this.status
    if (end !== undefined) {
      const ended = str(end['ts'])
      if (ended !== undefined) facts.ended_at = ended
      const ttfb = num(end['ttfb_ms'])
      if (ttfb !== undefined) facts.ttfb_ms = ttfb
      const dur = num(end['duration_ms'])
      if (dur !== undefined) facts.duration_ms = dur
      const ev = num(end['events'])
      if (ev !== undefined) facts.events = ev
      const bytes = num(end['bytes'])
      if (bytes !== undefined) facts.bytes = bytes
    }
    if (this.userAgent !== undefined) facts.user_agent = this.userAgent
    emitFlow(facts)
  }
}
