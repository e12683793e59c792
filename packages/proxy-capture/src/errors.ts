/** What went wrong in the capture proxy. */
export type ProxyCaptureErrorCode =
  | 'CA_INVALID'
  | 'LISTEN_FAILED'
  | 'NON_LOOPBACK_BIND'
  | 'SSE_EVENT_TOO_LARGE'
  | 'DECODE_FAILED'
  | 'SINK_FAILED'
  | 'NOT_STARTED'
  | 'INVALID_OPTION'

/** The one error class of `@agenttap/proxy-capture`; `code` says which failure it is. */
export class ProxyCaptureError extends Error {
  override readonly name = 'ProxyCaptureError'
  readonly code: ProxyCaptureErrorCode
  /** The flow the error belongs to, when it belongs to one. */
  readonly flowId: string | undefined

  constructor(code: ProxyCaptureErrorCode, message: string, opts: { cause?: unknown; flowId?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.flowId = opts.flowId
  }
}
