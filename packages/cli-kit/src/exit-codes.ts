import { AgenttapError } from '@agenttap/jsonl-io'
import { commander } from './commander.js'

/** The exit codes of every agenttap command: 0 ok, 1 runtime failure, 2 usage mistake. */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2 } as const

/**
 * Error codes of agenttap's packages that mean "the caller asked for something impossible"
 * (a usage mistake, exit 2) rather than "something failed while running" (exit 1).
 */
export const USAGE_CODES: ReadonlySet<string> = new Set([
  'USAGE',
  'INVALID_OPTION',
  'NON_LOOPBACK_BIND',
  'UNKNOWN_MODE',
  'BAD_FILTER',
  'BAD_PRICES',
  'ENGINE_UNSUPPORTED',
  'LOG_DIR_INVALID',
])

/**
 * The exit code of an error: commander's own (help and `--version` exit 0, parse errors 2), an
 * agenttap error whose code is a usage code 2, anything else 1.
 *
 * @param extraUsage - more codes the tool treats as usage mistakes
 * @example
 * process.exitCode = exitCodeOf(err)
 */
export function exitCodeOf(err: unknown, extraUsage: readonly string[] = []): number {
  if (err instanceof commander.CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
  if (AgenttapError.isInstance(err)) return USAGE_CODES.has(err.code) || extraUsage.includes(err.code) ? EXIT.USAGE : EXIT.RUNTIME
  return EXIT.RUNTIME
}
