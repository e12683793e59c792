/** Error codes of {@link SessionExtractorError}. */
export type SessionExtractorErrorCode = 'INVALID_OPTION' | 'INVALID_ARGUMENT'

/**
 * The one error class of this package. Only API misuse throws (a bad option, a non-object
 * request); hostile or malformed request data never throws, it falls through to the next rule.
 */
export class SessionExtractorError extends Error {
  override readonly name = 'SessionExtractorError'
  /** Machine-readable reason. */
  readonly code: SessionExtractorErrorCode

  constructor(code: SessionExtractorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
