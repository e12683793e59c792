import type { Command } from 'commander'
import { oneLine } from './error-line.js'
import type { ProgramSetup } from './types.js'

/**
 * Wires a commander program the way every agenttap command behaves: `-V, --version`, errors
 * thrown instead of exiting (the caller maps them with `exitCodeOf`), help and version on stdout,
 * and every parse error as ONE line on stderr, `<bin>: <what> (see <bin> --help)`. Call it before
 * adding subcommands: they inherit the output settings.
 *
 * @example
 * const program = setupProgram(new Command('agenttap-proxy'), { bin: 'agenttap-proxy', version: packageVersion(import.meta.url) })
 */
export function setupProgram(program: Command, setup: ProgramSetup): Command {
  const out = setup.stdout ?? process.stdout
  const err = setup.stderr ?? process.stderr
  return program
    .version(setup.version, '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => void out.write(s),
      writeErr: (s) => void err.write(s),
      getOutHelpWidth: () => (out.isTTY ? (out.columns ?? 80) : 80),
      getErrHelpWidth: () => (err.isTTY ? (err.columns ?? 80) : 80),
      outputError: (s, write) => write(`${setup.bin}: ${oneLine(s.replace(/^error: /, ''))} (see ${setup.bin} --help)\n`),
    })
}
