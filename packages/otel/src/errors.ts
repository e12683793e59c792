import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type OtelErrorCode =
  /** An option is malformed (thrown). */
  | 'INVALID_OPTION'
  /** The OTLP endpoint refused or failed an export (the spans of that batch are counted as failed). */
  | 'EXPORT_FAILED'
  /** The live export's queue was full: spans were dropped (counted). */
  | 'QUEUE_FULL'
  /** The receiver refused to bind a non-loopback address. */
  | 'NON_LOOPBACK_BIND'
  /** The receiver could not listen. */
  | 'LISTEN_FAILED'
  /** An OTLP request body could not be decoded (JSON or protobuf); answered 400, nothing stored. */
  | 'BAD_PAYLOAD'
  /** An OTLP request body was over the receiver's size cap; answered 413. */
  | 'PAYLOAD_TOO_LARGE'
  /** A telemetry record could not be written (the sink threw). */
  | 'WRITE_FAILED'

/**
 * The one error class of `@agenttap/otel`. Bad input (an undecodable OTLP payload, a refused
 * export) is reported through `onError` and the rest goes on; only API misuse throws.
 */
export class OtelError extends AgenttapError<OtelErrorCode> {
  override readonly name = 'OtelError'

  constructor(code: OtelErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
