/**
 * The round trip with real SDK clients: run an agent loop through the real proxy against a
 * fake upstream (capture 1), replay capture 1 and run the same loop through the proxy against the
 * replay (capture 2): the client's output and the calls of both captures are equal, event for
 * event and byte for byte on the redacted bodies. A changed prompt gets the provider's error shape
 * and a line in the divergence report.
 */
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { ledgerFromRecords, type ModelCall } from '@agenttap/ledger'
import { createCaptureProxy, createLeafMinter, ensureCa, ensureRedactionKey, type CaptureProxy } from '@agenttap/proxy-capture'
import { fetch as undiciFetch, ProxyAgent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createReplayServer, loadReplayCapture, type ReplayServer } from '../src/index.js'
import WebSocket from 'ws'
import { captureRecords, capturedFlows, fixtureRecords, FIXTURES, tempDir, TunnelAgent } from './helpers.js'

/** A key the redactor knows by its shape: it must reach neither capture, and must not break the match. */
const KEY_IN_PROMPT = 'sk-ant-api03-Q7xZp2Lk9VwR4tYb8NcM1sHd6JfG3eUa0OiKq5Wz-Xy_Rt7Bn2Vc8Lm4Pk9Jh6Gf3Ds1Az0SwEdRfTgYhUjIkOlP0o9I8u7Y6tT5rAA'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function sse(res: ServerResponse, events: Record<string, unknown>[], headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'set-cookie': 'session=abc123secretvalue456; Path=/', ...headers })
  void (async () => {
    for (const e of events) {
      res.write(`event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`)
      await sleep(2)
    }
    res.end()
  })()
}

