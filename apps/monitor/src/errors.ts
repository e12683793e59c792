import { AgenttapError } from '@agenttap/jsonl-io'

/** Exit codes of `agenttap-monitor`, in one place. */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2 } as const

/**
 * Maps an error to the process exit code: a bad option is a usage error (2), an unreadable
 * source or anything else a runtime error (1).
 */
export function exitCodeOf(err: unknown): number {
  if (AgenttapError.isInstance(err)) return err.code === 'INVALID_OPTION' ? EXIT.USAGE : EXIT.RUNTIME
  return EXIT.RUNTIME
}
