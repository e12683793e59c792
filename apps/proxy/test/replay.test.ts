/** `agenttap-proxy replay` as a process: what it prints, what it serves, its report and exit codes. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'agenttap-proxy-replay-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(args: string[]): { done: Promise<{ code: number | null; out: string; err: string }>; child: ReturnType<typeof spawn>; out: () => string } {
  const child = spawn(process.execPath, [BIN, 'replay', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })))
  return { done, child, out: () => out }
}

const fixtureFlow = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8').split('\n')[0] as string) as { request_body: unknown }

describe('agenttap-proxy replay', () => {
  it('prints where it listens and how to point an agent at it, serves the capture, reports a divergence, and sums up on SIGTERM', async () => {
    const report = join(dir, 'report.jsonl')
    const p = run([join(FIXTURES, 'capture'), '--as-fast', '--no-tls', '--report', report, '--ca-dir', join(dir, 'ca')])
    try {
      const url = await new Promise<string>((resolve, reject) => {
        p.child.stdout?.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out())
          if (m) resolve(m[1] as string)
        })
        void p.done.then((r) => reject(new Error(`exited ${r.code}: ${r.out}${r.err}`)))
      })
      expect(p.out()).toContain('28 calls (18 SSE, 3 WebSocket, 7 plain), as fast as possible')
      expect(p.out()).toContain(`ANTHROPIC_BASE_URL=${url}`)
      const body = JSON.stringify(fixtureFlow('claude-code-turn.jsonl').request_body)
      const ok = await fetch(`${url}/v1/messages?beta=true`, { method: 'POST', body })
      expect(ok.status).toBe(200)
      expect(await ok.text()).toContain('event: message_stop')
      const again = await fetch(`${url}/v1/messages?beta=true`, { method: 'POST', body })
      expect(again.status).toBe(400)
      expect(((await again.json()) as { error: { message: string } }).error.message).toContain('closest captured call cc-turn-1#0')
      p.child.kill('SIGTERM')
      const r = await p.done
      expect(r.code).toBe(0)
      expect(r.err).toContain('agenttap replay: served 1, diverged 1, 27 captured call(s) never asked for')
      const lines = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string })
      expect(lines.map((l) => l.type)).toEqual(['divergence', 'summary'])
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL')
    }
  }, 60_000)

  it('exits 2 with one line on stderr for a missing capture, an unknown session and bad flags', async () => {
    const cases: [string[], RegExp][] = [
      [[join(dir, 'nothing-here')], /no capture at .*nothing-here/],
      [[join(FIXTURES, 'capture'), '--session', 'nope'], /session nope has no call/],
      [[join(FIXTURES, 'capture'), '--speed', '2', '--as-fast'], /--speed and --as-fast exclude each other/],
      [[join(FIXTURES, 'capture'), '--speed', 'abc'], /--speed must be a number > 0, got abc/],
      [[join(FIXTURES, 'capture'), '--port', '99999'], /--port must be an integer 0-65535, got 99999/],
      [[join(FIXTURES, 'capture'), '--divergence-status', '200'], /--divergence-status must be an HTTP error status/],
      [[join(FIXTURES, 'capture'), '--fallthrough', 'not a url', '--no-tls'], /fallthrough must be an http\(s\) URL/],
    ]
    for (const [args, re] of cases) {
      const r = await run([...args, '--ca-dir', join(dir, 'ca')]).done
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(r.err).toMatch(re)
    }
  }, 60_000)
})
