import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { COMMON_OPTIONS, addCommon, fastModeLine } from '../src/cli.js'
import { fastOptions } from '../src/fast-args.js'

// A mode command line read without commander must give the options commander's parse gives, or
// be left to commander. Commander here is given the same table, as a subcommand of a program with
// `-V, --version`, the way the CLI defines it.
function viaCommander(args: string[]): Record<string, unknown> | 'error' {
  const program = new Command('agenttap-analyze').version('0.0.0', '-V, --version').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} })
  let got: Record<string, unknown> | 'error' = 'error'
  addCommon(program.command('daily')).action((o: Record<string, unknown>) => {
    got = { ...o }
  })
  try {
    program.parse(['daily', ...args], { from: 'user' })
  } catch {
    return 'error'
  }
  return got
}

const POOL = ['--log-dir', 'x', '-', '--engine', 'index', '--no-index', '--rebuild-index', '--include-aux', '-f', '--format', 'ndjson', 'bogus', 'table', '-o', '--out-dir',
  '--since', '2h', '--until', '-n', '--limit', '5', '-5', '-q', '--quiet', '-v', '-qv', '--source', 'transcripts', 'all', 'wire', '--claude-dir', 'a', 'b', '--codex-dir', 'c',
  '--format=csv', '--help', '-h', '-V', '--', '--index-dir', '--stream', 'k', '--redis', '--from', '--to', '--session', '--client', '--prices', 'extra', '--unknown']

describe('mode command lines read without commander', () => {
  it('plain lines give what commander gives', () => {
    const lines = [
      [],
      ['--source', 'transcripts', '--claude-dir', '/c', '--codex-dir', '/x', '--index-dir', '/i', '-f', 'ndjson', '-q'],
      ['--log-dir', '/logs', '-n', '5', '--since', '2h', '--until', '2026-01-01', '-v'],
      ['--claude-dir', 'a', 'b', '--codex-dir', 'c', '--source', 'all'],
      ['--claude-dir', 'a', '--claude-dir', 'b', 'c', '--format', 'table', '--format', 'csv'],
      ['--no-index', '--rebuild-index', '--include-aux', '--engine', 'reverse', '-o', 'out', '--prices', 'p.json', '--session', 's', '--client', 'codex'],
      ['--redis', 'redis://127.0.0.1:6379', '--stream', 'k', '--from', '1-0', '--to', '2-0', '--quiet'],
    ]
    for (const args of lines) {
      const fast = fastOptions(args, COMMON_OPTIONS)
      expect(fast, args.join(' ')).toBeDefined()
      expect(fast, args.join(' ')).toEqual(viaCommander(args))
    }
  })

  it('anything else is left to commander', () => {
    for (const args of [['--help'], ['-h'], ['-V'], ['--format=csv'], ['-qv'], ['-f', 'bogus'], ['--source', 'nope'], ['-n', '-5'], ['--log-dir', '-'], ['--log-dir'], ['extra'], ['--'], ['--unknown'], ['--claude-dir', 'a', '-']]) {
      expect(fastOptions(args, COMMON_OPTIONS), args.join(' ')).toBeUndefined()
    }
  })

  it('on 3,000 random lines, each read is commander\'s or left to it', () => {
    let seed = 7
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return (seed >>> 8) % n
    }
    let read = 0
    for (let k = 0; k < 3000; k++) {
      const args = Array.from({ length: rnd(8) }, () => POOL[rnd(POOL.length)]!)
      const fast = fastOptions(args, COMMON_OPTIONS)
      if (fast === undefined) continue
      read++
      expect(fast, args.join(' ')).toEqual(viaCommander(args))
    }
    // Not a test that passes by reading nothing.
    expect(read).toBeGreaterThan(300)
  })

  it('names the mode commands only: aliases too, not prompts, turns, cache or extract', () => {
    expect(fastModeLine(['daily', '-q'])?.mode).toBe('daily')
    expect(fastModeLine(['tool-calls', '-n', '3'])?.mode).toBe('tool_calls')
    expect(fastModeLine(['tool_calls'])?.mode).toBe('tool_calls')
    expect(fastModeLine(['prompts', '-n', '5'])).toMatchObject({ mode: 'user_prompts', o: { limit: '5' } })
    for (const name of ['turns', 'cache', 'extract', 'check', 'modes', 'nope', '--help']) expect(fastModeLine([name])).toBeUndefined()
    expect(fastModeLine([])).toBeUndefined()
  })
})
