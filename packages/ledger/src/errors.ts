import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type LedgerErrorCode =
  /** An option passed to createLedger is malformed (thrown). */
  | 'INVALID_OPTION'
  /** A price table (`parsePriceTable`) is malformed (thrown). */
  | 'BAD_PRICES'
  /** A record is not an object with a string `type` and `flow_id`; it was skipped. */
  | 'INVALID_RECORD'
  /** A record carries a schema version newer than this ledger knows (`v` > 1); it was read as v1. */
  | 'NEWER_SCHEMA'
  /** A flow's records were seen without its `flow` record: its calls lack what the request said. */
  | 'MISSING_FLOW'
  /** Too many records waited for their `flow` record; the oldest waiting flow was assembled without it. */
  | 'PENDING_LIMIT'
  /** Too many flows were open at once; the oldest was closed as `open`. */
  | 'OPEN_FLOWS_LIMIT'
  /** A flow ended (`flow_end.events`) with fewer of its records seen than it announced. */
  | 'MISSING_EVENTS'
  /** A body was stored out of line (`{"$ref": …}`) and was not resolved by the caller; what it says is missing. */
  | 'BODY_REF'
  /** A call's text grew past `maxCallChars`; the rest was not kept. */
  | 'CALL_TOO_LARGE'
  /** stream-normalizer reported malformed or incomplete provider data (the report is the `cause`). */
  | 'STREAM'

/**
 * The one error class of `@agenttap/ledger`. Bad input is reported through `onError` with the
 * flow, the record's `seq` and, when the caller passed it to `feed`, the file, line and byte
 * offset; the rest of the data is assembled. Only API misuse throws.
 */
export class LedgerError extends AgenttapError<LedgerErrorCode> {
  override readonly name = 'LedgerError'

  constructor(code: LedgerErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
