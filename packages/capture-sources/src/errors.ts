import { AgenttapError } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type CaptureSourceErrorCode =
  /** The source (file, directory, stdin, stream) cannot be read. */
  | 'SOURCE_ERROR'
  /** An option has an invalid value (API misuse). */
  | 'INVALID_OPTION'

/**
 * The one error class of `@agenttap/capture-sources`. Malformed lines are not errors of this
 * class: they come in-band (or through `onError`) as jsonl-io's `JsonlError`, with their place.
 */
export class CaptureSourceError extends AgenttapError<CaptureSourceErrorCode> {
  override readonly name = 'CaptureSourceError'
}
