// Facts the ledger reads from the capture: the client's WebSocket frames as records, and a flow
// whose terminal event was captured ending `completed` whatever the socket did next. Default
// configuration (capture thread, its file sink), real TLS.
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { readRawRef, type CaptureRecord } from '@agenttap/jsonl-io'
import type { CaptureProxy } from '../src/index.js'
import { loadFixture, readJsonlFile, startTestProxy, startUpstream, tempDir, type TunnelAgent, type Upstream } from './helpers.js'

const anthropic = loadFixture('claude-code-turn.jsonl')
const openai = loadFixture('codex-turn.jsonl')
// A realistic (random-bodied) key: the redactor leaves low-entropy placeholders in free text alone.
const SECRET = 'sk-proj-Qm3Xr8Tz1Lw6Vn4Kc9Hb2Jd7Fs5Ga0PyUe8Ri3Ow6Pq1Mz4Xc7Vb2'
const RANDOM_PART = SECRET.slice(12, 40)

let root: string
let logDir: string
let upstream: Upstream
let proxy: CaptureProxy
let agent: TunnelAgent
const records: CaptureRecord[] = []

beforeAll(async () => {
  root = tempDir('agenttap-wire-facts-')
  logDir = join(root, 'logs')
  upstream = await startUpstream(root, { anthropic, openai })
  ;({ proxy, agent } = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert }, records))
})
afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
})

const captureDir = (): string => join(logDir, 'all-mitm-sse')
const onDisk = (file: string, flowId: string): Record<string, unknown>[] => readJsonlFile(join(captureDir(), file)).filter((r) => r['flow_id'] === flowId)
const flowOf = (t: string): CaptureRecord => {
  const f = readJsonlFile(join(captureDir(), 'sse_flows.jsonl')).find((r) => String(r['url']).includes(`t=${t}`))
  if (!f) throw new Error(`no flow for ${t}`)
  return f as CaptureRecord
}

