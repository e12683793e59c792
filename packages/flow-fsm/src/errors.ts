import { AgenttapError } from '@agenttap/jsonl-io'

/** Every failure flow-fsm reports, as a string union so callers can switch on it. */
export type FlowFsmErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_RECORD'
  | 'ILLEGAL_TRANSITION'
  | 'BUFFER_OVERFLOW'
  | 'UNKNOWN_FLOW'
  /** A stream-normalizer report (malformed event, truncated stream, arguments not JSON), passed on with `cause`. */
  | 'STREAM_ERROR'

/**
 * The one error class of `@agenttap/flow-fsm`, an `AgenttapError` (same context fields as every
 * agenttap error: `flow_id`, `seq`, `excerpt`, `cause`). Malformed input is reported through
 * `onError` callbacks with this class; only API misuse (bad options) throws it.
 */
export class FlowFsmError extends AgenttapError<FlowFsmErrorCode> {
  override readonly name = 'FlowFsmError'
}

/** Throws `INVALID_OPTION` unless `value` is a finite number ≥ `min` (or undefined). */
export function checkNumberOption(name: string, value: number | undefined, min: number): void {
  if (value === undefined) return
  if (typeof value !== 'number' || Number.isNaN(value) || value < min) {
    throw new FlowFsmError(
      'INVALID_OPTION',
      `option ${name}: expected a number >= ${min}, received ${String(value)}`,
    )
  }
}

/** A short, single-line excerpt of a value for error messages (never the whole record). */
export function excerpt(value: unknown, max = 120): string {
  let s: string
  try {
    s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  } catch {
    s = String(value)
  }
  s = s.replace(/[\x00-\x1f\x7f]/g, ' ')
  return s.length > max ? `${s.slice(0, max)}…` : s
}
