/** `agenttap-analyze`: history analysis over agenttap captures (see README). */
import { runCli } from './cli.js'
import type { CliIo } from './cli.js'
export { runCli } from './cli.js'
export type { CliIo } from './cli.js'
export { EXIT, exitCodeOf } from './errors.js'

/** Resolves once everything written to the stream so far has been handed to the OS. */
const flushed = (s: NodeJS.WriteStream): Promise<void> => new Promise((r) => s.write('', () => r()))

/**
 * CLI entry used by the bin: real process streams. Returns the exit code once stdout and stderr
 * are flushed; the caller then ends the process with `process.exit(code)` at once (a read-only
 * index is left open for the exit to release, see {@link CliIo.exiting}).
 */
export async function main(argv: string[]): Promise<number> {
  // `agenttap-analyze usage | head`: a closed pipe ends the program quietly, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0)
    throw e
  })
  // stderr is made on first use: a pipe or a terminal is a socket stream (node:net and its
  // handles, ~4 CPU ms to load and set up), and a --quiet run that succeeds writes nothing there.
  let err: NodeJS.WriteStream | undefined
  const stderr: CliIo['stderr'] = {
    write: ((...a: Parameters<NodeJS.WriteStream['write']>) => (err ??= process.stderr).write(...a)) as NodeJS.WriteStream['write'],
    get isTTY() {
      return (err ??= process.stderr).isTTY
    },
    get columns() {
      return (err ??= process.stderr).columns
    },
  }
  const code = await runCli(argv, { stdout: process.stdout, stderr, env: process.env, exiting: true })
  await Promise.all([flushed(process.stdout), ...(err !== undefined ? [flushed(err)] : [])])
  return code
}