let served = 0
/** The fake provider: a tool call first, an answer once the tool result comes back. */
function anthropicTurn(body: { messages: { role: string; content: unknown }[] }, res: ServerResponse): void {
  const last = body.messages.at(-1)!
  const answered = Array.isArray(last.content) && last.content.some((b: { type?: string }) => b.type === 'tool_result')
  const n = ++served
  const start = { type: 'message_start', message: { id: `msg_fake${n}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, usage: { input_tokens: 10 * n, cache_read_input_tokens: 5, output_tokens: 1 } } }
  const text = (i: number, t: string) => [
    { type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: t.slice(0, 5) } },
    { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: t.slice(5) } },
    { type: 'content_block_stop', index: i },
  ]
  const events = answered
    ? [start, ...text(0, 'There are two files.'), { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 6 } }, { type: 'message_stop' }]
    : [
        start, ...text(0, 'Let me look at the files.'),
        { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: `toolu_fake${n}`, name: 'Bash', input: {} } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"command":' } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"ls -la"}' } },
        { type: 'content_block_stop', index: 1 },
        { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 12 } },
        { type: 'message_stop' },
      ]
  sse(res, events, { 'request-id': `req_fake${n}`, 'anthropic-ratelimit-unified-status': 'allowed' })
}

function responsesTurn(body: { input: { type?: string }[] }, res: ServerResponse): void {
  const answered = body.input.some((i) => i.type === 'function_call_output')
  const n = ++served
  const resp = { id: `resp_fake${n}`, object: 'response', status: 'in_progress', model: 'gpt-5.1-codex', output: [] }
  let seq = 0
  const ev = (e: Record<string, unknown>) => ({ ...e, sequence_number: seq++ })
  const usage = { input_tokens: 100 * n, input_tokens_details: { cached_tokens: 50 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 100 * n + 7 }
  const item = answered
    ? { id: `msg_fake${n}`, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Done: two files.', annotations: [] }] }
    : { id: `fc_fake${n}`, type: 'function_call', status: 'completed', call_id: `call_fake${n}`, name: 'exec_command', arguments: '{"cmd":"ls -la"}' }
  const events = [
    ev({ type: 'response.created', response: resp }),
    ev({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', ...(answered ? { content: [] } : { arguments: '' }) } }),
    answered
      ? ev({ type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: 'Done: two files.' })
      : ev({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: 0, delta: '{"cmd":"ls -la"}' }),
    ev({ type: 'response.output_item.done', output_index: 0, item }),
    ev({ type: 'response.completed', response: { ...resp, status: 'completed', output: [item], usage } }),
  ]
  sse(res, events, { 'x-request-id': `req_fake${n}` })
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString('utf8'))))
  })
}

/** The agent loop of a coding agent: ask, run the tool it asks for, send the result, until it answers. */
async function claudeAgent(client: Anthropic, prompt: string): Promise<string[]> {
  const out: string[] = []
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: prompt }]
  for (let turn = 0; turn < 4; turn++) {
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'You are a test agent.', tools: [{ name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }], messages })
    stream.on('streamEvent', (e) => out.push(JSON.stringify(e)))
    const msg = await stream.finalMessage()
    const call = msg.content.find((b) => b.type === 'tool_use')
    if (msg.stop_reason !== 'tool_use' || call === undefined) return out
    messages.push({ role: 'assistant', content: msg.content })
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'a.txt\nb.txt' }] })
  }
  return out
}

async function codexAgent(client: OpenAI, prompt: string): Promise<string[]> {
  const out: string[] = []
  const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: prompt }]
  for (let turn = 0; turn < 4; turn++) {
    const stream = await client.responses.create({ model: 'gpt-5.1-codex', instructions: 'You are Codex.', input, tools: [{ type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } }, strict: false }], stream: true })
    const items: OpenAI.Responses.ResponseOutputItem[] = []
    for await (const e of stream) {
      out.push(JSON.stringify(e))
      if (e.type === 'response.output_item.done') items.push(e.item)
    }
    const call = items.find((i): i is OpenAI.Responses.ResponseFunctionToolCall => i.type === 'function_call')
    if (call === undefined) return out
    input.push(...(items as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: 'a.txt\nb.txt' })
  }
  return out
}

let caDir: string
let caPem: string
let upstream: Server
let upstreamPort: number

async function proxyTo(logDir: string, port: number): Promise<{ proxy: CaptureProxy; anthropic: Anthropic; openai: OpenAI; dispatcher: ProxyAgent }> {
  const proxy = createCaptureProxy({ port: 0, caDir, logDir, upstreamCa: caPem, connectTo: [`api.anthropic.com:443:127.0.0.1:${port}`, `api.openai.com:443:127.0.0.1:${port}`] })
  await proxy.start()
  const dispatcher = new ProxyAgent({ uri: proxy.url, requestTls: { ca: caPem } })
  const fetchVia = ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch
  const anthropic = new Anthropic({ apiKey: 'sk-ant-api03-testkey-not-real-000000000000000000000000', baseURL: 'https://api.anthropic.com', fetch: fetchVia, maxRetries: 0 })
  const openai = new OpenAI({ apiKey: 'sk-proj-testkey-not-real-0000000000000000000000000000', baseURL: 'https://api.openai.com/v1', fetch: fetchVia, maxRetries: 0 })
  return { proxy, anthropic, openai, dispatcher }
}

beforeAll(async () => {
  caDir = join(tempDir('replay-ca-'), 'ca')
  const ca = ensureCa(caDir)
  caPem = ca.certPem
  const minter = createLeafMinter(ca)
  upstream = createServer({ SNICallback: (name, cb) => cb(null, minter.contextFor(name)) }, (req, res) => {
    void readJson(req).then((body) => {
      if (req.url?.startsWith('/v1/messages')) anthropicTurn(body as never, res)
      else if (req.url?.startsWith('/v1/responses')) responsesTurn(body as never, res)
      else res.writeHead(404).end()
    })
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
  upstreamPort = (upstream.address() as { port: number }).port
})
afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((r) => upstream.close(r))
})

const callFacts = (c: ModelCall) => ({ api: c.api, model: c.model, outcome: c.outcome, stop_reason: c.stop_reason, usage: c.usage, prompt: c.prompt, text: c.text, tool_calls: c.tool_calls, tool_results: c.tool_results, request: { ...c.request, user_agent: undefined } })

describe('replay round trip through the proxy, with the Anthropic and OpenAI SDKs', () => {
  let replay: ReplayServer
  let report: string
  let run2: Awaited<ReturnType<typeof proxyTo>>

  it('a second run against the replay gets the same output, and its capture equals the first', async () => {
    const prompt = `List the files. My key is ${KEY_IN_PROMPT}`
    const cap1 = tempDir('replay-cap1-')
    const run1 = await proxyTo(cap1, upstreamPort)
    const out1 = [...(await claudeAgent(run1.anthropic, prompt)), ...(await codexAgent(run1.openai, 'List the files, Codex.'))]
    await run1.proxy.stop()
    await run1.dispatcher.close()
    expect(readFileSync(join(cap1, 'all-mitm-sse', 'sse_flows.jsonl'), 'utf8')).not.toContain(KEY_IN_PROMPT)

    const capture = await loadReplayCapture(cap1)
    expect(capture.exchanges).toHaveLength(4)
    report = join(tempDir('replay-report-'), 'divergences.jsonl')
    replay = createReplayServer({ capture, speed: Infinity, caDir, redactionKey: ensureRedactionKey(caDir).key, report })
    const { port } = await replay.start()
    const cap2 = tempDir('replay-cap2-')
    run2 = await proxyTo(cap2, port)
    const out2 = [...(await claudeAgent(run2.anthropic, prompt)), ...(await codexAgent(run2.openai, 'List the files, Codex.'))]
    await run2.proxy.flush()
    expect(out2).toEqual(out1)
    expect(replay.stats()).toMatchObject({ served: 4, divergences: 0, unused: 0 })

    const [f1, f2] = [await capturedFlows(cap1), await capturedFlows(cap2)]
    expect(f2).toHaveLength(f1.length)
    expect(f1.every((f) => f.response_raw !== undefined && f.request_raw !== undefined)).toBe(true)
    for (let i = 0; i < f1.length; i++) {
      expect(f2[i]!.events.length).toBeGreaterThan(0)
      expect(f2[i]).toEqual(f1[i])
    }
    const [c1, c2] = [ledgerFromRecords(await captureRecords(cap1)).calls, ledgerFromRecords(await captureRecords(cap2)).calls]
    expect(c2.map(callFacts)).toEqual(c1.map(callFacts))
    // The upstream's cookie was redacted in capture 1: replay leaves the marker out.
    const flows2 = (await captureRecords(cap2)).filter((r) => r['type'] === 'flow')
    for (const f of flows2) expect(Object.keys(f['response_headers'] as object)).not.toContain('set-cookie')
  })

  it('a changed prompt gets the provider-shaped error naming the closest call, and a line in the report', async () => {
    const err = await claudeAgent(run2.anthropic, 'List the folders instead.').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Anthropic.APIError)
    const apiErr = err as InstanceType<typeof Anthropic.APIError>
    expect(apiErr.status).toBe(400)
    expect(apiErr.message).toMatch(/closest captured call \S+#0 .*message 0 differs at character 16: captured user: List the files\. My key is sk-ant-api03-\[REDACTED:[0-9a-f]{12}\].*received user: List the folders instead\./)
    const oerr = await codexAgent(run2.openai, 'Something else, Codex.').catch((e: unknown) => e)
    expect(oerr).toBeInstanceOf(OpenAI.APIError)
    expect((oerr as InstanceType<typeof OpenAI.APIError>).code).toBe('replay_divergence')
    await run2.proxy.stop()
    await run2.dispatcher.close()
    const summary = await replay.close()
    expect(summary).toMatchObject({ served: 4, divergences: 2, unused: [] })
    const lines = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => l['type'])).toEqual(['divergence', 'divergence', 'summary'])
    expect(lines[0]).toMatchObject({ api: 'anthropic-messages', action: 'error', status: 400, difference: { field: 'history', index: 0, received: 'user: List the folders instead.' } })
    expect(lines[1]).toMatchObject({ api: 'openai-responses', difference: { field: 'history', index: 0 } })
  })
})

describe('WebSocket replay through the proxy', () => {
  it('serves a captured Codex WebSocket (three responses on one connection) and the new capture has the same frames', async () => {
    const capture = await loadReplayCapture(join(FIXTURES, 'codex-websocket.jsonl'))
    const replay = createReplayServer({ capture, speed: Infinity, caDir, report: join(tempDir('replay-ws-report-'), 'r.jsonl') })
    const { port } = await replay.start()
    const logDir = tempDir('replay-ws-cap-')
    const proxy = createCaptureProxy({ port: 0, caDir, logDir, upstreamCa: caPem, connectTo: [`chatgpt.com:443:127.0.0.1:${port}`] })
    await proxy.start()
    const recs = fixtureRecords('codex-websocket.jsonl')
    const flow = recs.find((r) => r['type'] === 'flow')!
    const lines = recs.filter((r) => r['type'] === 'sse' || r['type'] === 'client_frame').sort((a, b) => Number(a['seq']) - Number(b['seq']))
    const frames = lines.filter((l) => l['type'] === 'client_frame').map((l) => l['data'] as string)
    const ws = new WebSocket('wss://chatgpt.com/backend-api/codex/responses', { agent: new TunnelAgent(proxy.port, caPem), headers: { session_id: String(flow['session_id']), originator: 'codex_cli_rs', 'openai-beta': 'responses_websockets=2026-02-04' } })
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    const got: string[] = []
    ws.on('message', (d) => got.push(d.toString()))
    // Server frames received once each response is complete: cumulative per client frame.
    const upTo: number[] = []
    let n = 0
    for (const l of lines) {
      if (l['type'] === 'client_frame') upTo.push(n)
      else upTo[upTo.length - 1] = ++n
    }
    for (let i = 0; i < frames.length; i++) {
      ws.send(frames[i] as string)
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(upTo[i])
    }
    ws.close()
    await proxy.stop()
    await replay.close()
    const [captured] = await capturedFlows(logDir)
    expect(captured!.status).toBe(101)
    const strip = (l: Record<string, unknown>) => ({ type: l['type'], data: l['data'] })
    expect(captured!.events.map((e) => ({ type: e.type, data: e.data }))).toEqual(lines.map(strip))
    expect(got).toEqual(lines.filter((l) => l['type'] === 'sse').map((l) => l['data']))
  })
})
