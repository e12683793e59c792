import { EXIT, exitCodeOf as cliExitCodeOf } from '@agenttap/cli-kit'

/** Exit codes of `agenttap-monitor` (cli-kit's, the same for every agenttap command). */
export { EXIT }

/**
 * Maps an error to the process exit code: a bad option is a usage error (2), an unreadable
 * source or anything else a runtime error (1).
 */
export function exitCodeOf(err: unknown): number {
  return cliExitCodeOf(err)
}
