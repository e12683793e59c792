import { readFileSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createReplayServer, loadReplayCapture, type ReplayCapture, type ReplayServer } from '../src/index.js'
import { FIXTURES, fixtureRecords, parseSse, tempDir } from './helpers.js'

let capture: ReplayCapture
let server: ReplayServer
let url: string
let report: string

beforeAll(async () => {
  capture = await loadReplayCapture(join(FIXTURES, 'capture'))
  report = join(tempDir('replay-report-'), 'divergences.jsonl')
  server = createReplayServer({ capture, speed: Infinity, report })
  url = (await server.start()).url
})
afterAll(async () => {
  await server.close()
})

const flowsOf = (name: string) => fixtureRecords(name).filter((r) => r['type'] === 'flow')
const linesOf = (name: string, id: string) => fixtureRecords(name).filter((r) => (r['type'] === 'sse' || r['type'] === 'client_frame') && r['flow_id'] === id)

describe('serving a capture over HTTP', () => {
  it('answers every captured HTTP request of the fixtures with its status, headers and events, event for event', async () => {
    const names = ['claude-code-turn.jsonl', 'codex-turn.jsonl', 'claude-code-2x.jsonl', 'api-error-in-200.jsonl', 'http-errors.jsonl', 'claude-code-aux.jsonl', 'chat-completions-tools.jsonl', 'sdk-conversation.jsonl', 'interleaved-sessions.jsonl', 'codex-early-close.jsonl']
    let checked = 0
    for (const name of names) {
      for (const f of flowsOf(name)) {
        const u = new URL(f['url'] as string)
        const body = f['request_body'] === undefined ? undefined : JSON.stringify(f['request_body'])
        const res = await fetch(`${url}${u.pathname}${u.search}`, { method: f['method'] as string, headers: { 'content-type': 'application/json' }, ...(body !== undefined && f['method'] !== 'GET' ? { body } : {}) })
        const end = fixtureRecords(name).find((r) => r['type'] === 'flow_end' && r['flow_id'] === f['flow_id'])
        expect(res.status, `${name} ${String(f['flow_id'])}`).toBe(f['status'] ?? end?.['status'])
        const text = await res.text()
        const want = linesOf(name, f['flow_id'] as string).map((r) => (r['event'] === undefined ? { data: r['data'] } : { event: r['event'], data: r['data'] }))
        if (want.length > 0) expect(parseSse(text), `${name} ${String(f['flow_id'])}`).toEqual(want)
        else expect(JSON.parse(text)).toEqual(end?.['body'])
        const rh = f['response_headers'] as Record<string, string> | undefined
        for (const [k, v] of Object.entries(rh ?? {})) {
          if (['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'date'].includes(k)) continue
          if (v.includes('[REDACTED:')) expect(res.headers.get(k)).toBeNull()
          else expect(res.headers.get(k), k).toBe(v)
        }
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
  })

  it('answers a request asked again with the next captured response of that fingerprint, then diverges with a provider-shaped error', async () => {
    // The SDK run asked the same first turn twice (an unrelated run with the same body length):
    // both have the same history, so they are served in capture order.
    const turn = flowsOf('claude-code-turn.jsonl')[0] as Record<string, unknown>
    const res = await fetch(`${url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(turn['request_body']) })
    expect(res.status).toBe(400)
    const err = (await res.json()) as { type: string; error: { type: string; message: string } }
    expect(err.type).toBe('error')
    expect(err.error.type).toBe('invalid_request_error')
    expect(err.error.message).toContain('closest captured call cc-turn-1#0')
    expect(err.error.message).toContain('already served')
    const lines = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.at(-1)).toMatchObject({ type: 'divergence', action: 'error', status: 400, closest: { key: 'cc-turn-1#0', used: true }, difference: { field: 'used' } })
  })

  it('names the first differing message of a changed prompt, in the OpenAI shape for a Responses request', async () => {
    const turn = structuredClone(flowsOf('codex-turn.jsonl')[1]) as Record<string, unknown>
    const body = turn['request_body'] as { input: { type?: string; role?: string; content?: { text: string }[] }[] }
    const msg = body.input.find((i) => i.role === 'user' && !i.content?.[0]?.text.startsWith('<'))
    msg!.content![0]!.text = 'Something else entirely'
    const res = await fetch(`${url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(400)
    const err = (await res.json()) as { error: { message: string; type: string; code: string } }
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'replay_divergence' })
    // Its first message is the prompt: no captured call has it, the first Codex turn comes closest.
    expect(err.error.message).toMatch(/closest captured call cx-turn-1#0 .*0 message\(s\) in common\); message 0 differs at character 6: captured user: Fix the failing test in tests\/parse.test.ts, received user: Something else entirely/)
  })
})

describe('serving a WebSocket capture', () => {
  it('answers each response.create frame with its captured frames, several responses on one connection', async () => {
    const lines = linesOf('codex-websocket.jsonl', 'cx-ws-1').sort((a, b) => Number(a['seq']) - Number(b['seq']))
    const frames = lines.filter((l) => l['type'] === 'client_frame').map((l) => l['data'] as string)
    const wantPerResponse: string[][] = []
    for (const l of lines) {
      if (l['type'] === 'client_frame') wantPerResponse.push([])
      else wantPerResponse.at(-1)!.push(l['data'] as string)
    }
    const ws = new WebSocket(`${url.replace('http', 'ws')}/backend-api/codex/responses`)
    const got: string[] = []
    const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.headers))
      ws.once('error', reject)
    })
    const flow = flowsOf('codex-websocket.jsonl')[0] as Record<string, unknown>
    for (const [k, v] of Object.entries(flow['response_headers'] as Record<string, string>)) if (!k.startsWith('sec-websocket') && !['upgrade', 'connection'].includes(k) && !v.includes('[REDACTED:')) expect(headers[k], k).toBe(v)
    ws.on('message', (d) => got.push(d.toString()))
    for (let i = 0; i < frames.length; i++) {
      const before = got.length
      ws.send(frames[i] as string)
      await expect.poll(() => got.length - before, { timeout: 5000 }).toBe(wantPerResponse[i]!.length)
      expect(got.slice(before)).toEqual(wantPerResponse[i])
    }
    // The same first frame again: every equal call is served, so an error frame comes back.
    ws.send(frames[0] as string)
    await expect.poll(() => got.length, { timeout: 5000 }).toBeGreaterThan(wantPerResponse.flat().length)
    expect(JSON.parse(got.at(-1) as string)).toMatchObject({ type: 'error', status: 400, error: { code: 'replay_divergence' } })
    ws.close()
  })
})

describe('pacing', () => {
  it('sends the events at their recorded times (speed 2), and as fast as possible with --as-fast', async () => {
    // A stream with uneven gaps, long enough for timers to show.
    const dir = tempDir('replay-pace-')
    const times = [120, 140, 180, 185, 260, 300, 301, 302, 420, 500]
    const delta = (text: string) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })
    const events = [
      { type: 'message_start', message: { id: 'msg_p', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 3, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      delta('one '), delta('two '), delta('three '), delta('four '), delta('five'),
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } },
      { type: 'message_stop' },
    ]
    const body = { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'pace me' }], tools: [{ name: 'Bash', input_schema: { type: 'object' } }] }
    const recs = [
      { v: 1, type: 'flow', ts: '2026-11-20T10:00:00.000Z', flow_id: 'p1', session_id: 's', flow_seq: 1, client: 'claude-code', provider: 'anthropic', method: 'POST', url: 'https://api.anthropic.com/v1/messages', status: 200, response_headers: { 'content-type': 'text/event-stream' }, request_body: body },
      ...times.map((t, seq) => ({ v: 1, type: 'sse', ts: '2026-11-20T10:00:00.000Z', flow_id: 'p1', session_id: 's', seq, t_ms: t, event: events[seq]!.type, data: JSON.stringify(events[seq]) })),
      { v: 1, type: 'flow_end', ts: '2026-11-20T10:00:00.500Z', flow_id: 'p1', session_id: 's', outcome: 'completed', status: 200, events: times.length, ttfb_ms: 100, duration_ms: 500 },
    ]
    const file = join(dir, 'pace.jsonl')
    writeFileSync(file, recs.map((r) => JSON.stringify(r)).join('\n') + '\n')
    const cap = await loadReplayCapture(file)
    for (const speed of [2, Infinity]) {
      const s = createReplayServer({ capture: cap, speed, report: join(dir, `r-${speed}.jsonl`) })
      const { port } = await s.start()
      const arrivals: number[] = []
      const t0 = performance.now()
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/messages' }, (res) => {
          let buf = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => {
            const now = performance.now() - t0
            buf += c
            const n = buf.split('\n\n').length - 1
            while (arrivals.length < n) arrivals.push(now)
          })
          res.on('end', () => resolve())
        })
        req.on('error', reject)
        req.end(JSON.stringify(body))
      })
      await s.close()
      expect(arrivals.length).toBe(times.length)
      if (speed === 2) {
        // Never before its time ÷ 2 (counted from the request, which the client sent first); a
        // loaded machine may add time, so the upper bound is loose (the bench measures the error).
        for (let i = 0; i < times.length; i++) expect(arrivals[i]!).toBeGreaterThanOrEqual(times[i]! / 2 - 1)
        expect(arrivals.at(-1)!).toBeLessThan(times.at(-1)! / 2 + 200)
      } else expect(arrivals.at(-1)!).toBeLessThan(times.at(-1)! / 2)
    }
  })
})

