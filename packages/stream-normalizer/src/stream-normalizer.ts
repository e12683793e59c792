import { createAnthropicAdapter } from './adapters/anthropic.js'
import { emitUnknown, errorEventFields, obj, withBase, type Adapter, type AdapterContext } from './adapters/common.js'
import { createOpenAIChatAdapter } from './adapters/openai-chat.js'
import { createOpenAIResponsesAdapter } from './adapters/openai-responses.js'
import { detectStreamProvider, detectProviderFromEvent } from './detect-provider.js'
import { NormalizerError, excerptOf, type NormalizerErrorCode } from './errors.js'
import { DEFAULT_MAX_EVENT_BYTES, createSseFramer, type SseFramer } from './sse-framer.js'
import type { AgentEvent, ErrorEvent, MessageEndEvent, StreamProvider } from './types.js'

/** An already-split stream event: the fields of a canonical `sse` record the normalizer reads. */
export interface StreamRecord {
  /** Position within the flow (canonical `seq`). */
  seq?: number
  /** SSE event name. */
  event?: string
  /** The raw data string. */
  data: string
  /** `sse` (default) or `ws` for WebSocket text frames. */
  transport?: 'sse' | 'ws'
}

/** Options of {@link createStreamNormalizer}. */
export interface StreamNormalizerOptions {
  /** Flow id put on every event and error. */
  flow_id: string
  /** Stream format; detected from `flow`, then from the first events, when absent. */
  provider?: StreamProvider
  /** The flow record (or what is known of it), for provider detection. */
  flow?: { url?: string; provider?: string; client?: string; host?: string; path?: string }
  /** Receives every unified event, in stream order. */
  onEvent(e: AgentEvent): void
  /** Receives malformed-input reports; nothing is thrown for bad input. */
  onError?(e: NormalizerError): void
  /** SSE comment lines (heartbeats), feedBytes only. */
  onComment?(comment: string): void
  /** SSE `retry` values, feedBytes only. */
  onRetry?(ms: number): void
  /**
   * Emit a `tool_args_delta` event per argument fragment. A consumer that only needs the joined
   * arguments (`tool_call_end.arguments`, e.g. a ledger) sets false and saves an object per fragment.
   * @defaultValue true
   */
  toolArgDeltas?: boolean
  /**
   * Cap of one event's data (and of one unterminated SSE line), in characters. A larger event is
   * reported (`EVENT_TOO_LARGE`) and becomes an `unknown` event with empty `data`.
   * @defaultValue 32 MiB
   */
  maxEventBytes?: number
}

/** A streaming normalizer for one flow. */
export interface StreamNormalizer {
  /** Feeds one already-split event (a canonical `sse` record, or a WebSocket text frame). */
  feedRecord(r: StreamRecord): void
  /** Feeds raw SSE bytes (or decoded text); events are framed, numbered from seq 0 and normalized. */
  feedBytes(chunk: Uint8Array | string): void
  /**
   * Ends the flow: an unterminated SSE event is still processed, open tool calls end with
   * `incomplete: true`, and `message_end {incomplete: true}` is emitted if the provider's terminal
   * event never came. Calling it again without new input does nothing.
   */
  end(): void
  /** Forgets all state, for a new flow with the same options. */
  reset(): void
  /** The stream format in use (`unknown` until detected). */
  readonly provider: StreamProvider
}

function makeAdapter(provider: StreamProvider, ctx: AdapterContext): Adapter | undefined {
  switch (provider) {
    case 'anthropic':
      return createAnthropicAdapter(ctx)
    case 'openai-responses':
      return createOpenAIResponsesAdapter(ctx)
    case 'openai-chat':
      return createOpenAIChatAdapter(ctx)
    default:
      return undefined
  }
}

/**
 * Creates the normalizer of one flow: raw SSE bytes (`feedBytes`) or already-split events
 * (`feedRecord`, e.g. canonical `sse` records or WebSocket frames) in, unified
 * {@link AgentEvent}s out through `onEvent`. Anthropic Messages, OpenAI Responses (Codex) and
 * OpenAI Chat Completions are understood; anything else becomes an `unknown` event, never
 * dropped. The same stream gives the same events whichever way it is fed and however it is
 * chunked.
 *
 * @example
 * ```ts
 * import { createStreamNormalizer } from '@agenttap/stream-normalizer'
 *
 * const n = createStreamNormalizer({
 *   flow_id: 'f1',
 *   flow: { url: 'https://api.anthropic.com/v1/messages?beta=true' },
 *   onEvent: (e) => { if (e.type === 'text_delta') process.stdout.write(e.text) },
 *   onError: (err) => console.error(err.code, err.message),
 * })
 * n.feedBytes('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n')
 * n.end() // → message_end { incomplete: true } since message_stop never came
 * ```
 */
