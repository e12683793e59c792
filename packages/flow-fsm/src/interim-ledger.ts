import type { CaptureRecord } from '@agenttap/jsonl-io'
import { LEDGER_VERSION, type CallApi, type CallOutcome, type CallUsage, type LedgerToolCall, type ModelCall } from '@agenttap/ledger'
import { createStreamNormalizer, type AgentEvent, type StreamNormalizer, type StreamProvider, type StreamRecord, type Usage } from '@agenttap/stream-normalizer'
import { FlowFsmError } from './errors.js'

/** Options of {@link createInterimLedger} (the subset of `@agenttap/ledger`'s `LedgerOptions` it honours). */
export interface InterimLedgerOptions {
  /** Each model call as soon as its response ended; at `end()`, the calls still open (outcome `open`). */
  onCall(call: ModelCall): void
  /** Malformed stream data. */
  onError?(e: FlowFsmError): void
  /** Flows open at once; past it the least recently fed is dropped. @defaultValue 10000 */
  maxOpenFlows?: number
}

/** A streaming ledger: the shape of `@agenttap/ledger`'s `Ledger`. */
export interface LedgerLike {
  feed(record: unknown): void
  end(): void
  reset(): void
}

interface FlowState {
  flow_id: string
  session_id: string
  session_source?: string
  client: string
  provider: string
  url?: string
  started_at?: string
  http_status?: number
  request_model?: string
  transport: 'sse' | 'ws' | 'http'
  api: CallApi
  normalizer: StreamNormalizer | undefined
  calls: ModelCall[]
  /** The call streaming now. */
  open: ModelCall | undefined
  /** Raw usage of the open call as the stream reports it (provider conventions). */
  raw: Usage | undefined
  /** When the client last asked for a response on this flow (WebSocket `response.create` frame). */
  askedAt?: string
  ended: boolean
}

const API: Record<StreamProvider, CallApi> = {
  anthropic: 'anthropic-messages',
  'openai-responses': 'openai-responses',
  'openai-chat': 'openai-chat',
  unknown: 'unknown',
}

/** Responses events this stand-in does not decode: content (text, reasoning, arguments) and their `.done` echoes. */
const SKIPPED = new Set([
  'response.output_text.delta',
  'response.output_text.done',
  'response.output_text.annotation.added',
  'response.refusal.delta',
  'response.refusal.done',
  'response.reasoning_text.delta',
  'response.reasoning_text.done',
  'response.reasoning_summary_text.delta',
  'response.reasoning_summary_text.done',
  'response.reasoning_summary_part.added',
  'response.reasoning_summary_part.done',
  'response.content_part.added',
  'response.content_part.done',
  'response.function_call_arguments.delta',
  'response.function_call_arguments.done',
  'response.custom_tool_call_input.delta',
  'response.custom_tool_call_input.done',
])

/**
 * A content delta — text, reasoning, or tool arguments — known from its event name or its first
 * bytes (WebSocket frames carry no event name). This stand-in keeps no text and no arguments, so
 * it need not decode them: Anthropic `content_block_delta` (but a `signature_delta`, which ends
 * nothing either, is skipped too), Responses text, reasoning, summary and argument deltas. Chat
 * Completions chunks are always decoded (their deltas carry the finish reason and usage).
 */
