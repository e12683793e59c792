/** What went wrong in the monitor, as a stable string a program can switch on. */
export type MonitorErrorCode =
  /** A command-line option or API option has an invalid value. */
  | 'INVALID_OPTION'
  /** The source (file, directory, stdin) cannot be read. */
  | 'SOURCE_ERROR'
  /** A feature named by the issue that has not landed yet (the Redis source). */
  | 'NOT_AVAILABLE'

/** The one error class of the monitor app. Only API misuse and unreadable sources throw it. */
export class MonitorError extends Error {
  override readonly name = 'MonitorError'
  readonly code: MonitorErrorCode
  constructor(code: MonitorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Exit codes of `agenttap-monitor`, in one place. */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2 } as const

/** Maps an error to the process exit code. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof MonitorError) return err.code === 'SOURCE_ERROR' ? EXIT.RUNTIME : EXIT.USAGE
  return EXIT.RUNTIME
}
