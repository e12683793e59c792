/** Error codes of {@link SessionExtractorError}. */
export type SessionExtractorErrorCode =
  /** An option passed to a factory is malformed (thrown). */
  | 'INVALID_OPTION'
  /** An argument has the wrong type (thrown). */
  | 'INVALID_ARGUMENT'
  /** A streaming redactor held `maxPending` chars of one secret-like run and had to release part of it (reported via `onError`). */
  | 'PENDING_LIMIT'
  /** The SSE redactor held `maxHeldRecords` records and flushed them (reported via `onError`). */
  | 'HELD_LIMIT'

/**
 * The one error class of this package. Only API misuse throws (a bad option, a non-object
 * request); hostile or malformed request data never throws, it falls through to the next rule.
 */
export class SessionExtractorError extends Error {
  override readonly name = 'SessionExtractorError'
  /** Machine-readable reason. */
  readonly code: SessionExtractorErrorCode

  /** Position in the stream (`seq` of the SSE record, or character offset of a text stream) for reported errors. */
  readonly at?: number

  constructor(code: SessionExtractorErrorCode, message: string, options?: { cause?: unknown; at?: number }) {
    super(message, options)
    this.code = code
    if (options?.at !== undefined) this.at = options.at
    // The marker of every agenttap error (jsonl-io's AgenttapError.isInstance reads it); this layer
    // imports only types from below, so it sets the marker instead of extending the base.
    Object.defineProperty(this, Symbol.for('agenttap.error'), { value: true })
  }
}
