import { AgenttapError } from '@agenttap/jsonl-io'

/** What went wrong in the `agenttap` command itself (not in the CLI it runs). */
export type DistributionErrorCode = 'UNKNOWN_COMMAND' | 'NOT_AVAILABLE'

/** The one error class of the `agenttap` distribution; extends jsonl-io's `AgenttapError`. */
export class DistributionError extends AgenttapError<DistributionErrorCode> {
  override readonly name = 'DistributionError'
}
