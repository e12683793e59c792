// --connect-to: real host names towards the client and in the capture, a local upstream on the
// wire. The default configuration (capture thread, file sink), real TLS both ways.
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureProxy, type CaptureProxy } from '../src/index.js'
import { loadFixture, readJsonlFile, startTestProxy, startUpstream, tempDir, type ClientResult, type TunnelAgent, type Upstream } from './helpers.js'

const anthropic = loadFixture('claude-code-turn.jsonl')
const openai = loadFixture('codex-turn.jsonl')
const { host: _host, ...anthropicHeaders } = anthropic.flow.request_headers

let root: string
let logDir: string
let upstream: Upstream
let plain: Server
let plainSeen: Array<{ url: string | undefined; host: string | undefined }>
let proxy: CaptureProxy
let agent: TunnelAgent
const records: CaptureRecord[] = []

beforeAll(async () => {
  root = tempDir('agenttap-connect-to-')
  logDir = join(root, 'logs')
  // The stand-in has a certificate for the real names: the proxy verifies it against them.
  upstream = await startUpstream(root, { anthropic, openai }, { names: ['api.anthropic.com', 'chatgpt.com', 'localhost'] })
  plainSeen = []
  plain = createHttpServer((req, res) => {
    plainSeen.push({ url: req.url, host: req.headers.host })
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n')
  })
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r))
  const plainPort = (plain.address() as AddressInfo).port
  ;({ proxy, agent } = await startTestProxy(
    {
      port: 0,
      caDir: join(root, 'ca'),
      logDir,
      upstreamCa: upstream.cert,
      connectTo: [`api.anthropic.com:443:127.0.0.1:${upstream.port}`, `api.anthropic.com:80:127.0.0.1:${plainPort}`, `other.example:443:127.0.0.1:${upstream.port}`, `::127.0.0.1:${upstream.port}`],
    },
    records,
  ))
})
afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
  plain?.closeAllConnections()
  await new Promise((r) => plain?.close(r))
})

function send(host: string, path: string, headers: Record<string, string>, body?: string): Promise<ClientResult> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host, port: 443, path, method: body === undefined ? 'GET' : 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', (error) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error }))
    req.end(body)
  })
}

const flowOf = (t: string): CaptureRecord | undefined => records.find((r) => r.type === 'flow' && String(r['url']).includes(`t=${t}`))

describe('connect-to', () => {
  it('sends api.anthropic.com to the local upstream: SNI, Host and the capture keep the real name', async () => {
    const t = 'ct1'
    const r = await send('api.anthropic.com', `/v1/messages?beta=true&t=${t}`, { ...anthropicHeaders, 'content-type': 'application/json', 'x-test-id': t }, JSON.stringify(anthropic.flow.request_body))
    expect(r.error).toBeUndefined()
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    expect(upstream.seen.get(t)).toEqual({ host: 'api.anthropic.com', servername: 'api.anthropic.com' })
    await proxy.flush()
    const flow = flowOf(t)!
    expect(flow).toMatchObject({ url: `https://api.anthropic.com/v1/messages?beta=true&t=${t}`, host: 'api.anthropic.com', client: 'claude-code', provider: 'anthropic', status: 200 })
    expect(records.find((x) => x.type === 'flow_end' && x.flow_id === flow.flow_id)).toMatchObject({ outcome: 'completed', events: anthropic.events.length })
    // The default path: the files hold the same flow.
    expect(readJsonlFile(join(logDir, 'all-mitm-sse', 'sse_flows.jsonl')).find((f) => f['flow_id'] === flow.flow_id)).toMatchObject({ host: 'api.anthropic.com' })
  })

  it('applies a rule for any host and port to a WebSocket (wss://chatgpt.com/ws → the upstream), names kept', async () => {
    const t = 'ct2'
    const ws = new WebSocket(`wss://chatgpt.com/ws?t=${t}`, { agent, headers: { session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c', originator: 'codex_cli_rs' } })
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-codex', close: 1000 })))
      ws.on('message', (d) => got.push(d.toString()))
      ws.on('close', () => resolve())
      ws.on('error', reject)
    })
    expect(got).toHaveLength(3)
    expect(upstream.seen.get(t)).toEqual({ host: 'chatgpt.com', servername: 'chatgpt.com' })
    await proxy.flush()
    const flow = flowOf(t)!
    expect(flow).toMatchObject({ url: `wss://chatgpt.com/ws?t=${t}`, host: 'chatgpt.com', transport: 'ws', client: 'codex' })
    expect(records.filter((x) => x.type === 'sse' && x.flow_id === flow.flow_id).map((x) => x['data'])).toEqual(got)
  })

  it('verifies the upstream certificate against the real name: a stand-in without it is refused with a 502', async () => {
    const t = 'ct3'
    const r = await send('other.example', `/v1/messages?t=${t}`, { 'x-test-id': t }, '{}')
    expect(r.status).toBe(502)
    expect(JSON.parse(r.body.toString())).toMatchObject({ error: { type: 'agenttap_upstream_error', message: expect.stringMatching(/other\.example/) } })
    expect(upstream.seen.has(t)).toBe(false)
  })

  it('applies to plain-HTTP proxy requests, Host header kept', async () => {
    const t = 'ct4'
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxy.port, path: `http://api.anthropic.com/v1/messages?t=${t}`, method: 'POST', headers: { host: 'api.anthropic.com', 'content-type': 'application/json' } }, (r) => {
        let body = ''
        r.on('data', (c: Buffer) => (body += c.toString()))
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.end('{"model":"claude-x"}')
    })
    expect(res.status).toBe(200)
    expect(res.body).toContain('message_stop')
    expect(plainSeen).toContainEqual({ url: `/v1/messages?t=${t}`, host: 'api.anthropic.com' })
    await proxy.flush()
    expect(flowOf(t)).toMatchObject({ url: `http://api.anthropic.com/v1/messages?t=${t}`, host: 'api.anthropic.com', provider: 'anthropic' })
  })

  it('refuses a malformed rule before listening, saying what is wrong', () => {
    expect(() => createCaptureProxy({ connectTo: ['api.anthropic.com:443:127.0.0.1'] })).toThrow(/connect-to rule .*3 field/)
    expect(() => createCaptureProxy({ connectTo: ['a:443:b:99999'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
  })
})
