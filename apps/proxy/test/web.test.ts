/** `agenttap-proxy web` as a process: the standalone web view, its flags, exit codes and loopback rule. */
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))

function logRoot(withCapture: boolean): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'agenttap-proxy-web-'))
  if (withCapture) cpSync(join(FIXTURES, 'capture'), dir, { recursive: true })
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

function run(args: string[]): { done: Promise<{ code: number | null; out: string; err: string }>; child: ReturnType<typeof spawn>; out: () => string } {
  const child = spawn(process.execPath, [BIN, 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTTAP_WEB_TOKEN: '' } })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })))
  return { done, child, out: () => out }
}

describe('agenttap-proxy web', () => {
  it('prints the URL with its token, serves the capture to the token header only, and stops on SIGTERM', async () => {
    const cap = logRoot(true)
    const p = run(['--log-dir', cap.dir, '--port', '0'])
    try {
      const url = await new Promise<string>((resolve, reject) => {
        p.child.stdout?.on('data', () => {
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}/.exec(p.out())
          if (m) resolve(m[0])
        })
        void p.done.then((r) => reject(new Error(`exited ${r.code}: ${r.out}${r.err}`)))
      })
      const u = new URL(url)
      const token = u.searchParams.get('token') as string
      expect((await fetch(new URL('/api/flows', u))).status).toBe(403)
      let flows: { flow_id: string }[] = []
      for (let i = 0; i < 100 && flows.length < 9; i++) {
        const r = await fetch(new URL('/api/flows', u), { headers: { 'x-agenttap-token': token } })
        expect(r.status).toBe(200)
        expect(r.headers.get('set-cookie')).toBeNull()
        flows = ((await r.json()) as { flows: { flow_id: string }[] }).flows
        if (flows.length < 9) await new Promise((r) => setTimeout(r, 20))
      }
      expect(flows.map((f) => f.flow_id)).toContain('cc-turn-1')
      p.child.kill('SIGTERM')
      expect((await p.done).code).toBe(0)
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL')
      cap.cleanup()
    }
  }, 60_000)

  it('refuses a host that is not loopback without --allow-remote (exit 2), like the proxy', async () => {
    const cap = logRoot(false)
    try {
      for (const host of ['0.0.0.0', '::']) {
        const r = await run(['--log-dir', cap.dir, '--port', '0', '--host', host]).done
        expect(r.code, r.err).toBe(2)
        expect(r.err).toMatch(/refusing to listen on .* not a loopback address.*--allow-remote/)
        expect(r.out).not.toMatch(/token=/)
      }
    } finally {
      cap.cleanup()
    }
  }, 60_000)

  it('bad flags are usage errors (exit 2); a taken port is exit 1', async () => {
    const cap = logRoot(false)
    const { createServer } = await import('node:net')
    const srv = createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
    const port = (srv.address() as { port: number }).port
    try {
      const bad = await run(['--port', 'abc']).done
      expect(bad.code).toBe(2)
      expect(bad.err).toMatch(/--port: expected a port 0-65535, received "abc"/)
      expect((await run(['--bogus']).done).code).toBe(2)
      const short = await run(['--log-dir', cap.dir, '--token', 'short']).done
      expect(short.code).toBe(2)
      expect(short.err).toMatch(/token: expected at least 16/)
      const taken = await run(['--log-dir', cap.dir, '--port', String(port)]).done
      expect(taken.code).toBe(1)
      expect(taken.err).toMatch(/cannot listen on 127\.0\.0\.1:\d+/)
    } finally {
      srv.close()
      cap.cleanup()
    }
  }, 60_000)
})