export function createStreamNormalizer(opts: StreamNormalizerOptions): StreamNormalizer {
  if (opts === null || typeof opts !== 'object' || typeof opts.onEvent !== 'function') {
    throw new TypeError('createStreamNormalizer: expected options with an onEvent function')
  }
  if (typeof opts.flow_id !== 'string') throw new TypeError('createStreamNormalizer: expected a string flow_id')
  return new Normalizer(opts)
}

/**
 * The normalizer of one flow. A class, not closures made per flow: its methods (`handle` above all,
 * which every event goes through) are then one function each for the process — closures made per
 * flow keep their optimized code only while one of them is alive, and a full GC between flows threw
 * it away.
 */
class Normalizer implements StreamNormalizer {
  private readonly flow_id: string
  private readonly onEvent: (e: AgentEvent) => void
  private readonly onError: ((e: NormalizerError) => void) | undefined
  private readonly maxEventBytes: number
  private readonly initialProvider: StreamProvider
  private current: StreamProvider
  private finished = false
  // A plain mutable field, not a getter: object literals with accessors are slow to create,
  // and a normalizer is created per flow.
  private readonly ctx: AdapterContext
  private adapter: Adapter | undefined
  // Created on the first feedBytes: flows fed as records (captures, the monitor) never pay for it.
  private framer: SseFramer | undefined = undefined

  constructor(private readonly opts: StreamNormalizerOptions) {
    this.flow_id = opts.flow_id
    this.onEvent = opts.onEvent
    this.onError = opts.onError
    this.maxEventBytes = opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES
    this.initialProvider = opts.provider ?? detectStreamProvider(opts.flow)
    this.current = this.initialProvider
    this.ctx = { flow_id: this.flow_id, provider: this.current, argDeltas: opts.toolArgDeltas !== false, emit: this.onEvent, error: (code, message, seq, event, data) => this.report(code, message, seq, event, data) }
    this.adapter = makeAdapter(this.current, this.ctx)
  }

  /** The stream format in use (`unknown` until detected). */
  get provider(): StreamProvider {
    return this.current
  }

  private report(code: NormalizerErrorCode, message: string, seq: number | undefined, event: string | undefined, data?: string): void {
    const onError = this.onError
    if (onError === undefined) return
    const flow_id = this.flow_id
    const context: { flow_id: string; seq?: number; event?: string; excerpt?: string } = { flow_id }
    if (seq !== undefined) context.seq = seq
    if (event !== undefined) context.event = event
    if (data !== undefined) context.excerpt = excerptOf(data)
    onError(new NormalizerError(code, `flow ${flow_id}${seq === undefined ? '' : ` seq ${seq}`}: ${message}`, context))
  }

  private handle(seq: number | undefined, name: string | undefined, data: string): void {
    this.finished = false
    if (data.length > this.maxEventBytes) {
      this.oversized(seq)
      return
    }
    if (data === '[DONE]') {
      if (this.adapter === undefined) this.switchTo('openai-chat')
      this.adapter?.done(seq, name)
      return
    }
    const adapter = this.adapter
    if (adapter?.fast !== undefined && adapter.fast(data, name, seq)) return
    const ctx = this.ctx
    if (data.length === 0 || data.trim().length === 0) {
      // Some servers send empty data lines as keep-alives: kept, but not an error.
      emitUnknown(ctx, seq, name, data, 'empty data')
      return
    }
    let value: unknown
    try {
      value = JSON.parse(data)
    } catch (err) {
      if (name === 'error') {
        // `event: error` with a plain-text body: still an error, said as the server said it.
        this.onEvent(withBase<ErrorEvent>({ type: 'error', flow_id: this.flow_id, provider: this.current, message: data }, seq, undefined))
        return
      }
      const why = err instanceof Error ? err.message : String(err)
      this.report('MALFORMED_JSON', `event data is not JSON (${why}); kept as an unknown event`, seq, name, data)
      emitUnknown(ctx, seq, name, data, `malformed JSON: ${why}`)
      return
    }
    const v = obj(value)
    if (v === undefined) {
      emitUnknown(ctx, seq, name, data, 'event data is JSON but not an object')
      return
    }
    if (this.adapter === undefined) {
      const detected = detectProviderFromEvent(v)
      if (detected !== 'unknown') this.switchTo(detected)
    }
    if (this.adapter !== undefined) {
      this.adapter.event(v, name, seq, data)
      return
    }
    // Provider still unknown: errors look alike everywhere, everything else is kept raw.
    if (v['type'] === 'error' || obj(v['error']) !== undefined) {
      const err = obj(v['error']) ?? v
      this.onEvent(withBase<ErrorEvent>({ type: 'error', flow_id: this.flow_id, provider: this.current, ...errorEventFields(err) }, seq, undefined))
      return
    }
    emitUnknown(ctx, seq, name, data, 'stream format not recognised (yet)')
  }