function contentDelta(event: unknown, data: unknown): boolean {
  if (typeof data !== 'string') return false
  if (event === 'content_block_delta') return true
  const type = typeof event === 'string' ? event : /^\{"type":"([a-z_.]+)"/.exec(data)?.[1]
  return type !== undefined && SKIPPED.has(type)
}

const ms = (ts: string | undefined): number | undefined => {
  if (ts === undefined) return undefined
  const t = Date.parse(ts)
  return Number.isNaN(t) ? undefined : t
}

/**
 * Usage in the ledger's terms. Anthropic's `input_tokens` excludes the cache; OpenAI's includes
 * the cached part, which is taken out so that `input` means the same for both.
 */
function callUsage(raw: Usage, api: CallApi): CallUsage {
  const cached = raw.cache_read_input_tokens ?? 0
  const openai = api === 'openai-responses' || api === 'openai-chat'
  const u: CallUsage = {
    input: openai ? Math.max(0, (raw.input_tokens ?? 0) - cached) : (raw.input_tokens ?? 0),
    cache_read: cached,
    cache_write_5m: raw.cache_creation_input_tokens ?? 0,
    cache_write_1h: 0,
    output: raw.output_tokens ?? 0,
  }
  if (raw.reasoning_tokens !== undefined) u.reasoning = raw.reasoning_tokens
  return u
}

function errorOf(err: unknown): ModelCall['error'] {
  if (err === undefined || err === null || err === '') return undefined
  if (typeof err === 'string') return { message: err }
  if (typeof err === 'object') {
    const o = err as { type?: unknown; code?: unknown; message?: unknown }
    const e: NonNullable<ModelCall['error']> = { message: typeof o.message === 'string' ? o.message : JSON.stringify(err) }
    if (typeof o.type === 'string') e.type = o.type
    if (typeof o.code === 'string') e.code = o.code
    return e
  }
  return { message: String(err) }
}

/**
 * A stand-in for `@agenttap/ledger`'s `createLedger`, with its API (`feed`, `end`, `reset`,
 * `onCall`), used by the live views until the ledger branch is merged: it decodes each flow's
 * stream with stream-normalizer and assembles {@link ModelCall}s (ids, times, outcome, stop
 * reason, HTTP status, error, usage in the ledger's conventions, tool calls), emitted when their
 * response ends. It decodes no request side (prompt, tool results, fingerprints). Replaced by
 * `createLedger` in `live-calls.ts` when the ledger lands.
 */
export function createInterimLedger(opts: InterimLedgerOptions): LedgerLike {
  const maxFlows = opts.maxOpenFlows ?? 10_000
  const flows = new Map<string, FlowState>()
  // Flows ended: their late records are ignored (bounded, like the ledger's).
  const done = new Set<string>()
  let ts: string | undefined

  function state(flow_id: string, session_id: string): FlowState {
    let f = flows.get(flow_id)
    // Past the cap the oldest flow goes (creation order: reordering per record costs more than it saves).
    if (f) return f
    f = { flow_id, session_id, client: 'unknown', provider: 'unknown', transport: 'sse', api: 'unknown', normalizer: undefined, calls: [], open: undefined, raw: undefined, ended: false }
    flows.set(flow_id, f)
    if (flows.size > maxFlows) {
      const first = flows.keys().next()
      if (!first.done) flows.delete(first.value)
    }
    return f
  }

  function firstToken(call: ModelCall, at: string): void {
    call.first_token_at = at
    const d = (ms(at) ?? 0) - (ms(call.started_at) ?? 0)
    if (d >= 0) call.ttft_ms = d
  }

  function newCall(f: FlowState): ModelCall {
    const index = f.calls.length
    const started = (index === 0 ? f.started_at : f.askedAt) ?? f.askedAt ?? f.started_at ?? ts ?? new Date(0).toISOString()
    const call: ModelCall = {
      ledger_version: LEDGER_VERSION,
      key: `${f.flow_id}#${index}`,
      source: 'wire',
      flow_id: f.flow_id,
      index,
      session_id: f.session_id,
      client: f.client,
      provider: f.provider,
      api: f.api,
      transport: f.transport,
      kind: 'model',
      started_at: started,
      outcome: 'open',
      text: '',
      reasoning: '',
      tool_calls: [],
      tool_results: [],
      request: { tool_names: [], message_count: 0 },
    }
    if (f.request_model !== undefined) call.model = f.request_model
    if (f.session_source !== undefined) call.session_source = f.session_source
    f.calls.push(call)
    f.open = call
    f.raw = undefined
    return call
  }

  function close(f: FlowState, outcome: CallOutcome, at: string | undefined): void {
    const call = f.open
    if (!call) return
    if (f.raw !== undefined) call.usage = callUsage(f.raw, call.api)
    call.outcome = call.error !== undefined ? 'error' : outcome
    if (at !== undefined) {
      call.ended_at = at
      const d = (ms(at) ?? 0) - (ms(call.started_at) ?? 0)
      if (d >= 0) call.duration_ms = d
    }
    f.open = undefined
    f.raw = undefined
    opts.onCall(call)
  }

  function onEvent(f: FlowState, e: AgentEvent): void {
    if (e.provider !== 'unknown' && f.api === 'unknown') f.api = API[e.provider]
    if (e.type === 'unknown') return
    const call = f.open ?? newCall(f)
    if (call.api === 'unknown' && f.api !== 'unknown') call.api = f.api
    switch (e.type) {
      case 'message_start':
        if (e.model !== undefined) call.model = e.model
        if (e.message_id !== undefined) call.response_id = e.message_id
        break
      case 'text_delta':
      case 'thinking_delta':
      case 'tool_call_start':
        if (call.first_token_at === undefined && ts !== undefined) firstToken(call, ts)
        if (e.type === 'tool_call_start') {
          const tc: LedgerToolCall = { call_id: e.call_id ?? '', position: call.tool_calls.length, name: e.name, kind: e.kind, arguments: '', complete: false }
          call.tool_calls.push(tc)
        }
        break
      case 'tool_call_end': {
        const tc = [...call.tool_calls].reverse().find((t) => (e.call_id !== undefined ? t.call_id === e.call_id : t.name === e.name && !t.complete))
        // (Arguments stay '': their deltas are not decoded here.)
        if (tc) tc.complete = e.incomplete !== true
        break
      }
      case 'usage':
        if (f.raw === undefined || e.cumulative) f.raw = { ...f.raw, ...e.usage }
        else {
          const u = f.raw as Record<string, number | undefined>
          for (const [k, v] of Object.entries(e.usage)) if (typeof v === 'number') u[k] = (u[k] ?? 0) + v
        }
        break
      case 'error':
        call.error ??= { message: e.message, ...(e.error_type !== undefined ? { type: e.error_type } : {}), ...(e.code !== undefined ? { code: e.code } : {}) }
        break
      case 'message_end':
        if (e.stop_reason !== undefined) call.stop_reason = e.stop_reason
        close(f, e.incomplete ? 'truncated' : 'completed', ts)
        break
      default:
        break
    }
  }

  function normalizer(f: FlowState): StreamNormalizer {
    if (f.normalizer) return f.normalizer
    const hint: { url?: string; provider?: string; client?: string } = {}
    if (f.url !== undefined) hint.url = f.url
    if (f.provider !== 'unknown') hint.provider = f.provider
    if (f.client !== 'unknown') hint.client = f.client
    f.normalizer = createStreamNormalizer({
      flow_id: f.flow_id,
      flow: hint,
      onEvent: (e) => onEvent(f, e),
      onError: (err) => opts.onError?.(new FlowFsmError('STREAM_ERROR', err.message, { flow_id: f.flow_id, cause: err })),
    })
    return f.normalizer
  }

  function flowRecord(f: FlowState, r: Record<string, unknown>): void {
    if (typeof r['client'] === 'string') f.client = r['client']
    if (typeof r['provider'] === 'string') f.provider = r['provider']
    if (typeof r['url'] === 'string') {
      f.url = r['url']
      if (/^wss?:/i.test(f.url)) f.transport = 'ws'
    }
    if (typeof r['session_source'] === 'string') f.session_source = r['session_source']
    if (typeof r['status'] === 'number') f.http_status = r['status']
    if (f.http_status === 101) f.transport = 'ws'
    if (typeof r['ts'] === 'string') f.started_at = r['ts']
    const body = r['request_body']
    if (typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>)['model'] === 'string') {
      f.request_model = (body as Record<string, string>)['model'] as string
    }
    if (f.session_id === '' && typeof r['session_id'] === 'string') f.session_id = r['session_id']
    // The flow record came after the first lines (files read side by side): its calls learn it now.
    for (const c of f.calls) {
      c.client = f.client
      c.provider = f.provider
      c.transport = f.transport
      if (c.session_id === '') c.session_id = f.session_id
      if (c.model === undefined && f.request_model !== undefined) c.model = f.request_model
      if (f.session_source !== undefined) c.session_source = f.session_source
      if (c.index === 0 && f.started_at !== undefined) c.started_at = f.started_at
    }
  }

  function flowEnd(f: FlowState, r: Record<string, unknown>): void {
    f.ended = true
    if (typeof r['status'] === 'number') f.http_status = r['status']
    const outcome = typeof r['outcome'] === 'string' ? r['outcome'] : undefined
    const error = errorOf(r['error'])
    const at = typeof r['ts'] === 'string' ? r['ts'] : ts
    // The normalizer reports a stream without its terminal event as an incomplete end.
    const wasOpen = f.open
    f.normalizer?.end()
    if (f.open) close(f, 'truncated', at)
    if (f.calls.length === 0) {
      // No stream at all: an HTTP error body, an upstream failure, or a non-streamed answer.
      const call = newCall(f)
      if (error !== undefined) call.error = error
      const failed = error !== undefined || (f.http_status !== undefined && f.http_status >= 400)
      const o: CallOutcome = outcome === 'aborted' ? 'aborted' : outcome === 'upstream_error' ? 'upstream_error' : failed || outcome === 'error' ? 'error' : 'completed'
      close(f, o, at)
      call.outcome = o
      if (typeof r['duration_ms'] === 'number') call.duration_ms = r['duration_ms']
    } else if (wasOpen !== undefined && wasOpen.outcome === 'truncated') {
      // Cut off before its terminal event: the capture says how (the client left, the upstream
      // connection broke); a transport error is kept but is not a provider error.
      if (outcome === 'aborted') wasOpen.outcome = 'aborted'
      if (error !== undefined) wasOpen.error ??= error
    }
    for (const c of f.calls) {
      if (f.http_status !== undefined) c.http_status = f.http_status
      if (c.http_status !== undefined && c.http_status >= 400 && c.outcome === 'completed') c.outcome = 'error'
    }
  }

  return {
    feed(input) {
      if (!input || typeof input !== 'object') return
      const record = input as CaptureRecord
      if (typeof record.flow_id !== 'string' || done.has(record.flow_id)) return
      const r = record as unknown as Record<string, unknown>
      if (typeof r['ts'] === 'string') ts = r['ts']
      const f = state(record.flow_id, typeof record.session_id === 'string' ? record.session_id : '')
      switch (record.type) {
        case 'flow':
          return flowRecord(f, r)
        case 'client_frame':
          if (typeof r['ts'] === 'string') f.askedAt = r['ts']
          return
        case 'sse': {
          if (f.ended || typeof r['data'] !== 'string') return
          // Joined mid-flow (no flow record): the stream's own clock says when the flow started.
          if (f.started_at === undefined && ts !== undefined) f.started_at = typeof r['t_ms'] === 'number' ? new Date((ms(ts) ?? 0) - r['t_ms']).toISOString() : ts
          if (r['transport'] === 'ws') f.transport = 'ws'
          if (f.open !== undefined && contentDelta(r['event'], r['data'])) {
            // Deltas only tell when the first token came (this stand-in keeps no text and no
            // arguments): not decoding them halves its cost on a chatty stream.
            if (f.open.first_token_at === undefined && ts !== undefined) firstToken(f.open, ts)
            return
          }
          // A canonical sse record already has the normalizer's shape: no copy per record.
          normalizer(f).feedRecord(record as unknown as StreamRecord)
          return
        }
        case 'flow_end':
          flowEnd(f, r)
          // Like the ledger: a finished flow is dropped, and late records of it are ignored.
          flows.delete(f.flow_id)
          done.add(f.flow_id)
          if (done.size > maxFlows) {
            const first = done.values().next()
            if (!first.done) done.delete(first.value)
          }
          return
        default:
          return
      }
    },
    end() {
      // Like the ledger: calls still open are emitted as they are (outcome `open`).
      for (const f of flows.values()) {
        const call = f.open
        if (!call) continue
        if (f.raw !== undefined) call.usage = callUsage(f.raw, call.api)
        f.open = undefined
        opts.onCall(call)
      }
      flows.clear()
    },
    reset() {
      flows.clear()
      done.clear()
      ts = undefined
    },
  }
}
