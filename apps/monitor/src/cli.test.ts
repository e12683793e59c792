import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES, Sink } from '../test/helpers.js'
import { buildCommand, main } from './cli.js'

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new Sink()
  const stderr = new Sink()
  const code = await main(args, { stdout: stdout as never, stderr: stderr as never, env })
  return { code, out: stdout.text, err: stderr.text }
}

describe('agenttap-monitor CLI', () => {
  it('--help lists every option of the issue and exits 0', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const o of ['--show-time', '--show-flow-id', '--function-only', '--session-guard', '--args-sub-deltas', '--session', '--client', '--json', '--replay', '--delay-ms', '--log-dir', '--redis']) {
      expect(r.out).toContain(o)
    }
  })

  it('--redis with a source file is a usage error', async () => {
    const r = await cli(['--redis', 'redis://127.0.0.1:6379', 'some.jsonl'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/either a source file or --redis/)
  })

  it('bad values are usage errors (exit 2) naming the option', async () => {
    const a = await cli(['--args-sub-deltas', '4'])
    expect(a.code).toBe(2)
    expect(a.err).toMatch(/--args-sub-deltas: expected an integer >= 8, received "4"/)
    const b = await cli(['--session-guard', 'soon'])
    expect(b.code).toBe(2)
    const c = await cli(['--client', 'cursor'])
    expect(c.code).toBe(2)
    expect(c.err).toMatch(/claude-code, codex, unknown/)
  })

  it('--replay --delay-ms 0 prints the view (piped: no colours) and exits 0', async () => {
    const r = await cli(['--replay', '--delay-ms', '0', join(FIXTURES, 'codex-turn.jsonl')])
    expect(r.code).toBe(0)
    expect(r.out).toContain('$ cd repo && npm test')
    expect(r.out).not.toContain('\x1b')
  })

  it('--function-only --session --show-flow-id combine', async () => {
    const r = await cli(['--delay-ms', '0', '--function-only', '--show-flow-id', '--session', '0199a1b2', join(FIXTURES, 'codex-turn.jsonl')])
    expect(r.out).toMatch(/^cx-turn-1 \$ cd repo/m)
    expect(r.out).not.toContain('reasoning:')
  })

  it('- with a terminal on stdin is a usage error, not a silent hang', async () => {
    const stdout = new Sink()
    const stderr = new Sink()
    const code = await main(['-'], { stdout: stdout as never, stderr: stderr as never, env: {}, stdinIsTTY: true })
    expect(code).toBe(2)
    expect(stderr.text).toMatch(/stdin is a terminal: pipe a capture in/)
  })

  it('--color always colours a pipe (no row erasing there); --color never and NO_COLOR keep a terminal plain', async () => {
    const fixture = join(FIXTURES, 'claude-code-turn.jsonl')
    const always = await cli(['--delay-ms', '0', '--color', 'always', fixture])
    expect(always.out).toContain('\x1b[1;32m$ ')
    expect(always.out).not.toContain('\r\x1b[2K')
    for (const [args, env] of [[['--color', 'never'], {}], [[], { NO_COLOR: '1' }]] as const) {
      const stdout = new Sink({ tty: true })
      const code = await main(['--delay-ms', '0', ...args, fixture], { stdout: stdout as never, stderr: new Sink() as never, env })
      expect(code).toBe(0)
      expect(stdout.text).not.toMatch(/\x1b\[[0-9;]*m/)
      expect(stdout.text).toContain('$ printf')
    }
  })

  it('a missing source is exit 1 with the path', async () => {
    const r = await cli(['--replay', '/nonexistent/agenttap/x.jsonl'])
    expect(r.code).toBe(1)
    expect(r.err).toContain('/nonexistent/agenttap/x.jsonl')
  })

  it('the default source is the all-flows file under the log root ($AGENTTAP_LOG_DIR)', () => {
    const cmd = buildCommand()
    expect(cmd.helpInformation()).toContain('sse_lines.jsonl')
  })
})
