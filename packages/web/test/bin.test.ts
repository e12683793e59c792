import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseWebArgs } from '../src/index.js'
import { tempLogDir } from './helpers.js'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

describe('agenttap-web', () => {
  it('parses flags, env defaults and refuses bad ones with the usage', () => {
    const o = parseWebArgs(['--log-dir', '/x', '--port', '0', '--allow-host', 'a.lan', '--allow-host', 'b.lan:8080', '--no-follow'], {})
    expect(o).toMatchObject({ logDir: '/x', port: 0, host: '127.0.0.1', allowHosts: ['a.lan', 'b.lan:8080'], follow: false })
    expect(parseWebArgs([], { AGENTTAP_LOG_DIR: '/logs', AGENTTAP_WEB_TOKEN: 't'.repeat(20) })).toMatchObject({ logDir: '/logs', port: 9115, token: 't'.repeat(20) })
    expect(() => parseWebArgs(['--port', 'abc'], {})).toThrow(/--port: expected an integer/)
    expect(() => parseWebArgs(['--bogus'], {})).toThrow(/usage: agenttap-web/)
  })

  it('prints the URL with its token, serves the capture, and stops on SIGTERM', async () => {
    const cap = tempLogDir(true)
    const child = spawn(process.execPath, [BIN, '--log-dir', cap.dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}/.exec(out)
          if (m) resolve(m[0])
        })
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
      })
      const u = new URL(url)
      const token = u.searchParams.get('token') as string
      expect((await fetch(new URL('/api/flows', u))).status).toBe(403)
      let flows: { flow_id: string }[] = []
      for (let i = 0; i < 100 && flows.length < 9; i++) {
        const r = await fetch(new URL('/api/flows', u), { headers: { authorization: `Bearer ${token}` } })
        expect(r.status).toBe(200)
        flows = ((await r.json()) as { flows: { flow_id: string }[] }).flows
        if (flows.length < 9) await new Promise((r) => setTimeout(r, 20))
      }
      expect(flows.map((f) => f.flow_id)).toContain('cc-turn-1')
      const code = await new Promise<number | null>((resolve) => {
        child.on('exit', (c) => resolve(c))
        child.kill('SIGTERM')
      })
      expect(code).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      cap.cleanup()
    }
  })

  it('exits 1 when the port is taken', async () => {
    const cap = tempLogDir(false)
    const { createServer } = await import('node:net')
    const srv = createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
    const port = (srv.address() as { port: number }).port
    try {
      const child = spawn(process.execPath, [BIN, '--log-dir', cap.dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
      let err = ''
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      expect(code).toBe(1)
      expect(err).toMatch(/cannot listen on 127\.0\.0\.1:\d+/)
    } finally {
      srv.close()
      cap.cleanup()
    }
  })
})
