// The proxy never forwards to itself, whatever the spelling of its address, on the plain-HTTP
// path and through CONNECT; and it binds a name only when the name resolves to loopback.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureProxy, type CaptureProxy } from '../src/index.js'
import { freePort } from '../../../test-support/redis.js'
import { startTestProxy, tempDir, type TunnelAgent } from './helpers.js'

let root: string
let proxy: CaptureProxy
let agent: TunnelAgent
const records: CaptureRecord[] = []

beforeAll(async () => {
  root = tempDir('agenttap-self-loop-')
  ;({ proxy, agent } = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir: join(root, 'logs'), includeHosts: ['0.0.0.0', '2130706433', '0x7f000001', 'localhost', '127.1'] }, records))
})
afterAll(async () => {
  await proxy?.stop()
})

/** A plain proxy request (absolute URL) with the given Host header. */
function plain(hostPort: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxy.port, method: 'GET', path: `http://${hostPort}/v1/models`, headers: { host: hostPort } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A request through a CONNECT tunnel to `host:port`. */
function tunnelled(host: string, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port, method: 'GET', path: '/v1/models', agent }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('forwarding to itself', () => {
  it.each(['2130706433', '0x7f000001', '127.1'])('plain HTTP to %s:<proxy port> (a name resolving to the proxy) is refused with 508, once, not looped', async (spelling) => {
    const before = proxy.stats().flows
    const r = await plain(`${spelling}:${proxy.port}`)
    expect(r.status).toBe(508)
    expect(JSON.parse(r.body)).toMatchObject({ error: { type: 'agenttap_forwarding_loop', message: expect.stringMatching(/this proxy's own address/) } })
    // One flow: the request itself. A loop would have come back through the proxy again and again.
    expect(proxy.stats().flows - before).toBe(1)
  })

  it.each(['0.0.0.0', '[::ffff:127.0.0.1]', '127.0.0.1', 'localhost'])('plain HTTP to %s:<proxy port> (its own address) answers as the proxy, never forwards', async (spelling) => {
    const before = proxy.stats().flows
    const r = await plain(`${spelling}:${proxy.port}`)
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body)).toMatchObject({ error: { type: 'agenttap_not_a_proxy_request' } })
    expect(proxy.stats().flows - before).toBe(0)
  })

  it.each(['0.0.0.0', '2130706433', '0x7f000001', 'localhost'])('through CONNECT %s:<proxy port> the request is refused with 508', async (spelling) => {
    const before = proxy.stats().flows
    const r = await tunnelled(spelling, proxy.port)
    expect(r.status).toBe(508)
    expect(JSON.parse(r.body)).toMatchObject({ error: { type: 'agenttap_forwarding_loop' } })
    expect(proxy.stats().flows - before).toBe(1)
    await proxy.flush()
    const flow = records.filter((x) => x.type === 'flow').at(-1)
    expect(records.find((x) => x.type === 'flow_end' && x.flow_id === flow?.flow_id)).toMatchObject({ outcome: 'upstream_error', error: expect.stringMatching(/own address/) })
  })

  it.each(['0.0.0.0', 'localhost'])('a WebSocket to %s:<proxy port> is refused, not looped', async (spelling) => {
    const before = proxy.stats().flows
    const ws = new WebSocket(`wss://${spelling}:${proxy.port}/ws`, { agent })
    // The client's side may open (the proxy answers the upgrade first); then it is closed.
    await new Promise<void>((resolve) => {
      ws.on('close', () => resolve())
      ws.on('error', () => resolve())
    })
    ws.terminate()
    await proxy.flush()
    expect(proxy.stats().flows - before).toBe(1)
    const flow = records.filter((x) => x.type === 'flow').at(-1)
    expect(flow).toMatchObject({ transport: 'ws', host: spelling })
    expect(records.find((x) => x.type === 'flow_end' && x.flow_id === flow?.flow_id)).toMatchObject({ outcome: 'upstream_error', error: expect.stringMatching(/own address/) })
  })

  it('a connect-to rule pointing back at the proxy is refused the same way, by address or by name', async () => {
    const port = await freePort()
    const own: CaptureRecord[] = []
    const { proxy: p } = await startTestProxy({ port, caDir: join(root, 'ca'), logDir: join(root, 'logs-ct'), connectTo: [`a.example.test:80:127.0.0.1:${port}`, `b.example.test:80:localhost:${port}`] }, own)
    try {
      for (const host of ['a.example.test', 'b.example.test']) {
        const r = await new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: `http://${host}/x` }, (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          })
          req.on('error', reject)
          req.end()
        })
        expect(r, host).toBe(508)
      }
      expect(p.stats().flows).toBe(2)
    } finally {
      await p.stop()
    }
  })
})

describe('binding', () => {
  it('binds a name only when everything it resolves to is loopback', async () => {
    const evil = createCaptureProxy({ host: '127.evil.example', port: 0, caDir: join(root, 'ca'), logDir: join(root, 'logs-evil') })
    await expect(evil.start()).rejects.toMatchObject({ code: 'NON_LOOPBACK_BIND', message: expect.stringMatching(/refusing to listen on 127\.evil\.example/) })
    const local = createCaptureProxy({ host: 'localhost', port: 0, caDir: join(root, 'ca'), logDir: join(root, 'logs-localhost') })
    await local.start()
    expect(local.url).toMatch(/^http:\/\/localhost:\d+$/)
    await local.stop()
    expect(() => createCaptureProxy({ host: '::' })).toThrow(expect.objectContaining({ code: 'NON_LOOPBACK_BIND' }))
    expect(() => createCaptureProxy({ host: '' })).toThrow(expect.objectContaining({ code: 'NON_LOOPBACK_BIND' }))
  })
})
