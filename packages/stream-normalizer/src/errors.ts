/** What went wrong, as a stable string a program can switch on. */
export type NormalizerErrorCode =
  /** Bytes that are not valid UTF-8 were replaced with U+FFFD. */
  | 'INVALID_UTF8'
  /** An SSE line with a field name the spec does not know (it is ignored, as the spec says). */
  | 'SSE_UNKNOWN_FIELD'
  /** An SSE `retry` field whose value is not all ASCII digits. */
  | 'SSE_INVALID_RETRY'
  /** An SSE event (or an unterminated line) grew past `maxEventBytes`; it was skipped. */
  | 'EVENT_TOO_LARGE'
  /** The byte stream ended inside an event (no blank line after it); the event was still processed. */
  | 'TRUNCATED_EVENT'
  /** An event's `data` is not JSON although the provider always sends JSON. */
  | 'MALFORMED_JSON'
  /** An event arrived that the stream's state does not allow (delta for a block never started, …). */
  | 'UNEXPECTED_EVENT'
  /** The stream ended without the provider's terminal event. */
  | 'INCOMPLETE_STREAM'
  /** A tool call's joined arguments are not valid JSON. */
  | 'ARGS_PARSE'
  /** A backslash escape inside a JSON string is not one JSON allows (passed through as written). */
  | 'INVALID_ESCAPE'
  /** A `\uD800`–`\uDFFF` escape that is not part of a surrogate pair. */
  | 'LONE_SURROGATE'
  /** JsonStreamFormatter met a character that cannot appear at that place in JSON. */
  | 'INVALID_JSON'
  /** JsonStreamFormatter / TextDeltaNormalizer input ended inside a value, string or escape. */
  | 'UNEXPECTED_END'

/** Where an error happened. Every field is optional: a component fills what it knows. */
export interface NormalizerErrorContext {
  /** Flow the error belongs to. */
  flow_id?: string
  /** Canonical `seq` (or dispatch position) of the SSE event / WS frame. */
  seq?: number
  /** Byte offset in the raw stream (feedBytes), or character offset in a fragment stream. */
  offset?: number
  /** SSE event name or JSON `type` of the event concerned. */
  event?: string
  /** A short excerpt of the offending input (≤ 120 characters). */
  excerpt?: string
  /** Underlying error. */
  cause?: unknown
}

/**
 * The one error class of `@agenttap/stream-normalizer`. Malformed input is reported through
 * `onError` callbacks with one of these; it is never thrown (only API misuse throws).
 *
 * @example
 * ```ts
 * createStreamNormalizer({ flow_id: 'f1', onEvent, onError: (e) => console.error(e.code, e.message) })
 * ```
 */
export class NormalizerError extends Error {
  /** Stable error code. */
  readonly code: NormalizerErrorCode
  readonly flow_id?: string
  readonly seq?: number
  readonly offset?: number
  readonly event?: string
  readonly excerpt?: string

  constructor(code: NormalizerErrorCode, message: string, context: NormalizerErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause })
    this.name = 'NormalizerError'
    this.code = code
    if (context.flow_id !== undefined) this.flow_id = context.flow_id
    if (context.seq !== undefined) this.seq = context.seq
    if (context.offset !== undefined) this.offset = context.offset
    if (context.event !== undefined) this.event = context.event
    if (context.excerpt !== undefined) this.excerpt = context.excerpt
    // The marker of every agenttap error (jsonl-io's AgenttapError.isInstance reads it); this layer
    // imports nothing, so it sets the marker instead of extending the base.
    Object.defineProperty(this, Symbol.for('agenttap.error'), { value: true })
  }
}

/** A printable excerpt of at most `max` characters, control characters made visible. */
export function excerptOf(s: string, max = 120): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
