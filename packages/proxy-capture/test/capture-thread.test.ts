// The default setup of the CLI: no sinks given, so the capture (engine + file sink) runs on its
// own thread and records come back only for subscribers. The same guarantees as inline.
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readRawRef, type CaptureRecord } from '@agenttap/jsonl-io'
import { redactText } from '@agenttap/session-extractor'
import { createCaptureProxy, type CaptureProxy, type CaptureSink } from '../src/index.js'
import { TunnelAgent as Agent, allFiles, loadFixture, proxiedRequest, readJsonlFile, sseBytes, startTestProxy, startUpstream, tempDir, type TunnelAgent, type Upstream } from './helpers.js'

const SECRET_KEY = 'sk-ant-api03-TESTSECRETaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const anthropic = loadFixture('claude-code-turn.jsonl')
const { host: _host, ...anthropicHeaders } = anthropic.flow.request_headers

let root: string
let logDir: string
let upstream: Upstream
let proxy: CaptureProxy
let agent: TunnelAgent
const records: CaptureRecord[] = []

beforeAll(async () => {
  root = tempDir('agenttap-thread-')
  logDir = join(root, 'logs')
  upstream = await startUpstream(root, { anthropic, openai: anthropic })
  ;({ proxy, agent } = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert }, records))
})
afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
})

const captureDir = (): string => join(logDir, 'all-mitm-sse')
const byFlow = (type: string, flowId: unknown): CaptureRecord[] => records.filter((r) => r.type === type && r.flow_id === flowId)

