/** Error codes of {@link ExtractError}. */
export type ExtractErrorCode =
  | 'LOG_DIR_MISSING'
  | 'NO_CAPTURES'
  | 'UNKNOWN_MODE'
  | 'ENGINE_UNAVAILABLE'
  | 'ENGINE_UNSUPPORTED'
  | 'BAD_FILTER'
  | 'BAD_PRICES'
  | 'QUERY_FAILED'
  | 'OUTPUT_FAILED'

/** The one error class of `@agenttap/extractors`. Messages say what was expected and what to do. */
export class ExtractError extends Error {
  override readonly name = 'ExtractError'
  readonly code: ExtractErrorCode
  constructor(code: ExtractErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
