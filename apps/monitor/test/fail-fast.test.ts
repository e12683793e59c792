/**
 * The built `agenttap-monitor` in pipes and with bad input, as issue 17 lists it: exit 0 when the
 * reader of stdout goes away while following, pacing flags imply --replay, a missing file and an
 * unreachable Redis are said on stderr (Redis: exit 1 after a bounded retry), binary garbage gives
 * a capped number of warnings on stderr, usage mistakes are one line with exit 2, --version.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, prng } from './helpers.js'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(appDir, 'dist', 'bin.js')
const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { version: string }
let root: string

interface Run {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Runs a shell line (`$BIN` is the monitor); killed after `killMs` (code null then). */
function sh(line: string, opts: { input?: Buffer | string; killMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const child = spawn('bash', ['-c', line], { env: { ...process.env, BIN: `"${process.execPath}" "${bin}"`, AGENTTAP_LOG_DIR: join(root, 'logs'), NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.killMs ?? 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - t0 })
    })
  })
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'agenttap-monitor-failfast-'))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('agenttap-monitor in pipes and on bad input', { timeout: 90_000 }, () => {
  it('following a capture into `| head -1`: exit 0 when head goes away (was 13: a promise left pending)', async () => {
    const r = await sh(`eval "$BIN --from-start ${join(FIXTURES, 'capture')}" | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`)
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1)
    expect(r.stderr).toMatch(/rc=0\s*$/)
  })

  it('--json following into `| head -1`: exit 0 as well', async () => {
    const r = await sh(`eval "$BIN --json --from-start ${join(FIXTURES, 'capture')}" | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`)
    expect(() => JSON.parse(r.stdout.trim()) as unknown).not.toThrow()
    expect(r.stderr).toMatch(/rc=0\s*$/)
  })

  it('--speed and --max-gap-ms imply --replay: the capture is read to its end and the process exits 0', async () => {
    for (const flag of ['--speed 1000', '--max-gap-ms 0']) {
      const r = await sh(`eval "$BIN ${flag} ${join(FIXTURES, 'capture')}"`, { killMs: 60_000 })
      expect(r.code, flag).toBe(0)
      expect(r.stdout).toContain('claude-code')
    }
  })

  it('following a file that is not there, stdout not a terminal: says so on stderr', async () => {
    const missing = join(root, 'nope', 'sse_lines.jsonl')
    // Keeps waiting (that is following); the message must come before it is killed.
    const r = await sh(`eval "exec $BIN ${missing}" > /dev/null`, { killMs: 8_000 })
    expect(r.code).toBe(null)
    expect(r.stderr).toContain(`agenttap-monitor: waiting for ${missing}: not there yet`)
  })

  it('an unreachable Redis: one line on stderr and exit 1 after a bounded retry', async () => {
    const r = await sh('eval "$BIN --redis redis://127.0.0.1:1"', { killMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^agenttap-monitor: .*cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*tried for 5 s/)
  })

  it('binary garbage on stdin: stdout stays empty, at most 20 warnings and a count on stderr', async () => {
    const rand = prng(17)
    const junk = Buffer.alloc(200_000)
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256)
    const r = await sh('eval "$BIN -"', { input: junk })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines.length).toBeGreaterThan(20)
    expect(lines.length).toBeLessThanOrEqual(22)
    expect(lines.at(-1)).toMatch(/^⚠ \d+ more input warning\(s\) not shown \(\d+ in all\)$/)
    expect(r.stderr).not.toMatch(/raise maxLineBytes/)
  })

  it('usage mistakes: one line on stderr, exit 2; --version prints the version', async () => {
    const bad = await sh('eval "$BIN --speed fast"')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^agenttap-monitor: .*--speed: expected a number > 0, received "fast" \(see agenttap-monitor --help\)\n$/)
    const unknown = await sh('eval "$BIN --bogus"')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    const v = await sh('eval "$BIN --version"')
    expect(v).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' })
  })
})
