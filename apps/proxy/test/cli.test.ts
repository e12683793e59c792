import { execFileSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../src/index.js'

let root: string
let upstream: Server
let upstreamPort: number
let certPath: string

function jsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

// The agent stand-in: a Node script that honours HTTPS_PROXY by hand (Node 20's https does
// not) and trusts the proxy's CA only through NODE_EXTRA_CA_CERTS, like Claude Code does.
const AGENT = `
const http = require('node:http'), https = require('node:https'), tls = require('node:tls')
const proxy = new URL(process.env.HTTPS_PROXY)
const target = process.argv[2]
const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target })
req.on('connect', (res, socket) => {
  const [host, port] = target.split(':')
  const r = https.request({ host, port, path: process.argv[3], method: 'POST', headers: { 'content-type': 'application/json', 'x-claude-code-session-id': '11111111-2222-4333-8444-555555555555', authorization: 'Bearer sk-ant-oat01-CLISECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' },
    createConnection: () => tls.connect({ socket, host }) }, (res) => {
    let body = ''
    res.on('data', (d) => (body += d))
    res.on('end', () => { process.stdout.write(body); process.exit(Number(process.argv[4] || 0)) })
  })
  r.end(JSON.stringify({ model: 'claude-x', messages: [] }))
})
req.end()
`

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agenttap-cli-test-'))
  const keyPath = join(root, 'up.key')
  certPath = join(root, 'up.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:api.anthropic.com'], { stdio: 'ignore' })
  upstream = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    if (req.url === '/deep') {
      // A tool call whose arguments nest 15,000 levels deep (30 KB), in small deltas.
      const sse = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      sse('message_start', { type: 'message_start', message: { id: 'msg_d', type: 'message', role: 'assistant', model: 'claude-x', content: [], usage: { input_tokens: 3, output_tokens: 1 } } })
      sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_deep', name: 'Edit', input: {} } })
      const args = `{"a":${'['.repeat(15_000)}1${']'.repeat(15_000)}}`
      for (let i = 0; i < args.length; i += 16) sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + 16) } })
      sse('content_block_stop', { type: 'content_block_stop', index: 0 })
      sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } })
      return void res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n')
    }
    res.write('event: message_start\ndata: {"type":"message_start"}\n\n')
    if (req.url === '/hang') return
    res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n')
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamPort = (upstream.address() as AddressInfo).port
  writeFileSync(join(root, 'agent.cjs'), AGENT)
})

afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((r) => upstream.close(r))
  rmSync(root, { recursive: true, force: true })
})

/** The proxy and web URLs `start` prints, once both are printed (the signal that it listens). */
async function startedUrls(out: { text: () => string }): Promise<{ proxyUrl: string | undefined; webUrl: string | undefined }> {
  let proxyUrl: string | undefined
  let webUrl: string | undefined
  for (let i = 0; i < 600 && !(proxyUrl && webUrl); i++) {
    proxyUrl = /export HTTPS_PROXY=(\S+)/.exec(out.text())?.[1]
    webUrl = /live web view: (\S+)/.exec(out.text())?.[1]
    if (!(proxyUrl && webUrl)) await new Promise((r) => setTimeout(r, 10))
  }
  return { proxyUrl, webUrl }
}

function captureStdout(): { text: () => string; restore: () => void } {
  let out = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    return true
  }) as typeof process.stdout.write)
  return { text: () => out, restore: () => spy.mockRestore() }
}