describe('capture on its own thread', () => {
  it('is the default without custom sinks, and captures a stream event for event, byte-identical to the client', async () => {
    expect(proxy.stats().captureThread).toBe(true)
    const t = 'th1'
    const r = await proxiedRequest(agent, upstream.port, `/v1/messages?t=${t}&split=7`, {
      headers: { ...anthropicHeaders, 'x-api-key': SECRET_KEY, 'content-type': 'application/json', 'x-test-id': t },
      body: JSON.stringify(anthropic.flow.request_body),
    })
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    await proxy.flush()
    const flow = records.find((x) => x.type === 'flow' && String(x['url']).includes(`t=${t}`))!
    expect(flow).toMatchObject({ client: 'claude-code', provider: 'anthropic', session_id: anthropic.flow['session_id'], status: 200 })
    const lines = byFlow('sse', flow.flow_id)
    expect(lines.map((l) => l['data'])).toEqual(anthropic.events.map((e) => redactText(e.data)))
    const [end] = byFlow('flow_end', flow.flow_id)
    expect(end).toMatchObject({ outcome: 'completed', events: anthropic.events.length, bytes: r.body.length })
    // The files hold what the subscribers saw, and the body log the rebuilt, redacted body.
    const onDisk = readJsonlFile(join(captureDir(), 'sse_lines.jsonl')).filter((l) => l['flow_id'] === flow.flow_id)
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(lines)))
    expect((await readRawRef(captureDir(), String(end!['raw']))).toString()).toBe(anthropic.events.map((e) => sseBytes({ ...e, data: redactText(e.data) })).join(''))
    expect(readJsonlFile(join(logDir, 'claude', 'sse_lines.jsonl')).filter((l) => l['flow_id'] === flow.flow_id)).toHaveLength(anthropic.events.length)
  })

  it('keeps 50 concurrent flows apart', async () => {
    const tags = Array.from({ length: 50 }, (_, i) => `thc${i}`)
    const results = await Promise.all(tags.map((t) => proxiedRequest(agent, upstream.port, `/concurrent?t=${t}&n=${t}`, { method: 'GET', headers: { 'x-test-id': t } })))
    results.forEach((r, i) => expect(r.body.equals(upstream.sent.get(tags[i]!)!)).toBe(true))
    await proxy.flush()
    for (const t of tags) {
      const flow = records.find((x) => x.type === 'flow' && String(x['url']).includes(`t=${t}&`))!
      expect(byFlow('sse', flow.flow_id).map((l) => JSON.parse(String(l['data'])))).toEqual(Array.from({ length: 20 }, (_, i) => ({ flow: t, i })))
      expect(byFlow('flow_end', flow.flow_id)).toHaveLength(1)
    }
  })

  it('a capture thread slower than the traffic slows the stream instead of queueing it: the backlog grows to its limit, no further, nothing lost', async () => {
    // A small limit, so that any capture thread is slower than 32 MiB of loopback traffic.
    const limit = 256 * 1024
    const own: CaptureRecord[] = []
    const small = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir: join(root, 'logs-backlog'), includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, maxCaptureBacklogBytes: limit }, own)
    const t = 'thflood'
    const r = await proxiedRequest(small.agent, upstream.port, `/flood?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    expect(r.body.length).toBe(upstream.flood.get(t))
    await small.proxy.flush()
    const s = small.proxy.stats()
    // It grew past the limit, the relay waited for the capture (more than once), and the
    // backlog stayed within one read of the limit (a socket read is at most 64 KiB).
    expect(s.captureBacklogMaxBytes).toBeGreaterThan(limit)
    expect(s.captureStalls).toBeGreaterThan(1)
    expect(s.captureBacklogMaxBytes).toBeLessThanOrEqual(limit + 2 * 64 * 1024)
    expect(s.captureBacklogBytes).toBe(0)
    const flow = own.find((x) => x.type === 'flow' && String(x['url']).includes(`t=${t}`))!
    const [end] = own.filter((x) => x.type === 'flow_end' && x.flow_id === flow.flow_id)
    expect(end).toMatchObject({ outcome: 'completed', bytes: r.body.length, events: Math.round(r.body.length / (r.body.indexOf('\n\n') + 2)) })
    await small.proxy.stop()
  }, 60_000)

  it('feeds a sink with a record port from the capture thread: its records never pass through the proxy\'s thread', async () => {
    const { port1, port2 } = new MessageChannel()
    const viaPort: CaptureRecord[] = []
    port2.on('message', (m: { type: string; records: CaptureRecord[] }) => {
      expect(m.type).toBe('records')
      viaPort.push(...m.records)
    })
    const viaWrite: CaptureRecord[] = []
    let asked = 0
    const sink: CaptureSink = { write: (r) => void viaWrite.push(r), flush: async () => {}, close: async () => {}, recordPort: () => (asked++, port1) }
    const p = createCaptureProxy({ port: 0, caDir: join(root, 'ca'), logDir: join(root, 'logs-port'), includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, sinks: [sink] })
    await p.start()
    try {
      expect(p.stats().captureThread).toBe(true)
      const t = 'thport'
      const r = await proxiedRequest(new Agent(p.port, readFileSync(p.caCertPath, 'utf8')), upstream.port, `/v1/messages?t=${t}&split=5`, {
        headers: { ...anthropicHeaders, 'content-type': 'application/json', 'x-test-id': t },
        body: JSON.stringify(anthropic.flow.request_body),
      })
      expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
      // A record written through the proxy (the OTLP receiver's) takes the same way.
      p.write({ v: 1, type: 'telemetry', ts: new Date().toISOString(), flow_id: '-', session_id: 's-port', signal: 'log', client: 'codex', name: 'codex.user_prompt', attributes: {} } as CaptureRecord)
      await p.flush()
      for (let i = 0; i < 200 && !viaPort.some((x) => x.type === 'telemetry'); i++) await new Promise((res) => setTimeout(res, 5))
      const flow = viaPort.find((x) => x.type === 'flow' && String(x['url']).includes(`t=${t}`))!
      expect(flow).toMatchObject({ client: 'claude-code', status: 200 })
      expect(viaPort.filter((x) => x.type === 'sse' && x.flow_id === flow.flow_id)).toHaveLength(anthropic.events.length)
      expect(viaPort.filter((x) => x.type === 'flow_end' && x.flow_id === flow.flow_id)).toHaveLength(1)
      expect(viaPort.filter((x) => x.type === 'telemetry')).toHaveLength(1)
      expect(asked).toBe(1)
      expect(viaWrite).toEqual([])
    } finally {
      await p.stop()
      port2.close()
    }
  })

  it('with the default limit (8 MiB) the same flood passes with its backlog bounded', async () => {
    const t = 'thflood8'
    const r = await proxiedRequest(agent, upstream.port, `/flood?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    expect(r.body.length).toBe(upstream.flood.get(t))
    await proxy.flush()
    expect(proxy.stats().captureBacklogMaxBytes).toBeGreaterThan(0)
    expect(proxy.stats().captureBacklogMaxBytes).toBeLessThanOrEqual(8 * 1024 * 1024 + 2 * 64 * 1024)
    expect(proxy.stats().captureBacklogBytes).toBe(0)
  }, 60_000)

  it('an upstream that cannot be reached: the client gets a 502, the thread writes the flow and its upstream_error end', async () => {
    const t = 'thdead'
    const dead = await new Promise<number>((resolve) => {
      const s = createServer()
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const r = await proxiedRequest(agent, dead, `/v1/messages?t=${t}`, { headers: { 'content-type': 'application/json', 'x-api-key': SECRET_KEY }, body: '{"model":"x"}' })
    expect(r.status).toBe(502)
    await proxy.flush()
    // No response head ever came: the flow is captured by its host alone, decided on the end op.
    const flow = readJsonlFile(join(captureDir(), 'sse_flows.jsonl')).find((f) => String(f['url']).includes(`t=${t}`))
    expect(flow).toMatchObject({ method: 'POST', request_body: { model: 'x' } })
    expect(readJsonlFile(join(captureDir(), 'sse_flow_ends.jsonl')).filter((e) => e['flow_id'] === flow!['flow_id'])).toEqual([expect.objectContaining({ outcome: 'upstream_error' })])
  })

  it('on stop, ends an open flow as aborted on disk and leaves no secret anywhere', async () => {
    const t = 'thhang'
    const pending = proxiedRequest(agent, upstream.port, `/hang?t=${t}`, { method: 'GET', headers: { 'x-test-id': t, 'x-api-key': SECRET_KEY } })
    const started = (): boolean => {
      const f = records.find((x) => x.type === 'flow' && String(x['url']).includes(t))
      return f !== undefined && byFlow('sse', f.flow_id).length > 0
    }
    for (let i = 0; i < 400 && !started(); i++) await new Promise((r) => setTimeout(r, 5))
    await proxy.stop()
    await pending
    const flows = readJsonlFile(join(captureDir(), 'sse_flows.jsonl'))
    const ends = readJsonlFile(join(captureDir(), 'sse_flow_ends.jsonl'))
    const hung = flows.find((f) => String(f['url']).includes(t))!
    expect(ends.filter((e) => e['flow_id'] === hung['flow_id'])).toEqual([expect.objectContaining({ outcome: 'aborted', error: 'proxy shutdown' })])
    for (const f of flows) expect(ends.filter((e) => e['flow_id'] === f['flow_id'])).toHaveLength(1)
    for (const file of allFiles(logDir)) expect(readFileSync(file, 'latin1').includes('TESTSECRET'), file).toBe(false)
  })
})
