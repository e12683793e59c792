import { AgenttapError } from '@agenttap/jsonl-io'

/** Error codes of {@link ExtractError}. */
export type ExtractErrorCode =
  | 'LOG_DIR_MISSING'
  | 'NO_CAPTURES'
  | 'UNKNOWN_MODE'
  | 'ENGINE_UNSUPPORTED'
  | 'BAD_FILTER'
  | 'BAD_PRICES'
  | 'QUERY_FAILED'
  | 'OUTPUT_FAILED'
  | 'INDEX_LOCKED'
  | 'INDEX_FAILED'
  | 'LEDGER_UNAVAILABLE'

/** The one error class of `@agenttap/extractors`. Messages say what was expected and what to do. */
export class ExtractError extends AgenttapError<ExtractErrorCode> {
  override readonly name = 'ExtractError'
}