/** Opens a WebSocket through the proxy; `frames` are sent one per server reply of 3 frames. */
async function wsConversation(t: string, frames: object[], finish: (ws: WebSocket) => void): Promise<string[]> {
  const ws = new WebSocket(`wss://127.0.0.1:${upstream.port}/ws?t=${t}`, { agent, headers: { session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d', originator: 'codex_cli_rs' } })
  const got: string[] = []
  await new Promise<void>((resolve, reject) => {
    let next = 0
    const sendNext = (): void => {
      ws.send(JSON.stringify(frames[next++]))
    }
    ws.on('open', sendNext)
    ws.on('message', (d) => {
      got.push(d.toString())
      if (got.length % 3 !== 0) return
      if (next < frames.length) sendNext()
      else finish(ws)
    })
    ws.on('close', () => resolve())
    ws.on('error', reject)
  })
  return got
}

describe('WebSocket client frames', () => {
  it('every client text frame is a redacted client_frame record in sse_lines, numbered with the server frames', async () => {
    const t = 'wf1'
    const frames = [
      { type: 'response.create', model: 'gpt-5-codex', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list files' }] }] },
      { type: 'response.create', model: 'gpt-5-codex', input: [{ type: 'function_call_output', call_id: 'call_1', output: `done, key ${SECRET}` }] },
    ]
    const got = await wsConversation(t, frames, (ws) => ws.close(1000))
    expect(got).toHaveLength(6)
    // The client's close completes before the proxy's side hears of it: wait for the flow_end.
    const flow = await waitForEnd(t)
    const lines = onDisk('sse_lines.jsonl', flow.flow_id)
    expect(lines.map((l) => [l['type'], l['seq']])).toEqual([
      ['client_frame', 0],
      ['sse', 1],
      ['sse', 2],
      ['sse', 3],
      ['client_frame', 4],
      ['sse', 5],
      ['sse', 6],
      ['sse', 7],
    ])
    const [c0, c1] = lines.filter((l) => l['type'] === 'client_frame')
    expect(c0).toMatchObject({ v: 1, session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d', transport: 'ws', t_ms: expect.any(Number), ts: expect.any(String) })
    expect(JSON.parse(String(c0!['data']))).toEqual(frames[0])
    expect(JSON.parse(String(c1!['data']))).toMatchObject({ input: [{ type: 'function_call_output', call_id: 'call_1', output: expect.stringContaining('done, key ') }] })
    expect(String(c1!['data'])).not.toContain(RANDOM_PART)
    // The first frame is still the flow's request body; the server's frames are `sse` as before.
    expect(flow['request_body']).toEqual(frames[0])
    expect(lines.filter((l) => l['type'] === 'sse').map((l) => l['data'])).toEqual(got)
    // Compatibility: the ref of the later frames stays on the flow_end; `events` counts server frames.
    const [end] = onDisk('sse_flow_ends.jsonl', flow.flow_id)
    expect(end).toMatchObject({ outcome: 'completed', events: 6 })
    const later = (await readRawRef(captureDir(), String(end!['client_frames']))).toString().trim().split('\n')
    expect(later.map((l) => JSON.parse(l) as unknown)).toEqual([JSON.parse(String(c1!['data']))])
    // The records the proxy's subscribers see are the same.
    expect(records.filter((r) => r.flow_id === flow.flow_id && r.type === 'client_frame')).toEqual(JSON.parse(JSON.stringify([c0, c1])))
  })

  it('a secret in any client frame, the first or a later one, reaches no file', async () => {
    const t = 'wf2'
    await wsConversation(t, [{ type: 'response.create', api_key: SECRET }, { type: 'response.create', note: `token ${SECRET}` }], (ws) => ws.close(1000))
    await proxy.flush()
    const flow = flowOf(t)
    for (const file of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) expect(JSON.stringify(onDisk(file, flow.flow_id))).not.toContain(RANDOM_PART)
  })
})

describe('a flow whose terminal event was captured', () => {
  it('ends completed when the client hangs up right after response.completed (Codex), and says what the socket did', async () => {
    const t = 'wf3'
    await new Promise<void>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port: upstream.port, path: `/v1/responses?t=${t}&hang=1`, method: 'POST', agent, headers: { 'content-type': 'application/json', originator: 'codex_cli_rs' } }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => {
          text += c.toString()
          if (text.includes('"type":"response.completed"') && text.endsWith('\n\n')) {
            req.destroy()
            resolve()
          }
        })
      })
      req.on('error', () => undefined)
      req.end(JSON.stringify(openai.flow.request_body))
    })
    const flow = await waitForEnd(t)
    const [end] = onDisk('sse_flow_ends.jsonl', flow.flow_id)
    expect(end).toMatchObject({ outcome: 'completed', events: openai.events.length, closed_after_terminal: expect.stringMatching(/^aborted: client closed/) })
    expect(end!['error']).toBeUndefined()
  })

  it('ends completed when the client drops a WebSocket (no close frame) after response.completed', async () => {
    const t = 'wf4'
    await wsConversation(t, [{ type: 'response.create', model: 'gpt-5-codex' }], (ws) => ws.terminate())
    const flow = await waitForEnd(t)
    expect(onDisk('sse_flow_ends.jsonl', flow.flow_id)).toEqual([expect.objectContaining({ outcome: 'completed', events: 3, closed_after_terminal: expect.stringMatching(/^aborted: /) })])
  })

  it('stays aborted when the client hangs up before the terminal event', async () => {
    const t = 'wf5'
    await new Promise<void>((resolve) => {
      // Every event but message_stop, then the stream stays open; the client leaves after message_delta.
      const req = httpsRequest({ host: '127.0.0.1', port: upstream.port, path: `/v1/messages?t=${t}&upto=${anthropic.events.length - 1}`, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => {
          text += c.toString()
          if (text.includes('"type":"message_delta"') && text.endsWith('\n\n')) {
            req.destroy()
            resolve()
          }
        })
      })
      req.on('error', () => undefined)
      req.end(JSON.stringify(anthropic.flow.request_body))
    })
    const flow = await waitForEnd(t)
    const [end] = onDisk('sse_flow_ends.jsonl', flow.flow_id)
    expect(end).toMatchObject({ outcome: 'aborted', events: anthropic.events.length - 1, error: expect.stringMatching(/client closed/) })
    expect(end!['closed_after_terminal']).toBeUndefined()
  })
})

/** Flushes until the flow of `t` has its flow_end on disk (the proxy hears of a client's close asynchronously). */
async function waitForEnd(t: string): Promise<CaptureRecord> {
  for (let i = 0; i < 500; i++) {
    await proxy.flush()
    const f = readJsonlFile(join(captureDir(), 'sse_flows.jsonl')).find((r) => String(r['url']).includes(`t=${t}`))
    if (f && onDisk('sse_flow_ends.jsonl', String(f['flow_id'])).length > 0) return f as CaptureRecord
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`no flow_end for ${t}`)
}
