/** `agenttap-analyze`: history analysis over agenttap captures (see README). */
import { runCli } from './cli.js'
export { runCli } from './cli.js'
export type { CliIo } from './cli.js'
export { EXIT, exitCodeOf } from './errors.js'

/** CLI entry used by the bin: real process streams. */
export async function main(argv: string[]): Promise<number> {
  // `agenttap-analyze usage | head`: a closed pipe ends the program quietly, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0)
    throw e
  })
  return runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env })
}
