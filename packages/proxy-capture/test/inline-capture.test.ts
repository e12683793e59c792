// captureThread: false — the same capture side (engine + files) on the proxy's own thread.
// Kept honest by the same checks as the default path: the stream, the files, a WebSocket, stop.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { redactText } from '@agenttap/session-extractor'
import type { CaptureProxy } from '../src/index.js'
import { loadFixture, proxiedRequest, readJsonlFile, startTestProxy, startUpstream, tempDir, type TunnelAgent, type Upstream } from './helpers.js'

const anthropic = loadFixture('claude-code-turn.jsonl')
const { host: _host, ...anthropicHeaders } = anthropic.flow.request_headers

let root: string
let logDir: string
let upstream: Upstream
let proxy: CaptureProxy
let agent: TunnelAgent
const records: CaptureRecord[] = []

beforeAll(async () => {
  root = tempDir('agenttap-inline-')
  logDir = join(root, 'logs')
  upstream = await startUpstream(root, { anthropic, openai: anthropic })
  ;({ proxy, agent } = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, captureThread: false }, records))
})
afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
})

const dir = (): string => join(logDir, 'all-mitm-sse')

describe('capture on the proxy thread (captureThread: false)', () => {
  it('captures a stream event for event into the files, like the capture thread does', async () => {
    expect(proxy.stats().captureThread).toBe(false)
    const t = 'in1'
    const r = await proxiedRequest(agent, upstream.port, `/v1/messages?t=${t}&split=5`, { headers: { ...anthropicHeaders, 'content-type': 'application/json', 'x-test-id': t }, body: JSON.stringify(anthropic.flow.request_body) })
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    await proxy.flush()
    const flow = readJsonlFile(join(dir(), 'sse_flows.jsonl')).find((f) => String(f['url']).includes(`t=${t}`))!
    expect(flow).toMatchObject({ client: 'claude-code', session_id: anthropic.flow['session_id'] })
    const lines = readJsonlFile(join(dir(), 'sse_lines.jsonl')).filter((l) => l['flow_id'] === flow['flow_id'])
    expect(lines.map((l) => l['data'])).toEqual(anthropic.events.map((e) => redactText(e.data)))
    expect(records.filter((x) => x.flow_id === flow['flow_id']).map((x) => x.type)).toEqual(['flow', ...anthropic.events.map(() => 'sse'), 'flow_end'])
  })

  it('writes client frames as client_frame records', async () => {
    const t = 'in2'
    const ws = new WebSocket(`wss://127.0.0.1:${upstream.port}/ws?t=${t}`, { agent })
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'response.create', close: 1000 })))
      ws.on('close', () => resolve())
      ws.on('error', reject)
    })
    await proxy.flush()
    const flow = readJsonlFile(join(dir(), 'sse_flows.jsonl')).find((f) => String(f['url']).includes(`t=${t}`))!
    expect(readJsonlFile(join(dir(), 'sse_lines.jsonl')).filter((l) => l['flow_id'] === flow['flow_id']).map((l) => l['type'])).toEqual(['client_frame', 'sse', 'sse', 'sse'])
  })

  it('on stop, ends an open flow as aborted on disk', async () => {
    const t = 'in3'
    const pending = proxiedRequest(agent, upstream.port, `/hang?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    for (let i = 0; i < 400 && !records.some((x) => x.type === 'sse' && records.some((f) => f.type === 'flow' && f.flow_id === x.flow_id && String(f['url']).includes(t))); i++) await new Promise((r) => setTimeout(r, 5))
    await proxy.stop()
    await pending
    const flow = readJsonlFile(join(dir(), 'sse_flows.jsonl')).find((f) => String(f['url']).includes(`t=${t}`))!
    expect(readJsonlFile(join(dir(), 'sse_flow_ends.jsonl')).filter((e) => e['flow_id'] === flow['flow_id'])).toEqual([expect.objectContaining({ outcome: 'aborted', error: 'proxy shutdown' })])
  })
})
