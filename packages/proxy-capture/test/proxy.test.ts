import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { readRawRef, type CaptureRecord } from '@agenttap/jsonl-io'
import { redactText } from '@agenttap/session-extractor'
import { createSseFramer } from '@agenttap/stream-normalizer'
import { createCaptureProxy, createFileSink, HEALTH_PATH, type CaptureProxy } from '../src/index.js'

type FramedSseEvent = { event?: string; data: string; id?: string; truncated?: true }
import { allFiles, loadFixture, proxiedRequest, SPLIT_KEY, sseBytes, readJsonlFile, startTestProxy, startUpstream, steadyValue, tempDir, TunnelAgent, type Upstream } from './helpers.js'

const SECRET_KEY = 'sk-ant-api03-TESTSECRETaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const SECRET_BEARER = 'sk-ant-oat01-TESTSECRETbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
const SECRET_BODY = 'sk-proj-TESTSECRETcccccccccccccccccccccccccccccccccccc'
// Realistic (random-bodied) keys: the redactor leaves low-entropy placeholders in free text alone.
const ECHO_KEY = 'sk-ant-api03-Hw4Tq9Zr2Xm7Lp5Vc8Nb1Jd6Kf3Gs0Ya-Ue9Ri4Ow7Pq2Mz5Xc8Vb1Nm3Lk6Jh9Gf2Ds5Aq8We4Rt7Yu1Io0Pl3AA'
const ECHO_PROJ = 'sk-proj-Rk7Wm2Qz9Xv4Lp8Tn3Hc6Jb1Fd5Gs0AyUe9Ri4Ow7Pq2Mz5Xc8Vb1'
/** Random parts of every key a test server sends back; none may be found on disk. */
const ECHOED = [SPLIT_KEY.slice(20, 40), ECHO_KEY.slice(20, 40), ECHO_PROJ.slice(10, 30)]

const anthropic = loadFixture('claude-code-turn.jsonl')
const openai = loadFixture('codex-turn.jsonl')

let root: string
let logDir: string
let upstream: Upstream
let proxy: CaptureProxy
let agent: TunnelAgent
const records: CaptureRecord[] = []
let counter = 0

function frameAll(buf: Buffer): FramedSseEvent[] {
  const out: FramedSseEvent[] = []
  const f = createSseFramer({
    onEvent: (_seq, event, data, truncated, id) => {
      const e: FramedSseEvent = { data }
      if (event !== undefined) e.event = event
      if (id !== undefined) e.id = id
      if (truncated) e.truncated = true
      out.push(e)
    },
  })
  f.feed(buf)
  f.end()
  return out
}

async function waitFor<T>(fn: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const v = fn()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error(`timed out waiting for ${what}`)
}

function flowOf(tag: string): Record<string, unknown> | undefined {
  return records.find((r) => r.type === 'flow' && String(r['url']).includes(`t=${tag}`)) as Record<string, unknown> | undefined
}

async function endOf(tag: string): Promise<{ flow: Record<string, unknown>; end: Record<string, unknown>; lines: Record<string, unknown>[] }> {
  const flow = await waitFor(() => flowOf(tag), `flow ${tag}`)
  const end = await waitFor(() => records.find((r) => r.type === 'flow_end' && r.flow_id === flow['flow_id']) as Record<string, unknown> | undefined, `flow_end ${tag}`)
  const lines = records.filter((r) => r.type === 'sse' && r.flow_id === flow['flow_id']) as Record<string, unknown>[]
  return { flow, end, lines }
}

function withoutHost(h: Record<string, string>): Record<string, string> {
  const { host: _host, ...rest } = h
  return rest
}

function tag(): string {
  return `t${++counter}`
}

