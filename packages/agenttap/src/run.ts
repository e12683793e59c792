import { EXIT, errorLine, packageVersion } from '@agenttap/cli-kit'
import { COMMANDS, DEMO } from './commands.js'
import { DistributionError } from './errors.js'
import type { DistributionIo } from './types.js'

const BIN = 'agenttap'

function help(): string {
  const rows = [['demo', DEMO.summary], ...Object.entries(COMMANDS).map(([name, c]) => [name, c.summary])] as [string, string][]
  return [
    'Usage: agenttap <command> [options]',
    '',
    'See what your AI coding agents actually send and receive.',
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(9)}${s}`),
    '',
    'Options:',
    '  -V, --version  print the version',
    '  -h, --help     this help',
    '',
    'Start with: agenttap demo',
    '',
  ].join('\n')
}

/**
 * Runs `agenttap <proxy|monitor|analyze|demo> [args…]` and resolves with the exit code: the
 * command's own CLI does the rest (its flags, its output, its exit codes). Nothing asked: the
 * help on stderr, exit 2; an unknown command: one line, exit 2.
 *
 * @example
 * process.exitCode = await run(process.argv.slice(2))
 */
export async function run(argv: string[], io: DistributionIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined) {
    io.stderr.write(help())
    return EXIT.USAGE
  }
  if (cmd === '-V' || cmd === '--version') {
    io.stdout.write(`${packageVersion(import.meta.url)}\n`)
    return EXIT.OK
  }
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    io.stdout.write(help())
    return EXIT.OK
  }
  try {
    if (cmd === 'demo') {
      const code = await DEMO.run(rest)
      if (code >= 0) return code
      throw new DistributionError('NOT_AVAILABLE', 'demo is not available in this build: its agenttap-proxy has no demo command yet (try agenttap monitor --replay <capture dir> meanwhile)')
    }
    const c = (COMMANDS as Record<string, (typeof COMMANDS)['proxy'] | undefined>)[cmd]
    if (c === undefined) {
      io.stderr.write(`${BIN}: unknown command '${cmd}': expected demo, ${Object.keys(COMMANDS).join(', ')} (see agenttap --help)\n`)
      return EXIT.USAGE
    }
    return await c.run(rest)
  } catch (err) {
    io.stderr.write(errorLine(BIN, err))
    return EXIT.RUNTIME
  }
}
