import { AgenttapError } from '@agenttap/jsonl-io'

/** What kind of command-line failure: a usage mistake (exit 2) or a runtime failure (exit 1). */
export type CliErrorCode = 'USAGE' | 'RUNTIME'

/**
 * The one error class of `@agenttap/cli-kit`: a failure a command-line tool reports as one line
 * on stderr. `USAGE` (a bad flag value, a missing argument, a file that is not what the flag
 * wants) exits 2, `RUNTIME` exits 1. It extends jsonl-io's `AgenttapError`, so `file` names the
 * path concerned when there is one.
 *
 * @example
 * throw new CliError('USAGE', '--port: expected an integer 0-65535, received "abc"')
 */
export class CliError extends AgenttapError<CliErrorCode> {
  override readonly name = 'CliError'

  constructor(code: CliErrorCode, message: string, opts: { cause?: unknown; file?: string } = {}) {
    super(code, message, opts)
  }
}
