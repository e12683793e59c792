import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type CacheInsightsErrorCode =
  /** An option has an invalid value (API misuse, thrown). */
  | 'INVALID_OPTION'
  /** A call cannot be analyzed (no key, no start time); it is reported and skipped. */
  | 'BAD_CALL'

/** The one error class of `@agenttap/cache-insights`. */
export class CacheInsightsError extends AgenttapError<CacheInsightsErrorCode> {
  override readonly name = 'CacheInsightsError'
  constructor(code: CacheInsightsErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
