import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type TranscriptErrorCode =
  /** A line that should carry usage (or a compaction) is not valid JSON; it was skipped. */
  | 'MALFORMED_LINE'
  /** A line is valid JSON but not the shape its format documents (e.g. usage that is not numbers); it was skipped. */
  | 'UNEXPECTED_SHAPE'
  /** A file could not be read (removed, permissions); the other files were read. */
  | 'IO_ERROR'
  /** A line is longer than the reader's cap; it was skipped. */
  | 'LINE_TOO_LONG'
  /** An option is malformed (thrown). */
  | 'INVALID_OPTION'

/**
 * The one error class of `@agenttap/transcripts`. Bad input is reported (file, 1-based line,
 * byte offset of the line) and the rest of the file is read; only API misuse throws.
 */
export class TranscriptError extends AgenttapError<TranscriptErrorCode> {
  override readonly name = 'TranscriptError'

  constructor(code: TranscriptErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
