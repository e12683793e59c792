/** The built `agenttap` bins as a user runs them: dispatch to the CLIs, --version, help, errors. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const DIST = join(import.meta.dirname, '..', 'dist')
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures')
const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version
const tmp = mkdtempSync(join(tmpdir(), 'agenttap-dist-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function run(bin: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(DIST, `${bin}.js`), ...args], { env: { PATH: process.env.PATH ?? '', HOME: tmp, AGENTTAP_LOG_DIR: join(tmp, 'logs') }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

describe('agenttap', () => {
  it('--version prints this package version; each CLI bin answers --version too', async () => {
    expect(await run('agenttap', ['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' })
    for (const b of ['agenttap-proxy', 'agenttap-monitor', 'agenttap-analyze']) {
      const r = await run(b, ['--version'])
      expect(r.code, b).toBe(0)
      expect(r.out).toMatch(/^\d+\.\d+\.\d+/)
    }
  })

  it('no command: the help on stderr, exit 2; --help on stdout, exit 0', async () => {
    const none = await run('agenttap', [])
    expect(none.code).toBe(2)
    expect(none.out).toBe('')
    expect(none.err).toMatch(/^Usage: agenttap <command>/)
    const help = await run('agenttap', ['--help'])
    expect(help.code).toBe(0)
    expect(help.out).toMatch(/demo .*\n.*proxy .*\n.*monitor .*\n.*analyze /)
  })

  it('an unknown command: one line, exit 2', async () => {
    const r = await run('agenttap', ['analyse'])
    expect(r).toEqual({ code: 2, out: '', err: "agenttap: unknown command 'analyse': expected demo, proxy, monitor, analyze (see agenttap --help)\n" })
  })

  it('agenttap analyze … runs agenttap-analyze: the same rows, the same errors', async () => {
    const args = ['usage', '--log-dir', join(FIXTURES, 'codex-turn.jsonl'), '-q']
    const [viaAgenttap, direct] = await Promise.all([run('agenttap', ['analyze', ...args]), run('agenttap-analyze', args)])
    expect(viaAgenttap.code).toBe(0)
    expect(viaAgenttap.out).toBe(direct.out)
    expect(viaAgenttap.out).toContain('"flow_id":"cx-turn-1"')
    const bad = await run('agenttap', ['analyze', 'usage', '--client', 'nobody'])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/^agenttap-analyze: --client: expected one of/)
  })

  it('agenttap monitor … and agenttap proxy … reach their CLIs', async () => {
    const m = await run('agenttap', ['monitor', '--replay', '--delay-ms', '0', join(FIXTURES, 'claude-code-turn.jsonl')])
    expect(m.code).toBe(0)
    expect(m.out).toContain('claude-code')
    const p = await run('agenttap', ['proxy', 'start', '--port', 'abc'])
    expect(p.code).toBe(2)
    expect(p.err).toMatch(/^agenttap-proxy: .*--port: expected a port/)
  })

  it('agenttap demo: the proxy demo when this build has it, else one line saying it is not in this build', async () => {
    const r = await run('agenttap', ['demo', '--help'])
    if (r.code === 0) expect(r.out).toMatch(/demo/)
    else {
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/^agenttap: demo is not available in this build/)
    }
  })
})
