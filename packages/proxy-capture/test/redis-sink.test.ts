import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisClient, readRedisStream } from '@agenttap/jsonl-io/redis'
import { getTestRedis, startRedisServer, type TestRedis } from '../../../test-support/redis.js'
import { createCaptureProxy, createRedisSink, type CaptureProxy } from '../src/index.js'
import { loadFixture, proxiedRequest, readJsonlFile, startUpstream, steadyValue, tempDir, TunnelAgent, type Upstream } from './helpers.js'

const anthropic = loadFixture('claude-code-turn.jsonl')
const { host: _host, ...headers } = anthropic.flow.request_headers

let root: string
let upstream: Upstream
let server: TestRedis
let redis: Redis

beforeAll(async () => {
  root = tempDir('agenttap-redis-sink-')
  upstream = await startUpstream(root, { anthropic })
  server = await getTestRedis()
  redis = await createRedisClient(server.url)
  for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20))
})
afterAll(async () => {
  redis.disconnect()
  await server.stop()
  await upstream.close()
})

async function startProxy(name: string, redisUrl: string, stream: string, maxQueue?: number) {
  const logDir = join(root, name)
  // The Redis sink's gap notice goes into the capture files through the proxy.
  let gapTo: CaptureProxy | undefined
  const sink = await createRedisSink({ redis: redisUrl, stream, ...(maxQueue !== undefined ? { maxQueue } : {}), onGap: (g) => gapTo?.write(g) })
  const proxy: CaptureProxy = createCaptureProxy({ port: 0, caDir: join(root, 'ca'), logDir, sinks: [sink], includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert })
  gapTo = proxy
  await proxy.start()
  const agent = new TunnelAgent(proxy.port, readFileSync(proxy.caCertPath, 'utf8'))
  const send = async (t: string) => {
    const r = await proxiedRequest(agent, upstream.port, `/v1/messages?beta=true&t=${t}`, { headers: { ...headers, 'content-type': 'application/json', 'x-test-id': t }, body: JSON.stringify(anthropic.flow.request_body) })
    expect(r.error).toBeUndefined()
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true) // the client is never affected by the sink
    return r
  }
  return { proxy, sink, send, logDir }
}

async function streamRecords(client: Redis, stream: string) {
  const out: Array<Record<string, unknown>> = []
  for await (const e of readRedisStream(client, { stream, from: '0', untilEnd: true })) out.push(e.record)
  return out
}

describe('Redis sink', () => {
  it('two proxies feed one stream: every flow arrives whole and in order, nothing mixed', async () => {
    const stream = `agenttap:test:sink:${randomUUID()}`
    const a = await startProxy('a', server.url, stream)
    const b = await startProxy('b', server.url, stream)
    await Promise.all([a.send('a1'), b.send('b1'), a.send('a2'), b.send('b2'), a.send('a3')])
    await a.proxy.stop()
    await b.proxy.stop()
    const recs = await streamRecords(redis, stream)
    const flows = recs.filter((r) => r.type === 'flow')
    expect(flows).toHaveLength(5)
    for (const f of flows) {
      const lines = recs.filter((r) => r.type === 'sse' && r.flow_id === f.flow_id)
      expect(lines.map((l) => l.seq)).toEqual(anthropic.events.map((_, i) => i))
      expect(recs.filter((r) => r.type === 'flow_end' && r.flow_id === f.flow_id)).toHaveLength(1)
    }
    // The stream holds exactly what each proxy wrote to its files.
    const fileCount = (dir: string) =>
      ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].reduce((n, f) => n + readJsonlFile(join(dir, 'all-mitm-sse', f)).length, 0)
    expect(recs.length).toBe(fileCount(a.logDir) + fileCount(b.logDir))
    await redis.del(stream)
  }, 30_000)

  it('Redis restarted while the proxy runs: traffic unaffected, the gap counted in the files', async () => {
    const own = await startRedisServer()
    const stream = 'agenttap:events'
    // The queue holds more than one flow's burst (~40 records) but less than the three flows sent while Redis is down.
    const p = await startProxy('restart', own.url, stream, 60)
    await p.send('r1')
    await p.proxy.flush()
    expect(p.sink.stats.written).toBeGreaterThan(0)
    await own.kill()
    // Redis is down: requests still go through; the sink keeps 60 records, drops the rest.
    for (let i = 2; i <= 4; i++) await p.send(`r${i}`)
    // The capture runs after the client's bytes: wait until the last flow's records are counted.
    const droppedWhileDown = await steadyValue(() => p.sink.stats.dropped, 5, 20)
    expect(droppedWhileDown).toBeGreaterThan(0)
    await own.restart()
    const client = await createRedisClient(own.url)
    for (let i = 0; i < 200 && p.sink.stats.queued > 0; i++) await new Promise((r) => setTimeout(r, 50))
    await p.send('r5')
    await p.proxy.stop()
    const ends = readJsonlFile(join(p.logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl'))
    const gaps = ends.filter((r) => r.type === 'sink_gap')
    expect(gaps).toHaveLength(1)
    expect(gaps[0]).toMatchObject({ sink: 'redis', stream, dropped: droppedWhileDown })
    // Every flow is complete in the files whatever Redis did.
    expect(readJsonlFile(join(p.logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl')).filter((r) => r.type === 'flow_end')).toHaveLength(5)
    // After the restart the stream has the queued records and the last flow.
    const recs = await streamRecords(client, stream)
    expect(recs.filter((r) => r.type === 'flow_end').length).toBeGreaterThanOrEqual(1)
    client.disconnect()
    await own.stop()
  }, 60_000)
})
