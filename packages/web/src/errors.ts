import { AgenttapError } from '@agenttap/jsonl-io'

/** What went wrong in the web view, as a stable string code. */
export type WebErrorCode =
  | 'INVALID_OPTION'
  | 'NOT_STARTED'
  | 'ALREADY_STARTED'
  | 'LISTEN_FAILED'
  /** The host to bind is not loopback (after resolving it) and `allowRemote` was not given. */
  | 'NON_LOOPBACK_BIND'
  | 'READ_FAILED'
  | 'BAD_RECORD'
  | 'ASSETS_MISSING'

/** The one error class of @agenttap/web, an `AgenttapError`. Bad input is reported, only API misuse throws. */
export class WebError extends AgenttapError<WebErrorCode> {
  override readonly name = 'WebError'
}
