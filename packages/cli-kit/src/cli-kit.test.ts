import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command, CommanderError } from 'commander'
import { describe, expect, it } from 'vitest'
import { AgenttapError } from '@agenttap/jsonl-io'
import { CliError, EXIT, commander, errorLine, exitCodeOf, fileArg, intArg, packageVersion, portArg, positiveNumberArg, setupProgram } from './index.js'

function sink() {
  const chunks: string[] = []
  return { write: (s: string) => chunks.push(s), text: () => chunks.join('') }
}

describe('exit codes', () => {
  it('maps usage codes to 2, other agenttap errors and plain errors to 1, help/version to 0', () => {
    expect(exitCodeOf(new CliError('USAGE', 'x'))).toBe(EXIT.USAGE)
    expect(exitCodeOf(new AgenttapError('INVALID_OPTION', 'x'))).toBe(EXIT.USAGE)
    expect(exitCodeOf(new AgenttapError('LISTEN_FAILED', 'x'))).toBe(EXIT.RUNTIME)
    expect(exitCodeOf(new AgenttapError('LISTEN_FAILED', 'x'), ['LISTEN_FAILED'])).toBe(EXIT.USAGE)
    expect(exitCodeOf(new Error('boom'))).toBe(EXIT.RUNTIME)
    expect(exitCodeOf(new CommanderError(0, 'commander.version', '1.0.0'))).toBe(EXIT.OK)
    expect(exitCodeOf(new CommanderError(1, 'commander.unknownOption', 'x'))).toBe(EXIT.USAGE)
  })
})

describe('commander', () => {
  it('is the module an import of commander gives: the same classes, so instanceof agrees with the apps', () => {
    expect(commander.Command).toBe(Command)
    expect(commander.CommanderError).toBe(CommanderError)
    expect(() => portArg('--port')('x')).toThrow(commander.InvalidArgumentError)
  })
})

describe('errorLine', () => {
  it('is one line, prefixed with the bin, control characters escaped, with the cause', () => {
    const e = new Error('first\nsecond\u001b[31m', { cause: new Error('EACCES') })
    expect(errorLine('agenttap-x', e)).toBe('agenttap-x: first second\\x1b[31m (EACCES)\n')
    expect(errorLine('a', 'text')).toBe('a: text\n')
  })
})

describe('option parsers', () => {
  it('ports: 0-65535 integers only', () => {
    expect(portArg('--port')('8080')).toBe(8080)
    expect(portArg('--port')('0')).toBe(0)
    for (const bad of ['abc', '99999', '-1', '1.5', '']) expect(() => portArg('--port')(bad)).toThrow(/--port: expected a port 0-65535/)
  })
  it('integers with a minimum', () => {
    expect(intArg('--maxlen', 1)('3')).toBe(3)
    expect(() => intArg('--maxlen', 1)('-3')).toThrow('--maxlen: expected an integer >= 1, received "-3"')
    expect(() => intArg('--maxlen', 1)('0')).toThrow(/>= 1/)
    expect(() => intArg('--n', 1, 9)('10')).toThrow('--n: expected an integer 1-9, received "10"')
  })
  it('positive numbers', () => {
    expect(positiveNumberArg('--speed')('0.5')).toBe(0.5)
    for (const bad of ['0', '-2', 'x', '', 'Infinity']) expect(() => positiveNumberArg('--speed')(bad)).toThrow(/--speed: expected a number > 0/)
  })
  it('files must exist and be files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-kit-'))
    const f = join(dir, 'a.pem')
    writeFileSync(f, 'x')
    expect(fileArg('--ca')(f)).toBe(f)
    expect(() => fileArg('--ca')(join(dir, 'missing'))).toThrow(/--ca: no such file/)
    expect(() => fileArg('--ca')(dir)).toThrow(/--ca: not a file/)
  })
})

describe('setupProgram', () => {
  const run = (argv: string[]) => {
    const out = sink()
    const err = sink()
    const p = setupProgram(new Command('tool'), { bin: 'tool', version: '1.2.3', stdout: out, stderr: err })
    p.command('go').option('-p, --port <port>', 'port', portArg('--port')).action(() => {})
    let code = EXIT.OK as number
    try {
      p.parse(argv, { from: 'user' })
    } catch (e) {
      code = exitCodeOf(e)
    }
    return { code, out: out.text(), err: err.text() }
  }
  it('prints the version on stdout and exits 0', () => {
    expect(run(['--version'])).toEqual({ code: 0, out: '1.2.3\n', err: '' })
  })
  it('reports a parse error as one line on stderr, exit 2', () => {
    const r = run(['go', '--port', 'abc'])
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err.split('\n')).toHaveLength(2)
    expect(r.err).toMatch(/^tool: .*--port: expected a port 0-65535, received "abc" \(see tool --help\)\n$/)
    expect(run(['nope']).err).toMatch(/^tool: unknown command 'nope' \(see tool --help\)\n$/)
  })
})

describe('packageVersion', () => {
  it('reads the version of the package the module is in', () => {
    expect(packageVersion(import.meta.url)).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe('stopSignal', () => {
  it('resolves with the first SIGINT or SIGTERM and keeps the process alive until then', async () => {
    const { spawn } = await import('node:child_process')
    const entry = new URL('../dist/index.js', import.meta.url).pathname // the built package (pnpm test builds first)
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      // The child listens, says so, and prints what stopped it; a default handler would kill it (no output, a signal).
      const child = spawn(process.execPath, ['--input-type=module', '-e', `const { stopSignal } = await import(${JSON.stringify(entry)}); const s = stopSignal(); const t = setInterval(() => {}, 1000); console.log('ready'); console.log(await s); clearInterval(t)`], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out === 'ready\n') child.kill(sig)
      })
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])))
      expect({ code, signal, out }).toEqual({ code: 0, signal: null, out: `ready\n${sig}\n` })
    }
  })
})
