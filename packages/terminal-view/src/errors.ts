import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type TerminalViewErrorCode =
  /** An option has an invalid value (API misuse). */
  | 'INVALID_OPTION'
  /** The source (file, directory, stdin, stream) cannot be read. */
  | 'SOURCE_ERROR'
  /** The view itself failed on an input (a bug): reported, the view goes on with the next record. */
  | 'VIEW_FAILED'
  /** The `--alert-cmd` hook could not run, exited non-zero, or an alert was dropped (too many runs at once). */
  | 'ALERT_COMMAND'

/** The one error class of `@agenttap/terminal-view`, an `AgenttapError`. Only API misuse and unreadable sources throw it. */
export class TerminalViewError extends AgenttapError<TerminalViewErrorCode> {
  override readonly name = 'TerminalViewError'
  constructor(code: TerminalViewErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
