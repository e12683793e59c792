/**
 * The built `agenttap-proxy` as a user runs it: every usage mistake and runtime failure ends the
 * process with ONE line on stderr (no stack, no JSON), exit 2 for usage and 1 for runtime, before
 * anything says "listening" or prints the lines to paste.
 */
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js')
const pkg = JSON.parse(readFileSync(join(dirname(bin), '..', 'package.json'), 'utf8')) as { version: string }
let root: string
let busy: Server
let busyPort: number

/** Runs the bin; a run that does not end by itself within 60 s is killed and fails the test. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, HOME: join(root, 'home'), AGENTTAP_LOG_DIR: join(root, 'logs'), NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The last stderr line is the error; it is the only line that is not a proxy info log. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('[agenttap info]'))
}

beforeAll(async () => {
  if (!existsSync(bin)) throw new Error(`${bin} missing: run pnpm --filter @agenttap/proxy build`)
  root = mkdtempSync(join(tmpdir(), 'agenttap-proxy-failfast-'))
  mkdirSync(join(root, 'home'))
  writeFileSync(join(root, 'a-file'), 'not a directory\n')
  writeFileSync(join(root, 'garbage.pem'), 'garbage\n')
  busy = createServer()
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
  busyPort = (busy.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise((r) => busy.close(r))
  rmSync(root, { recursive: true, force: true })
})

const cases: { name: string; args: () => string[]; code: number; err: RegExp }[] = [
  { name: '--port abc', args: () => ['start', '--port', 'abc'], code: 2, err: /--port: expected a port 0-65535, received "abc"/ },
  { name: '--port 99999', args: () => ['start', '--port', '99999'], code: 2, err: /--port: expected a port 0-65535, received "99999"/ },
  { name: '--maxlen -3', args: () => ['start', '--redis', 'redis://127.0.0.1:1', '--maxlen', '-3'], code: 2, err: /--maxlen: expected an integer >= 1, received "-3"/ },
  { name: '--web-port abc', args: () => ['start', '--web-port', 'abc'], code: 2, err: /--web-port: expected a port 0-65535, received "abc"/ },
  { name: '--log-dir <a file>', args: () => ['start', '-p', '0', '--no-monitor', '--no-web', '--log-dir', join(root, 'a-file')], code: 2, err: /--log-dir .*a-file: is a file/ },
  { name: '--log-dir /proc/x', args: () => ['start', '-p', '0', '--no-monitor', '--no-web', '--log-dir', '/proc/x'], code: 2, err: /--log-dir \/proc\/x: cannot create \/proc\/x\/all-mitm-sse/ },
  { name: '--upstream-ca <garbage>', args: () => ['start', '-p', '0', '--no-monitor', '--no-web', '--upstream-ca', join(root, 'garbage.pem')], code: 2, err: /upstream CA: no PEM certificate/ },
  { name: '--upstream-ca <missing>', args: () => ['start', '-p', '0', '--no-monitor', '--no-web', '--upstream-ca', join(root, 'nope.pem')], code: 2, err: /--upstream-ca: no such file/ },
  { name: 'a busy port', args: () => ['start', '-p', String(busyPort), '--no-monitor', '--no-web'], code: 1, err: /cannot listen on 127\.0\.0\.1:\d+: the port is already in use; pick another with --port/ },
  { name: 'a busy web port', args: () => ['start', '-p', '0', '--no-monitor', '--web-port', String(busyPort)], code: 1, err: /live web view: cannot listen on 127\.0\.0\.1:\d+: the port is already in use; pick another with --web-port/ },
  { name: 'ca --path --pem', args: () => ['ca', '--path', '--pem'], code: 2, err: /give one of them, not --path and --pem/ },
  { name: 'an unknown command', args: () => ['strat'], code: 2, err: /unknown command 'strat'/ },
]

describe('agenttap-proxy fails fast and says why', { timeout: 90_000 }, () => {
  it.concurrent.each(cases)('$name: exit $code, one line on stderr, nothing on stdout', async ({ args, code, err }) => {
    const r = await run(args())
    expect(r.code).toBe(code)
    // Nothing to paste when nothing listens.
    expect(r.stdout).toBe('')
    const lines = errorLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^agenttap-proxy: /)
    expect(lines[0]).toMatch(err)
    expect(r.stderr).not.toMatch(/\n\s+at |"stack"/)
  })

  it('a log dir that is a file leaves the directory around it as it was', async () => {
    const dir = join(root, 'shared')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    writeFileSync(join(dir, 'sse_lines.jsonl'), '')
    const r = await run(['start', '-p', '0', '--no-monitor', '--no-web', '--log-dir', join(dir, 'sse_lines.jsonl')])
    expect(r.code).toBe(2)
    expect(statSync(dir).mode & 0o777).toBe(0o755)
  })

  it('--version prints the package version on stdout, exit 0', async () => {
    const r = await run(['--version'])
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' })
  })
})
