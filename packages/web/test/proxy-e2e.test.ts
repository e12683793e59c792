import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWebServer, type WebServer } from '../src/index.js'
import { streamedFlow, tempLogDir } from './helpers.js'

// End to end through the real capture proxy (apps/proxy, run as its own process): an agent
// stand-in sends a streamed request through it, the proxy writes the canonical files, the web
// view follows them and the page shows the flow without a reload.
const PROXY_BIN = fileURLToPath(new URL('../../../apps/proxy/dist/bin.js', import.meta.url))
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const SESSION = '7b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d'
const PROMPT = '<script>document.title="pwned"</script> list /tmp'

const AGENT = `
const http = require('node:http'), https = require('node:https'), tls = require('node:tls')
const proxy = new URL(process.env.HTTPS_PROXY)
const target = process.argv[2]
const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target })
req.on('connect', (res, socket) => {
  const [host, port] = target.split(':')
  const r = https.request({ host, port, path: '/v1/messages?beta=true', method: 'POST', headers: { 'content-type': 'application/json', 'x-claude-code-session-id': '${SESSION}', 'user-agent': 'claude-cli/2.0.14 (external, cli)', 'x-app': 'cli', authorization: 'Bearer sk-ant-oat01-E2ESECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' },
    createConnection: () => tls.connect({ socket, host }) }, (res) => { res.resume(); res.on('end', () => process.exit(0)) })
  r.end(JSON.stringify({ model: 'claude-sonnet-4-5-20250929', stream: true, max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: ${JSON.stringify(PROMPT)} }] }] }))
})
req.end()
`

describe.skipIf(!existsSync(PROXY_BIN))('through the real proxy (apps/proxy must be built)', () => {
  const logs = tempLogDir(false)
  let upstream: Server
  let web: WebServer
  let browser: Browser

  beforeAll(async () => {
    const keyPath = join(logs.dir, 'up.key')
    const certPath = join(logs.dir, 'up.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
    const events = streamedFlow('x', SESSION, PROMPT, 'ls -la /tmp').sse
    upstream = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let i = 0
      const tick = (): void => {
        const e = events[i++]
        if (!e) return void res.end()
        res.write(`event: ${String(e['event'])}\ndata: ${String(e['data'])}\n\n`)
        setTimeout(tick, 15)
      }
      tick()
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    writeFileSync(join(logs.dir, 'agent.cjs'), AGENT)
    web = createWebServer({ logDir: logs.dir, port: 0, pollMs: 50, pushIntervalMs: 30 })
    await web.start()
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--no-first-run'] })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await web?.close()
    upstream?.closeAllConnections()
    await new Promise((r) => upstream?.close(r))
    logs.cleanup()
  })

  it('a streamed request through agenttap-proxy appears on the open page, with its $ command and usage', async () => {
    const page = await browser.newPage()
    await page.goto(web.url)
    await page.locator('#live.on').waitFor()
    expect(await page.locator('#rows tr.flow-row').count()).toBe(0)

    const port = (upstream.address() as AddressInfo).port
    const proxy = spawn(process.execPath, [
      PROXY_BIN, 'run', '--port', '0', '--quiet', '--ca-dir', join(logs.dir, 'ca'), '--log-dir', logs.dir, '--include-host', '127.0.0.1', '--upstream-ca', join(logs.dir, 'up.pem'),
      '--', process.execPath, join(logs.dir, 'agent.cjs'), `127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proxy.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const code = await new Promise<number | null>((r) => proxy.on('exit', r))
    expect(code, stderr).toBe(0)

    const row = page.locator('#rows tr.flow-row').first()
    await row.waitFor({ timeout: 15_000 })
    await expect.poll(async () => row.textContent(), { timeout: 15_000 }).toContain('completed')
    expect(await row.textContent()).toContain('claude-code')
    await row.click()
    await expect.poll(async () => page.locator('#conversation .s-command').allTextContents(), { timeout: 10_000 }).toEqual(['$ ls -la /tmp'])
    expect((await page.locator('#conversation .s-meta').allTextContents()).join('\n')).toContain('in 12 (cache read 4.3k, cache write 100) · out 77')
    await page.locator('button.tab[data-tab="request"]').click()
    await page.locator('#messages').waitFor()
    expect(await page.locator('#messages').textContent()).toContain(PROMPT)
    expect(await page.title()).toBe('agenttap')
    // The proxy redacted the secret before it reached disk, so it cannot reach the page either.
    const headers = await page.locator('#request').textContent()
    expect(headers).not.toContain('E2ESECRET')
  })
})