describe('agenttap-proxy CLI', () => {
  it('ca --path creates the CA once and prints its certificate path', async () => {
    const out = captureStdout()
    const code = await main(['ca', '--ca-dir', join(root, 'ca'), '--path'])
    out.restore()
    expect(code).toBe(0)
    expect(out.text().trim()).toBe(join(root, 'ca', 'certs', 'ca.pem'))
    expect(existsSync(out.text().trim())).toBe(true)
  })

  it('ca shows the redaction key kept beside the CA (mode 0600)', async () => {
    const out = captureStdout()
    const code = await main(['ca', '--ca-dir', join(root, 'ca')])
    out.restore()
    expect(code).toBe(0)
    const keyPath = join(root, 'ca', 'keys', 'redaction.key')
    expect(out.text()).toContain(`redaction key (keys the [REDACTED:…] markers of captures): ${keyPath}`)
    expect(statSync(keyPath).mode & 0o777).toBe(0o600)
  })

  it('run -- <cmd> routes the command through a proxy it starts, captures the flow and returns the exit code', async () => {
    const logDir = join(root, 'logs-run')
    const code = await main([
      'run', '--port', '0', '--quiet', '--ca-dir', join(root, 'ca'), '--log-dir', logDir, '--include-host', '127.0.0.1', '--upstream-ca', certPath,
      '--', process.execPath, join(root, 'agent.cjs'), `127.0.0.1:${upstreamPort}`, '/v1/messages', '7',
    ])
    expect(code).toBe(7)
    const dir = join(logDir, 'all-mitm-sse')
    const flows = jsonl(join(dir, 'sse_flows.jsonl'))
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({ client: 'claude-code', session_id: '11111111-2222-4333-8444-555555555555', status: 200 })
    expect(jsonl(join(dir, 'sse_lines.jsonl')).map((r) => r['event'])).toEqual(['message_start', 'message_stop'])
    expect(jsonl(join(dir, 'sse_flow_ends.jsonl'))).toMatchObject([{ outcome: 'completed', events: 2 }])
    expect(jsonl(join(logDir, 'claude', 'sse_lines.jsonl'))).toHaveLength(2)
    expect(readFileSync(join(dir, 'sse_flows.jsonl'), 'utf8')).not.toContain('CLISECRET')
    // Markers are keyed with the install's redaction key: a capture alone cannot be tested against guesses.
    const key = readFileSync(join(root, 'ca', 'keys', 'redaction.key'), 'utf8').trim()
    const token = 'sk-ant-oat01-CLISECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
    expect((flows[0] as { request_headers: Record<string, string> }).request_headers['authorization']).toBe(`Bearer sk-ant-oat01-[REDACTED:${createHmac('sha256', key).update(token).digest('hex').slice(0, 12)}]`)
  })

  it('run --connect-to sends api.anthropic.com to the local upstream and captures it under its real name', async () => {
    const logDir = join(root, 'logs-connect-to')
    const code = await main([
      'run', '--port', '0', '--quiet', '--ca-dir', join(root, 'ca'), '--log-dir', logDir, '--upstream-ca', certPath,
      '--connect-to', `api.anthropic.com:443:127.0.0.1:${upstreamPort}`, '--connect-to', `:80:127.0.0.1:${upstreamPort}`,
      '--', process.execPath, join(root, 'agent.cjs'), 'api.anthropic.com:443', '/v1/messages',
    ])
    expect(code).toBe(0)
    const flows = jsonl(join(logDir, 'all-mitm-sse', 'sse_flows.jsonl'))
    expect(flows).toMatchObject([{ url: 'https://api.anthropic.com/v1/messages', host: 'api.anthropic.com', client: 'claude-code', provider: 'anthropic', status: 200 }])
    expect(jsonl(join(logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl'))).toMatchObject([{ outcome: 'completed', events: 2 }])
  })

  it('refuses a malformed --connect-to as a usage error', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const code = await main(['start', '--port', '0', '--quiet', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'logs-bad-ct'), '--connect-to', 'api.anthropic.com:443:127.0.0.1'])
    const said = err.mock.calls.map((c) => String(c[0])).join('')
    err.mockRestore()
    expect(code).toBe(2)
    expect(said).toMatch(/invalid connect-to rule "api\.anthropic\.com:443:127\.0\.0\.1": 3 field/)
  })

  it('run reports a command that cannot start with exit code 127', async () => {
    const code = await main(['run', '--port', '0', '--quiet', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'logs-missing'), '--', join(root, 'no-such-agent')])
    expect(code).toBe(127)
  })

  it('start prints the export lines and on SIGTERM ends open flows as aborted, flushed to disk', async () => {
    const logDir = join(root, 'logs-start')
    const out = captureStdout()
    const running = main(['start', '--port', '0', '--quiet', '--no-monitor', '--no-web', '--ca-dir', join(root, 'ca'), '--log-dir', logDir, '--include-host', '127.0.0.1', '--upstream-ca', certPath])
    let proxyUrl: string | undefined
    for (let i = 0; i < 400 && !proxyUrl; i++) {
      proxyUrl = /export HTTPS_PROXY=(\S+)/.exec(out.text())?.[1]
      if (!proxyUrl) await new Promise((r) => setTimeout(r, 10))
    }
    out.restore()
    expect(proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(out.text()).toContain(`export NODE_EXTRA_CA_CERTS=${join(root, 'ca', 'certs', 'ca.pem')}`)
    expect(out.text()).toContain('export SSL_CERT_FILE=')
    expect(out.text()).toContain('export CODEX_CA_CERTIFICATE=')
    // A hanging stream through the proxy, then the shutdown signal.
    const { spawn } = await import('node:child_process')
    const agent = spawn(process.execPath, [join(root, 'agent.cjs'), `127.0.0.1:${upstreamPort}`, '/hang'], {
      env: { ...process.env, HTTPS_PROXY: proxyUrl!, NODE_EXTRA_CA_CERTS: join(root, 'ca', 'certs', 'ca.pem') },
      stdio: 'ignore',
    })
    const lines = join(logDir, 'all-mitm-sse', 'sse_lines.jsonl')
    for (let i = 0; i < 400 && jsonl(lines).length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    process.emit('SIGTERM')
    expect(await running).toBe(0)
    agent.kill()
    const ends = jsonl(join(logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl'))
    expect(ends).toMatchObject([{ outcome: 'aborted', error: 'proxy shutdown', events: 1 }])
  })

  it('start --redis --web-port 0 (monitor attached): records also reach the Redis stream; the web view serves with its token only; SIGTERM ends it', async () => {
    const { getTestRedis } = await import('../../../test-support/redis.js')
    const { createRedisClient, readRedisStream } = await import('@agenttap/jsonl-io/redis')
    const server = await getTestRedis()
    const stream = `agenttap:test:proxy-cli:${Date.now()}`
    const logDir = join(root, 'logs-redis')
    const out = captureStdout()
    const running = main(['start', '--port', '0', '--quiet', '--web-port', '0', '--redis', server.url, '--stream', stream, '--ca-dir', join(root, 'ca'), '--log-dir', logDir, '--include-host', '127.0.0.1', '--upstream-ca', certPath])
    const { proxyUrl, webUrl } = await startedUrls(out)
    out.restore()
    expect(webUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*token=/)
    // The page keeps the URL's token and sends it in a header; no cookie is ever set.
    const token = new URL(webUrl!).searchParams.get('token')!
    const page = await fetch(webUrl!, { redirect: 'manual' })
    expect(page.status).toBe(200)
    expect(page.headers.get('set-cookie')).toBeNull()
    expect((await fetch(new URL('/api/flows', webUrl!).toString(), { headers: { 'x-agenttap-token': token } })).status).toBe(200)
    expect((await fetch(new URL('/api/flows', webUrl!).toString())).status).toBe(403)
    // The agent runs as its own process (the proxy lives in this one: a sync spawn would block it).
    const { spawn } = await import('node:child_process')
    const agent = spawn(process.execPath, [join(root, 'agent.cjs'), `127.0.0.1:${upstreamPort}`, '/v1/messages'], {
      env: { ...process.env, HTTPS_PROXY: proxyUrl!, NODE_EXTRA_CA_CERTS: join(root, 'ca', 'certs', 'ca.pem') },
      stdio: 'ignore',
    })
    expect(await new Promise((r) => agent.on('exit', r))).toBe(0)
    process.emit('SIGTERM')
    expect(await running).toBe(0)
    const redis = await createRedisClient(server.url)
    for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20))
    const types: string[] = []
    for await (const e of readRedisStream(redis, { stream, from: '0', untilEnd: true })) types.push(String(e.record.type))
    expect(types).toEqual(['flow', 'sse', 'sse', 'flow_end'])
    await redis.del(stream)
    redis.disconnect()
    await server.stop()
  }, 60_000) // starts the proxy, monitor, web view and a Redis sink: seconds on a loaded machine

  it('start with the monitor and the web view attached: 15,000 levels of nested tool arguments never take the proxy down, and the flow detail stays small', async () => {
    const logDir = join(root, 'logs-deep')
    const out = captureStdout()
    const running = main(['start', '--port', '0', '--quiet', '--web-port', '0', '--ca-dir', join(root, 'ca'), '--log-dir', logDir, '--include-host', '127.0.0.1', '--upstream-ca', certPath])
    try {
      const { proxyUrl, webUrl } = await startedUrls(out)
      expect(webUrl).toBeDefined()
      const { spawn } = await import('node:child_process')
      const agent = (path: string) =>
        new Promise((r) =>
          spawn(process.execPath, [join(root, 'agent.cjs'), `127.0.0.1:${upstreamPort}`, path], {
            env: { ...process.env, HTTPS_PROXY: proxyUrl!, NODE_EXTRA_CA_CERTS: join(root, 'ca', 'certs', 'ca.pem') },
            stdio: 'ignore',
          }).on('exit', r),
        )
      expect(await agent('/deep')).toBe(0)
      // the proxy is still there and still captures
      expect(await agent('/v1/messages')).toBe(0)
      for (let i = 0; i < 400 && !/«nested deeper than 64 levels: shown compact»/.test(out.text()); i++) await new Promise((r) => setTimeout(r, 10))
      expect(out.text()).toContain('«nested deeper than 64 levels: shown compact»')
      expect(out.text().length).toBeLessThan(1_000_000)
      const ends = join(logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl')
      for (let i = 0; i < 400 && jsonl(ends).length < 2; i++) await new Promise((r) => setTimeout(r, 10))
      expect(jsonl(ends).map((e) => e['outcome'])).toEqual(['completed', 'completed'])
      // The web view's flow detail of the deep flow: bounded, with the depth marker (it was 450 MB).
      const token = new URL(webUrl!).searchParams.get('token')!
      const deep = jsonl(join(logDir, 'all-mitm-sse', 'sse_flows.jsonl')).find((f) => String(f['url']).endsWith('/deep'))
      expect(deep).toBeDefined()
      const detailUrl = new URL(`/api/flows/${String(deep!['flow_id'])}`, webUrl!).toString()
      let detail = await fetch(detailUrl, { headers: { 'x-agenttap-token': token } })
      // The web view follows the files: wait until it has read the flow's end.
      for (let i = 0; i < 400 && !(detail.status === 200 && (await detail.clone().text()).includes('nested deeper than')); i++) {
        await new Promise((r) => setTimeout(r, 10))
        detail = await fetch(detailUrl, { headers: { 'x-agenttap-token': token } })
      }
      const body = await detail.text()
      expect(detail.status).toBe(200)
      expect(body).toContain('nested deeper than 64 levels')
      expect(body.length).toBeLessThan(200_000)
    } finally {
      process.emit('SIGTERM')
      expect(await running).toBe(0)
      out.restore()
    }
  }, 60_000)

  it('--allow-remote warns by the one loopback rule: 127.0.0.2 is loopback (no warning), 0.0.0.0 is not', async () => {
    const warned = async (host: string): Promise<string> => {
      const out = captureStdout()
      const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
      try {
        const running = main(['start', '--host', host, '--allow-remote', '--port', '0', '--quiet', '--no-monitor', '--no-web', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, `logs-remote-${host}`)])
        for (let i = 0; i < 400 && !out.text().includes('export HTTPS_PROXY='); i++) await new Promise((r) => setTimeout(r, 10))
        expect(out.text()).toContain('export HTTPS_PROXY=')
        process.emit('SIGTERM')
        expect(await running).toBe(0)
        return err.mock.calls.map((c) => String(c[0])).join('')
      } finally {
        err.mockRestore()
        out.restore()
      }
    }
    expect(await warned('127.0.0.2')).not.toContain('non-loopback')
    expect(await warned('0.0.0.0')).toContain('listening on a non-loopback address')
  }, 60_000)

  it('refuses a non-loopback host without --allow-remote (usage error)', async () => {
    const code = await main(['start', '--host', '0.0.0.0', '--port', '0', '--quiet', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'logs-x')])
    expect(code).toBe(2)
  })

  it('refuses a host name that only looks like loopback (127.evil.example) as a usage error', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const code = await main(['start', '--host', '127.evil.example', '--port', '0', '--quiet', '--no-monitor', '--no-web', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'logs-evil')])
    const said = err.mock.calls.map((c) => String(c[0])).join('')
    err.mockRestore()
    expect(code).toBe(2)
    expect(said).toMatch(/refusing to listen on 127\.evil\.example/)
  })
})
