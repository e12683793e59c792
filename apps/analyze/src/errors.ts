import { EXIT } from '@agenttap/cli-kit'
import { ExtractError } from '@agenttap/extractors'

/** Exit codes of `agenttap-analyze` (cli-kit's, the same for every agenttap command). */
export { EXIT }

/** A command-line usage error (bad flag value, missing argument). */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Maps an error to the process exit code: usage mistakes 2, everything else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE
  if (err instanceof ExtractError) {
    return err.code === 'UNKNOWN_MODE' || err.code === 'BAD_FILTER' || err.code === 'BAD_PRICES' || err.code === 'ENGINE_UNSUPPORTED' ? EXIT.USAGE : EXIT.RUNTIME
  }
  return EXIT.RUNTIME
}

/** The one line a user sees for an error. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
