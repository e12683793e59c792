import type { CaptureRecord } from '@agenttap/jsonl-io'
import { LEDGER_VERSION, type CallApi, type CallOutcome, type CallUsage, type LedgerToolCall, type ModelCall } from '@agenttap/ledger'
import { createStreamNormalizer, type AgentEvent, type StreamNormalizer, type StreamProvider, type Usage } from '@agenttap/stream-normalizer'
import { FlowFsmError } from './errors.js'

/**
 * Where every live view gets the facts of its end lines, usage and errors: the model calls of
 * the ledger (`@agenttap/ledger`), one per model response, so the terminal monitor, the web view
 * and analyze print the same numbers by construction. A live view feeds it every record it reads
 * and asks for a flow's calls when it shows the flow's end.
 */
export interface LiveCalls {
  /** Feeds one capture record (`flow`, `sse`, `client_frame`, `flow_end`; others are ignored). */
  feed(record: CaptureRecord): void
  /**
   * The calls of a flow as known now: the finished ones, then the one still streaming (with
   * outcome `open`). Empty for a flow with no call yet.
   */
  calls(flow_id: string): ModelCall[]
  /** The view is done with the flow: what is held for it can go. */
  forget(flow_id: string): void
  /** End of all input: calls still open are cut off (`truncated`). */
  end(): void
}

/** Options of {@link createLiveCalls}. */
export interface LiveCallsOptions {
  /** Flows held at most; past it the least recently fed is forgotten. @defaultValue 10000 */
  maxFlows?: number
  /** Malformed stream data (the views report it where they render it; this is for diagnostics). */
  onError?(e: FlowFsmError): void
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
 * The live views' source of model calls until `@agenttap/ledger`'s `createLedger` is merged: it
 * decodes each flow's stream with stream-normalizer and assembles ledger-shaped
 * {@link ModelCall}s (ids, times, outcome, stop reason, HTTP status, error, usage in the ledger's
 * conventions, tool calls). Only this module changes when the ledger lands.
 *
 * @example
 * ```ts
 * const calls = createLiveCalls()
 * for (const r of records) calls.feed(r)
 * const [call] = calls.calls('flow-1') // { outcome: 'completed', usage: { input: 9, … }, … }
 * ```
 */
export function createLiveCalls(opts: LiveCallsOptions = {}): LiveCalls {
  const maxFlows = opts.maxFlows ?? 10_000
  const flows = new Map<string, FlowState>()
  let ts: string | undefined

  function state(flow_id: string, session_id: string): FlowState {
    let f = flows.get(flow_id)
    if (f) {
      // Least recently fed first, for the cap.
      flows.delete(flow_id)
      flows.set(flow_id, f)
      return f
    }
    f = { flow_id, session_id, client: 'unknown', provider: 'unknown', transport: 'sse', api: 'unknown', normalizer: undefined, calls: [], open: undefined, raw: undefined, ended: false }
    flows.set(flow_id, f)
    if (flows.size > maxFlows) {
      const first = flows.keys().next()
      if (!first.done) flows.delete(first.value)
    }
    return f
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
        if (call.first_token_at === undefined && ts !== undefined) {
          call.first_token_at = ts
          const d = (ms(ts) ?? 0) - (ms(call.started_at) ?? 0)
          if (d >= 0) call.ttft_ms = d
        }
        if (e.type === 'tool_call_start') {
          const tc: LedgerToolCall = { call_id: e.call_id ?? '', position: call.tool_calls.length, name: e.name, kind: e.kind, arguments: '', complete: false }
          call.tool_calls.push(tc)
        }
        break
      case 'tool_call_end': {
        const tc = [...call.tool_calls].reverse().find((t) => (e.call_id !== undefined ? t.call_id === e.call_id : t.name === e.name && !t.complete))
        if (tc) {
          tc.arguments = e.arguments
          tc.complete = e.incomplete !== true
          if (e.parse_error !== undefined && e.kind !== 'custom') tc.parse_error = e.parse_error
        }
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
    feed(record) {
      if (!record || typeof record !== 'object' || typeof record.flow_id !== 'string') return
      const r = record as unknown as Record<string, unknown>
      if (typeof r['ts'] === 'string') ts = r['ts']
      const f = state(record.flow_id, typeof record.session_id === 'string' ? record.session_id : '')
      switch (record.type) {
        case 'flow': {
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
          return
        }
        case 'client_frame':
          if (typeof r['ts'] === 'string') f.askedAt = r['ts']
          return
        case 'sse': {
          if (f.ended || typeof r['data'] !== 'string') return
          // Joined mid-flow (no flow record): the stream's own clock says when the flow started.
          if (f.started_at === undefined && ts !== undefined) f.started_at = typeof r['t_ms'] === 'number' ? new Date((ms(ts) ?? 0) - r['t_ms']).toISOString() : ts
          if (r['transport'] === 'ws') f.transport = 'ws'
          const rec: { data: string; seq?: number; event?: string; transport?: 'sse' | 'ws' } = { data: r['data'] }
          if (typeof r['seq'] === 'number') rec.seq = r['seq']
          if (typeof r['event'] === 'string') rec.event = r['event']
          if (r['transport'] === 'ws') rec.transport = 'ws'
          normalizer(f).feedRecord(rec)
          return
        }
        case 'flow_end':
          if (!f.ended) flowEnd(f, r)
          return
        default:
          return
      }
    },
    calls(flow_id) {
      const f = flows.get(flow_id)
      if (!f) return []
      const open = f.open
      if (!open) return f.calls
      // A snapshot of the open call with its usage so far.
      return f.calls.map((c) => (c === open && f.raw !== undefined ? { ...c, usage: callUsage(f.raw, c.api) } : c))
    },
    forget(flow_id) {
      flows.delete(flow_id)
    },
    end() {
      for (const f of flows.values()) {
        if (f.ended) continue
        f.normalizer?.end()
        close(f, 'truncated', ts)
      }
    },
  }
}