describe('fall-through', () => {
  it('sends a request the capture has no call for to the real upstream, and reports it', async () => {
    const seen: { url: string; host: string | undefined; body: string }[] = []
    const up = createHttpServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        seen.push({ url: req.url ?? '', host: req.headers.host, body })
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'real' })
        res.end('{"from":"upstream"}')
      })
    })
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()))
    const upPort = (up.address() as { port: number }).port
    const dir = tempDir('replay-ft-')
    const s = createReplayServer({ capture, speed: Infinity, fallthrough: `http://127.0.0.1:${upPort}`, report: join(dir, 'r.jsonl') })
    const { url: u } = await s.start()
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'not in the capture' }], tools: [{ name: 'Bash', input_schema: { type: 'object' } }] })
    const res = await fetch(`${u}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-upstream')).toBe('real')
    expect(await res.json()).toEqual({ from: 'upstream' })
    expect(seen).toEqual([{ url: '/v1/messages?beta=true', host: `127.0.0.1:${upPort}`, body }])
    const summary = await s.close()
    up.close()
    expect(summary).toMatchObject({ divergences: 1, fallthroughs: 1 })
    const lines = readFileSync(join(dir, 'r.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines[0]).toMatchObject({ type: 'divergence', action: 'fallthrough', status: 0, difference: { field: 'model', received: 'claude-sonnet-4-5' } })
  })
})