  private switchTo(p: StreamProvider): void {
    this.current = p
    this.ctx.provider = p
    this.adapter = makeAdapter(p, this.ctx)
  }

  private oversized(seq: number | undefined): void {
    this.report('EVENT_TOO_LARGE', `event data exceeds maxEventBytes (${this.maxEventBytes} characters); kept as an unknown event without data. Raise maxEventBytes to keep such events.`, seq, undefined)
    emitUnknown(this.ctx, seq, undefined, '', `event exceeded maxEventBytes (${this.maxEventBytes})`)
  }

  private makeFramer(): SseFramer {
    const opts = this.opts
    const onError = this.onError
    return createSseFramer({
      flow_id: this.flow_id,
      maxEventBytes: this.maxEventBytes,
      onEvent: (seq, event, data) => {
        this.handle(seq, event, data)
      },
      onOversized: (seq) => {
        this.finished = false
        // The framer reported it already, with its byte offset.
        emitUnknown(this.ctx, seq, undefined, '', `event exceeded maxEventBytes (${this.maxEventBytes})`)
      },
      ...(onError === undefined ? {} : { onError }),
      ...(opts.onComment === undefined ? {} : { onComment: opts.onComment }),
      ...(opts.onRetry === undefined ? {} : { onRetry: opts.onRetry }),
    })
  }

  feedRecord(r: StreamRecord): void {
    if (r === null || typeof r !== 'object') throw new TypeError('feedRecord: expected a record object')
    if (typeof r.data !== 'string') {
      this.finished = false
      this.report('UNEXPECTED_EVENT', `record without a string data field (got ${typeof r.data}); kept as an unknown event`, r.seq, r.event)
      emitUnknown(this.ctx, r.seq, r.event, '', 'record without a string data field')
      return
    }
    this.handle(r.seq, r.event, r.data)
  }

  feedBytes(chunk: Uint8Array | string): void {
    this.finished = false
    this.framer ??= this.makeFramer()
    this.framer.feed(chunk)
  }

  end(): void {
    this.framer?.end()
    if (this.finished) return
    this.finished = true
    if (this.adapter !== undefined) {
      this.adapter.end()
      return
    }
    this.report('INCOMPLETE_STREAM', 'stream ended and its format was never recognised', undefined, undefined)
    this.onEvent({ type: 'message_end', flow_id: this.flow_id, provider: this.current, incomplete: true } satisfies MessageEndEvent)
  }

  reset(): void {
    this.framer?.reset()
    this.current = this.initialProvider
    this.ctx.provider = this.current
    this.adapter = makeAdapter(this.current, this.ctx)
    this.finished = false
  }
}

/** Result of {@link normalizeRecords}. */
export interface NormalizeResult {
  events: AgentEvent[]
  errors: NormalizerError[]
  provider: StreamProvider
}

/**
 * Normalizes a whole flow at once: its records in order, then `end()`. Convenient for history
 * analysis and tests; the monitor uses {@link createStreamNormalizer} directly.
 *
 * @example
 * ```ts
 * const { events } = normalizeRecords(records, { flow_id: 'f1', flow: { provider: 'anthropic' } })
 * ```
 */
export function normalizeRecords(records: Iterable<StreamRecord>, opts: Omit<StreamNormalizerOptions, 'onEvent' | 'onError'>): NormalizeResult {
  const events: AgentEvent[] = []
  const errors: NormalizerError[] = []
  const n = createStreamNormalizer({ ...opts, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) })
  for (const r of records) n.feedRecord(r)
  n.end()
  return { events, errors, provider: n.provider }
}
