/** `agenttap-analyze`: history analysis over agenttap captures (see README). */
import { runCli } from './cli.js'
export { runCli } from './cli.js'
export type { CliIo } from './cli.js'
export { EXIT, exitCodeOf } from './errors.js'

/** CLI entry used by the bin: real process streams. */
export async function main(argv: string[]): Promise<number> {
  return runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env })
}