beforeAll(async () => {
  root = tempDir('agenttap-proxy-test-')
  logDir = join(root, 'logs')
  upstream = await startUpstream(root, { anthropic, openai })
  const logger = process.env['DEBUG_PROXY'] ? { logger: (await import('pino')).pino({ level: 'debug' }, process.stderr) } : {}
  ;({ proxy, agent } = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, ...logger }, records))
})

afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
})

describe('capture proxy over real TLS', () => {
  it('passes an Anthropic SSE stream through byte-identical and captures it event for event', async () => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/v1/messages?beta=true&t=${t}&split=13`, {
      headers: {
        ...withoutHost(anthropic.flow.request_headers),
        authorization: `Bearer ${SECRET_BEARER}`,
        'x-api-key': SECRET_KEY,
        'content-type': 'application/json',
        'x-test-id': t,
      },
      body: JSON.stringify(anthropic.flow.request_body),
    })
    expect(r.error).toBeUndefined()
    expect(r.status).toBe(200)
    expect(r.headers['request-id']).toBe('req_test')
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    const { flow, end, lines } = await endOf(t)
    expect(flow['client']).toBe('claude-code')
    expect(flow['provider']).toBe('anthropic')
    expect(flow['session_id']).toBe(anthropic.flow['session_id'])
    expect(flow['status']).toBe(200)
    expect(JSON.stringify(flow)).not.toContain('TESTSECRET')
    expect(lines.map((l) => ({ event: l['event'], data: l['data'] }))).toEqual(anthropic.events.map((e) => ({ event: e.event, data: redactText(e.data) })))
    expect(lines.map((l) => l['seq'])).toEqual(anthropic.events.map((_, i) => i))
    expect(lines.every((l) => l['session_id'] === flow['session_id'] && l['transport'] === 'sse')).toBe(true)
    expect(end).toMatchObject({ outcome: 'completed', status: 200, events: anthropic.events.length, bytes: r.body.length })
    expect(typeof end['ttfb_ms']).toBe('number')
    await proxy.flush()
    // Default rawBodies 'redacted': sse_logs/ holds the body rebuilt from the redacted records.
    // Small bodies share this process's body log: the ref is a byte range, after a header naming the body.
    expect(String(end['raw'])).toMatch(/^sse_logs\/bodies-\d{8}T\d{6}Z-\d+\.log#bytes=\d+-\d+$/)
    const logText = readFileSync(join(logDir, 'all-mitm-sse', String(end['raw']).split('#')[0]!), 'utf8')
    expect(logText).toContain(`=== agenttap ${String(end['flow_id'])}.response.redacted.txt `)
    expect(logText).toContain(`=== agenttap ${String(end['flow_id'])}.request.json `)
    expect(String(flow['request_raw'])).toMatch(/^sse_logs\/bodies-.*#bytes=/)
    expect(JSON.parse((await readRawRef(join(logDir, 'all-mitm-sse'), String(flow['request_raw']))).toString())).toEqual(flow['request_body'])
    expect((await readRawRef(join(logDir, 'all-mitm-sse'), String(end['raw']))).toString()).toBe(anthropic.events.map((e) => sseBytes({ ...e, data: redactText(e.data) })).join(''))
  })

  it.each(['gzip', 'br'])('passes a %s-encoded Responses stream through untouched and captures the decoded events', async (enc) => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/v1/responses?t=${t}&enc=${enc}`, {
      headers: { ...withoutHost(openai.flow.request_headers), authorization: `Bearer ${SECRET_BEARER}`, 'content-type': 'application/json', 'x-test-id': t },
      body: JSON.stringify(openai.flow.request_body),
    })
    expect(r.headers['content-encoding']).toBe(enc)
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    const { flow, end, lines } = await endOf(t)
    expect(flow['client']).toBe('codex')
    expect(flow['session_id']).toBe(openai.flow['session_id'])
    expect(lines.map((l) => l['data'])).toEqual(openai.events.map((e) => redactText(e.data)))
    expect(end).toMatchObject({ outcome: 'completed', encoding: enc, events: openai.events.length })
  })

  it('keeps zstd bytes it cannot decode and says so in the flow_end', async () => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/zstd?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    const { end } = await endOf(t)
    expect(end['outcome']).toBe('completed')
    if (!('createZstdDecompress' in (await import('node:zlib')))) expect(end['encoding_unsupported']).toBe('zstd')
  })

  it('redacts a secret the server splits across two SSE events, and still delivers it untouched to the client', async () => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/split-secret?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    const head = SPLIT_KEY.slice(13, 20) // the random part inside the first half
    const tail = SPLIT_KEY.slice(20, 40)
    expect(r.body.toString()).toContain(head)
    expect(r.body.toString()).toContain(tail)
    const { lines, end } = await endOf(t)
    expect(lines.map((l) => l['event'])).toEqual(['content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_stop'])
    expect(lines.map((l) => l['seq'])).toEqual([0, 1, 2, 3, 4])
    expect(JSON.stringify(lines)).not.toContain(head)
    expect(JSON.stringify(lines)).not.toContain(tail)
    expect(JSON.stringify(lines)).toContain('keep it safe')
    expect(end).toMatchObject({ outcome: 'completed', events: 5 })
  })

  it('streams: the client gets the first event while the upstream is still waiting', async () => {
    const t = tag()
    let released = false
    const r = await proxiedRequest(agent, upstream.port, `/drip?t=${t}`, {
      method: 'GET',
      headers: { 'x-test-id': t },
      onChunk: (c) => {
        if (!released && c.toString().includes('first')) {
          released = true
          upstream.gates.get(t)!()
        }
      },
    })
    expect(released).toBe(true)
    expect(frameAll(r.body).map((e) => e.event)).toEqual(['first', 'second'])
    const { lines, end } = await endOf(t)
    expect(lines.map((l) => l['event'])).toEqual(['first', 'second'])
    expect(end['outcome']).toBe('completed')
  })

  it('passes backpressure on: a client that stops reading stalls the upstream instead of filling the proxy', async () => {
    const t = tag()
    let paused: import('node:http').IncomingMessage | undefined
    let got = 0
    const done = new Promise<void>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: upstream.port, path: `/flood?t=${t}`, agent, headers: { 'x-test-id': t } }, (res) => {
        res.once('data', (c: Buffer) => {
          got += c.length
          res.pause()
          paused = res
          res.on('data', (c2: Buffer) => (got += c2.length))
        })
        res.on('end', resolve)
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
    await waitFor(() => paused, 'first chunk')
    // Wait until the upstream can't write any more (its count stops moving).
    const last = await steadyValue(() => upstream.flood.get(t) ?? 0, 20, 25)
    // Socket buffers along the path hold ~8 MiB here; all 32 MiB written would mean buffering.
    expect(last).toBeLessThan(20 * 1024 * 1024)
    // And the stall is backpressure, not a slow upstream: a backlog did build up between the
    // upstream and the paused client (it wrote megabytes more than the client read) before it stopped.
    expect(last - got).toBeGreaterThan(1024 * 1024)
    paused!.resume()
    await done
    expect(got).toBe(upstream.flood.get(t))
    const { end } = await endOf(t)
    expect(end).toMatchObject({ outcome: 'completed', bytes: got })
  }, 30_000)

  it('records an upstream reset mid-stream as upstream_error and the client sees a broken response', async () => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/reset?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    expect(r.error).toBeDefined()
    const { lines, end } = await endOf(t)
    expect(lines.map((l) => l['event'])).toEqual(['a', 'b'])
    expect(end['outcome']).toBe('upstream_error')
    expect(String(end['error'])).toMatch(/upstream/)
  })

  it('records a client abort and closes the upstream request', async () => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/hang?t=${t}`, {
      method: 'GET',
      headers: { 'x-test-id': t },
      onChunk: (_c, req) => req.destroy(),
    })
    expect(r.body.toString()).toContain('start')
    const { end } = await endOf(t)
    expect(end['outcome']).toBe('aborted')
    await waitFor(() => (upstream.closedEarly.has(t) ? true : undefined), 'upstream close')
  })

  it('answers 502 with a JSON error when the upstream is unreachable, and records it', async () => {
    const t = tag()
    const dead = await import('node:net').then(
      (net) =>
        new Promise<number>((resolve) => {
          const s = net.createServer()
          s.listen(0, '127.0.0.1', () => {
            const p = (s.address() as { port: number }).port
            s.close(() => resolve(p))
          })
        }),
    )
    const r = await proxiedRequest(agent, dead, `/v1/messages?t=${t}`, { headers: { 'content-type': 'application/json' }, body: '{"model":"x"}' })
    expect(r.status).toBe(502)
    expect(JSON.parse(r.body.toString())).toMatchObject({ type: 'error', error: { type: 'agenttap_upstream_error' } })
    const { end } = await endOf(t)
    expect(end['outcome']).toBe('upstream_error')
  })

  it('captures non-streaming JSON responses with their body, and HTTP errors as outcome error', async () => {
    const t1 = tag()
    const r = await proxiedRequest(agent, upstream.port, `/json?t=${t1}`, { headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(JSON.parse(r.body.toString())).toMatchObject({ id: 'msg_1' })
    const a = await endOf(t1)
    expect(a.end).toMatchObject({ outcome: 'completed', events: 0, body: { id: 'msg_1', usage: { input_tokens: 3 } } })
    const t2 = tag()
    const r2 = await proxiedRequest(agent, upstream.port, `/error?t=${t2}`, { body: '{}' })
    expect(r2.status).toBe(529)
    const b = await endOf(t2)
    expect(b.end).toMatchObject({ outcome: 'error', status: 529, body: { error: { type: 'overloaded_error' } } })
  })

  it('keeps going through malformed SSE: junk bytes and an unterminated last event are recorded, flagged', async () => {
    const t = tag()
    const r = await proxiedRequest(agent, upstream.port, `/malformed?t=${t}`, { method: 'GET', headers: { 'x-test-id': t } })
    expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
    const { lines, end } = await endOf(t)
    expect(lines.map((l) => l['data'])).toEqual(['{"ok":true}', '{"partial":'])
    expect(lines[1]).toMatchObject({ event: 'cut', truncated: true })
    expect(end).toMatchObject({ outcome: 'completed', truncated: true })
  })

  it('passes WebSocket frames both ways and captures server text frames as transport ws', async () => {
    const t = tag()
    const ws = new WebSocket(`wss://127.0.0.1:${upstream.port}/ws?t=${t}`, {
      agent,
      headers: { session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', originator: 'codex_cli_rs', authorization: `Bearer ${SECRET_BEARER}` },
    })
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-codex', prompt_cache_key: 'pck', api_key: SECRET_BODY, close: 1000 })))
      ws.on('message', (d) => got.push(d.toString()))
      ws.on('close', () => resolve())
      ws.on('error', reject)
    })
    expect(got).toHaveLength(3)
    expect(JSON.parse(got[1]!)).toMatchObject({ delta: 'héllo 😀' })
    const { flow, lines, end } = await endOf(t)
    expect(flow).toMatchObject({ transport: 'ws', status: 101, client: 'codex', session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' })
    expect((flow['request_body'] as Record<string, unknown>)['model']).toBe('gpt-5-codex')
    expect(lines.map((l) => l['data'])).toEqual(got)
    expect(lines.every((l) => l['transport'] === 'ws')).toBe(true)
    expect(end['outcome']).toBe('completed')
    expect(JSON.stringify(flow)).not.toContain('TESTSECRET')
  })

  it('passes WebSocket backpressure on: a reader that stops stalls the upstream sender', async () => {
    const t = tag()
    const ws = new WebSocket(`wss://127.0.0.1:${upstream.port}/ws?t=${t}`, { agent })
    let got = 0
    let first = false
    const closed = new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ flood: t })))
      ws.on('message', (d: Buffer) => {
        got += d.length
        if (!first) {
          first = true
          ws.pause()
        }
      })
      ws.on('close', () => resolve())
      ws.on('error', reject)
    })
    await waitFor(() => (first ? true : undefined), 'first frame')
    const last = await steadyValue(() => upstream.flood.get(t) ?? 0, 20, 25)
    // Loopback socket buffers absorb ~10-15 MiB here; all 32 MiB read would mean the proxy
    // queued everything in memory.
    expect(last).toBeLessThan(24 * 1024 * 1024)
    // A backlog did build up behind the paused reader before the sender stopped.
    expect(last - got).toBeGreaterThan(1024 * 1024)
    ws.resume()
    await closed
    expect(got).toBe(upstream.flood.get(t))
    const { end, lines } = await endOf(t)
    expect(end['outcome']).toBe('completed')
    expect(lines.length).toBe(Math.round(got / lines[0]!['data']!.toString().length))
  }, 30_000)

  it('captures 50 concurrent flows with no cross-flow mixing', async () => {
    const tags = Array.from({ length: 50 }, () => tag())
    const results = await Promise.all(
      tags.map((t) => proxiedRequest(agent, upstream.port, `/concurrent?t=${t}&n=${t}`, { method: 'GET', headers: { 'x-test-id': t } })),
    )
    results.forEach((r, i) => expect(r.body.equals(upstream.sent.get(tags[i]!)!)).toBe(true))
    for (const t of tags) {
      const { lines, end } = await endOf(t)
      expect(end['events']).toBe(20)
      expect(lines.map((l) => JSON.parse(String(l['data'])))).toEqual(Array.from({ length: 20 }, (_, i) => ({ flow: t, i })))
    }
    const ids = new Set(tags.map((t) => flowOf(t)!['flow_id']))
    expect(ids.size).toBe(50)
  })

  it('serves its health endpoint instead of proxying to itself', async () => {
    const res = await fetch(`http://127.0.0.1:${proxy.port}${HEALTH_PATH}`)
    expect(await res.json()).toMatchObject({ agenttap: 'proxy', port: proxy.port })
  })

  it('tells the user when a client does not trust the agenttap CA', async () => {
    const lines: string[] = []
    const { pino } = await import('pino')
    const { Writable } = await import('node:stream')
    const sinkStream = new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString())
        cb()
      },
    })
    const p2 = createCaptureProxy({ port: 0, caDir: join(root, 'ca'), logDir: join(root, 'logs-untrusted'), includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, logger: pino({ level: 'warn' }, sinkStream) })
    await p2.start()
    // This client trusts only the upstream's own certificate, not agenttap's CA.
    const r = await proxiedRequest(new TunnelAgent(p2.port, upstream.cert), upstream.port, '/json', { body: '{}' })
    expect(r.error?.message).toMatch(/certificate/i)
    await waitFor(() => (lines.some((l) => l.includes('does not trust the agenttap CA')) ? true : undefined), 'untrusted-CA warning')
    await p2.stop()
  })

  it('with rawBodies "redacted", keeps a decoded, redacted copy of the body instead of the wire bytes', async () => {
    const logDir2 = join(root, 'logs-redacted-raw')
    const p2 = createCaptureProxy({ port: 0, caDir: join(root, 'ca'), logDir: logDir2, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, rawBodies: 'redacted' })
    const ends: CaptureRecord[] = []
    p2.onRecord((r) => r.type === 'flow_end' && ends.push(r))
    await p2.start()
    const t = tag()
    const r = await proxiedRequest(new TunnelAgent(p2.port, readFileSync(p2.caCertPath, 'utf8')), upstream.port, `/split-secret?t=${t}&enc=gzip`, { method: 'GET', headers: { 'x-test-id': t } })
    expect(r.headers['content-encoding']).toBe('gzip')
    const end = await waitFor(() => ends[0], 'flow_end')
    await p2.flush()
    const text = (await readRawRef(join(logDir2, 'all-mitm-sse'), String(end['raw']))).toString()
    expect(readFileSync(join(logDir2, 'all-mitm-sse', String(end['raw']).split('#')[0]!), 'utf8')).toContain(`${String(end['flow_id'])}.response.redacted.txt`)
    expect(text).toContain('event: content_block_delta')
    expect(text).toContain('keep it safe')
    expect(text).not.toContain(SPLIT_KEY.slice(20, 40))
    await p2.stop()
  })

  it('with rawBodies "exact" (explicit, unsafe opt-in), keeps the byte-exact wire body, secrets included', async () => {
    const logDir2 = join(root, 'logs-exact-raw')
    const p2 = createCaptureProxy({ port: 0, caDir: join(root, 'ca'), logDir: logDir2, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, rawBodies: 'exact' })
    const ends: CaptureRecord[] = []
    p2.onRecord((r) => r.type === 'flow_end' && ends.push(r))
    await p2.start()
    const a2 = new TunnelAgent(p2.port, readFileSync(p2.caCertPath, 'utf8'))
    const t = tag()
    const r = await proxiedRequest(a2, upstream.port, `/v1/messages?t=${t}&split=13`, {
      headers: { ...withoutHost(anthropic.flow.request_headers), 'content-type': 'application/json', 'x-test-id': t },
      body: JSON.stringify(anthropic.flow.request_body),
    })
    const t2 = tag()
    const r2 = await proxiedRequest(a2, upstream.port, `/split-secret?t=${t2}`, { method: 'GET', headers: { 'x-test-id': t2 } })
    await waitFor(() => (ends.length === 2 ? true : undefined), 'two flow_ends')
    await p2.flush()
    const rawOf = (i: number): Promise<Buffer> => readRawRef(join(logDir2, 'all-mitm-sse'), String(ends[i]!['raw']))
    expect(readFileSync(join(logDir2, 'all-mitm-sse', String(ends[0]!['raw']).split('#')[0]!), 'utf8')).toContain(`${String(ends[0]!['flow_id'])}.response.raw`)
    expect((await rawOf(0)).equals(r.body)).toBe(true)
    // What makes it unsafe: the server's bytes are kept as sent, a key echoed by the model too.
    expect((await rawOf(1)).equals(r2.body)).toBe(true)
    expect((await rawOf(1)).toString()).toContain(SPLIT_KEY.slice(20, 40))
    await p2.stop()
  })

  it('with the default rawBodies, no secret reaches any file under the log root, sse_logs/ included', async () => {
    const t1 = tag()
    const echoed = await proxiedRequest(agent, upstream.port, `/echo?t=${t1}`, {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET_BEARER}`, 'x-test-id': t1 },
      body: JSON.stringify({ api_key: ECHO_PROJ, note: `key ${ECHO_KEY}` }),
    })
    expect(echoed.body.toString()).toContain(ECHO_KEY) // the server did send the keys back
    const t2 = tag()
    const split = await proxiedRequest(agent, upstream.port, `/split-secret?t=${t2}&enc=gzip`, { method: 'GET', headers: { 'x-test-id': t2 } })
    expect(split.headers['content-encoding']).toBe('gzip')
    const a = await endOf(t1)
    const b = await endOf(t2)
    await proxy.flush()
    const rawDir = join(logDir, 'all-mitm-sse', 'sse_logs')
    for (const e of [a.end, b.end]) expect((await readRawRef(join(logDir, 'all-mitm-sse'), String(e['raw']))).length).toBeGreaterThan(0)
    expect((await readRawRef(join(logDir, 'all-mitm-sse'), String(b.end['raw']))).toString()).toContain('keep it safe')
    const files = allFiles(logDir)
    expect(files.filter((f) => f.startsWith(rawDir)).length).toBeGreaterThan(0)
    for (const file of files) {
      const text = readFileSync(file, 'latin1')
      expect(text.includes('TESTSECRET'), `secret leaked into ${file}`).toBe(false)
      for (const k of ECHOED) expect(text.includes(k), `echoed key leaked into ${file}`).toBe(false)
    }
  })

  it('reports a port already in use as LISTEN_FAILED instead of hanging', async () => {
    const p2 = createCaptureProxy({ port: proxy.port, caDir: join(root, 'ca'), logDir: join(root, 'logs-busy') })
    await expect(p2.start()).rejects.toMatchObject({ code: 'LISTEN_FAILED', message: expect.stringMatching(/EADDRINUSE/) })
  })

  it('refuses a non-loopback bind unless asked', () => {
    expect(() => createCaptureProxy({ host: '0.0.0.0' })).toThrow(/loopback/)
  })

  it('refuses a file sink among the extra sinks: the proxy writes its files itself', () => {
    const files = createFileSink({ logDir: join(root, 'logs-double') })
    expect(() => createCaptureProxy({ sinks: [files] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/twice/) }))
  })

  it('on stop, ends open flows as aborted and leaves only well-formed records on disk, with no secret anywhere', async () => {
    const t = tag()
    const pending = proxiedRequest(agent, upstream.port, `/hang?t=${t}`, { method: 'GET', headers: { 'x-test-id': t, authorization: `Bearer ${SECRET_BEARER}` } })
    const flow = await waitFor(() => flowOf(t), 'hanging flow')
    await waitFor(() => (records.some((r) => r.type === 'sse' && r.flow_id === flow['flow_id']) ? true : undefined), 'first event')
    await proxy.stop()
    await pending
    const end = records.find((r) => r.type === 'flow_end' && r.flow_id === flow['flow_id'])
    expect(end).toMatchObject({ outcome: 'aborted', error: 'proxy shutdown' })

    const dir = join(logDir, 'all-mitm-sse')
    const flows = readJsonlFile(join(dir, 'sse_flows.jsonl'))
    const ends = readJsonlFile(join(dir, 'sse_flow_ends.jsonl'))
    const lines = readJsonlFile(join(dir, 'sse_lines.jsonl'))
    expect(flows.length).toBe(records.filter((r) => r.type === 'flow').length)
    // sse_lines holds the server's events and (WebSocket flows) the client's frames.
    expect(lines.length).toBe(records.filter((r) => r.type === 'sse' || r.type === 'client_frame').length)
    // Every flow has exactly one flow_end.
    const endCount = new Map<unknown, number>()
    for (const e of ends) endCount.set(e['flow_id'], (endCount.get(e['flow_id']) ?? 0) + 1)
    for (const f of flows) expect(endCount.get(f['flow_id'])).toBe(1)
    // Per-client views.
    const claude = readJsonlFile(join(logDir, 'claude', 'sse_lines.jsonl'))
    const codex = readJsonlFile(join(logDir, 'codex', 'sse_lines.jsonl'))
    expect(claude.length).toBe(anthropic.events.length)
    expect(codex.length).toBeGreaterThanOrEqual(openai.events.length * 2 + 3)
    const files = allFiles(logDir)
    expect(files.some((f) => f.includes(join('all-mitm-sse', 'sse_logs')))).toBe(true)
    for (const file of files) {
      const text = readFileSync(file, 'latin1')
      expect(text.includes('TESTSECRET'), `secret leaked into ${file}`).toBe(false)
      for (const k of ECHOED) expect(text.includes(k), `echoed key leaked into ${file}`).toBe(false)
    }
  }, 30_000) // reads back every file of the run, the 64 MiB of the flood tests included
})
