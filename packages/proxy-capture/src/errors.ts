import { AgenttapError } from '@agenttap/jsonl-io'

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
  | 'LOG_DIR_UNSAFE'
  | 'LOG_DIR_INVALID'

/**
 * The one error class of `@agenttap/proxy-capture`; `code` says which failure it is. It extends
 * jsonl-io's `AgenttapError`: `AgenttapError.isInstance(e)` holds, and the context fields are the
 * shared ones (`file` for a CA or log file, `flow_id` for a flow).
 */
export class ProxyCaptureError extends AgenttapError<ProxyCaptureErrorCode> {
  override readonly name = 'ProxyCaptureError'

  constructor(code: ProxyCaptureErrorCode, message: string, opts: { cause?: unknown; flow_id?: string; file?: string } = {}) {
    super(code, message, opts)
  }
}
