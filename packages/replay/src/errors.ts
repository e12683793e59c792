import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type ReplayErrorCode =
  /** An option is malformed (thrown). */
  | 'INVALID_OPTION'
  /** The capture path holds no capture files (thrown by `loadReplayCapture`). */
  | 'NO_CAPTURE'
  /** The capture (or the chosen session) holds no call that can be served (thrown). */
  | 'NOTHING_TO_SERVE'
  /** A capture line could not be read; it was skipped (reported). */
  | 'BAD_LINE'
  /** A body stored out of line (`sse_logs/…`) could not be read; the call is served without it (reported). */
  | 'BODY_REF'
  /** The ledger reported bad input while assembling the calls (reported, `cause` is the ledger's error). */
  | 'LEDGER'
  /** The server could not listen (thrown by `start`). */
  | 'LISTEN_FAILED'
  /** The fall-through upstream could not be reached (reported; the client gets a 502). */
  | 'FALLTHROUGH_FAILED'
  /** The divergence report could not be written (reported). */
  | 'REPORT_FAILED'

/**
 * The one error class of `@agenttap/replay`. Bad capture input is reported through `onError` with
 * its file, line and flow, and the rest is served; only API misuse and a capture with nothing to
 * serve throw.
 */
export class ReplayError extends AgenttapError<ReplayErrorCode> {
  override readonly name = 'ReplayError'

  constructor(code: ReplayErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
