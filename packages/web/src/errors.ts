/** What went wrong in the web view, as a stable string code. */
export type WebErrorCode =
  | 'INVALID_OPTION'
  | 'NOT_STARTED'
  | 'ALREADY_STARTED'
  | 'LISTEN_FAILED'
  | 'READ_FAILED'
  | 'BAD_RECORD'
  | 'ASSETS_MISSING'

/** The one error class of @agenttap/web. Bad input is reported, only API misuse throws. */
export class WebError extends Error {
  override readonly name = 'WebError'
  readonly code: WebErrorCode
  constructor(code: WebErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}
