import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { TelemetryRecord } from '@agenttap/jsonl-io'
import { ledgerFromRecords } from '@agenttap/ledger'
import { createOtlpReceiver, otlpRequestType, traceIdOf } from '@agenttap/otel'
import { main } from '../src/index.js'

const SESSION = '11111111-2222-4333-8444-555555555555'
const REQUEST_ID = 'req_011CVotelProxyTest01'

// An agent stand-in speaking Claude Code's request shape (with tools: a model call, not aux).
const AGENT = `
const http = require('node:http'), https = require('node:https'), tls = require('node:tls')
const proxy = new URL(process.env.HTTPS_PROXY)
const target = process.argv[2]
const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target })
req.on('connect', (res, socket) => {
  const [host, port] = target.split(':')
  const r = https.request({ host, port, path: '/v1/messages?beta=true', method: 'POST', headers: { 'content-type': 'application/json', 'x-claude-code-session-id': '${SESSION}', 'user-agent': 'claude-cli/2.1.3 (external, cli)', 'x-app': 'cli' },
    createConnection: () => tls.connect({ socket, host }) }, (res) => {
    res.resume()
    res.on('end', () => process.exit(0))
  })
  r.end(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true, system: 'You are Claude Code.', tools: [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'list files' }] }))
})
req.end()
`

let root: string
let upstream: Server
let upstreamPort: number
let certPath: string

function jsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agenttap-otel-test-'))
  const keyPath = join(root, 'up.key')
  certPath = join(root, 'up.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  upstream = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': REQUEST_ID })
    const sse = (event: string, data: unknown): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    sse('message_start', { type: 'message_start', message: { id: 'msg_otel_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], usage: { input_tokens: 12, cache_read_input_tokens: 3000, cache_creation_input_tokens: 200, output_tokens: 1 } } })
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_otel_1', name: 'Bash', input: {} } })
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"command":"ls"}' } })
    sse('content_block_stop', { type: 'content_block_stop', index: 0 })
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 42 } })
    res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n')
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamPort = (upstream.address() as AddressInfo).port
  writeFileSync(join(root, 'agent.cjs'), AGENT)
})

afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((r) => upstream.close(r))
  rmSync(root, { recursive: true, force: true })
})

const kv = (key: string, v: string | number): { key: string; value: Record<string, unknown> } => ({ key, value: typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: v } : { doubleValue: v } })

describe('agenttap-proxy start --otlp --otlp-receiver', () => {
  it('exports the live call as GenAI spans, stores the agent\'s telemetry in the capture, and the two join', async () => {
    // The OTLP backend: a receiver that keeps everything (decoding with the official proto definitions).
    const backend: TelemetryRecord[] = []
    const sink = createOtlpReceiver({ port: 0, allServices: true, onRecord: (r) => backend.push(r) })
    const backendUrl = await sink.start()
    const logDir = join(root, 'logs')
    let out = ''
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
      return true
    }) as typeof process.stdout.write)
    const running = main(['start', '--port', '0', '--quiet', '--no-monitor', '--no-web', '--ca-dir', join(root, 'ca'), '--log-dir', logDir, '--include-host', '127.0.0.1', '--upstream-ca', certPath, '--otlp', backendUrl, '--otlp-receiver', '0'])
    let proxyUrl: string | undefined
    let receiverUrl: string | undefined
    for (let i = 0; i < 600 && !(proxyUrl && receiverUrl); i++) {
      proxyUrl = /export HTTPS_PROXY=(\S+)/.exec(out)?.[1]
      receiverUrl = /OTEL_EXPORTER_OTLP_ENDPOINT=(\S+)/.exec(out)?.[1]
      if (!(proxyUrl && receiverUrl)) await new Promise((r) => setTimeout(r, 10))
    }
    spy.mockRestore()
    try {
      expect(out).toContain('CLAUDE_CODE_ENABLE_TELEMETRY=1')
      expect(receiverUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      // Codex's [otel] table, as comments (the lines stay safe to eval): each signal's full URL.
      for (const [key, signal] of [['exporter', 'logs'], ['trace_exporter', 'traces'], ['metrics_exporter', 'metrics']]) expect(out).toContain(`# ${key} = { otlp-http = { endpoint = "${receiverUrl}/v1/${signal}", protocol = "binary" } }\n`)
      const agent = spawn(process.execPath, [join(root, 'agent.cjs'), `127.0.0.1:${upstreamPort}`], { env: { ...process.env, HTTPS_PROXY: proxyUrl!, NODE_EXTRA_CA_CERTS: join(root, 'ca', 'certs', 'ca.pem') }, stdio: 'ignore' })
      expect(await new Promise((r) => agent.on('exit', r))).toBe(0)

      // What Claude Code sends after the response: its api_request event, as OTLP/protobuf logs.
      const type = otlpRequestType('logs')
      const event = {
        resourceLogs: [
          {
            resource: { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.1.3')] },
            scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: [{ timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), body: { stringValue: 'claude_code.api_request' }, attributes: [kv('event.name', 'api_request'), kv('session.id', SESSION), kv('request_id', REQUEST_ID), kv('model', 'claude-sonnet-4-5-20250929'), kv('cost_usd', 0.0042), kv('input_tokens', 12), kv('output_tokens', 42), kv('cache_read_tokens', 3000), kv('cache_creation_tokens', 200), kv('duration_ms', 35)] }] }],
          },
        ],
      }
      const res = await fetch(`${receiverUrl}/v1/logs`, { method: 'POST', body: Buffer.from(type.encode(type.fromObject(event)).finish()), headers: { 'content-type': 'application/x-protobuf' } })
      expect(res.status).toBe(200)
      const ends = join(logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl')
      for (let i = 0; i < 600 && !jsonl(ends).some((r) => r.type === 'telemetry'); i++) await new Promise((r) => setTimeout(r, 10))
    } finally {
      process.emit('SIGTERM')
      expect(await running).toBe(0)
      await sink.close()
    }
    // The live export: one chat span for the call, its tool call, the turn — with the wire's usage.
    const chat = backend.find((r) => r.signal === 'span' && r.name.startsWith('chat '))
    expect(chat).toMatchObject({ name: 'chat claude-sonnet-4-5', trace_id: traceIdOf(SESSION) })
    expect(chat?.attributes).toMatchObject({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.response.id': 'msg_otel_1', 'gen_ai.usage.input_tokens': 12 + 3000 + 200, 'gen_ai.usage.output_tokens': 42, 'agenttap.request_id': REQUEST_ID })
    expect(backend.some((r) => r.name === 'execute_tool Bash' && r.attributes['gen_ai.tool.call.id'] === 'toolu_otel_1')).toBe(true)
    expect(backend.some((r) => r.name === 'invoke_agent claude-code')).toBe(true)
    expect(backend.some((r) => r.name === 'gen_ai.client.token.usage')).toBe(true)
    // The receiver: the event is a telemetry record beside the capture, and the ledger joins it to the call.
    const dir = join(logDir, 'all-mitm-sse')
    const records = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].flatMap((f) => jsonl(join(dir, f)))
    const tel = records.filter((r) => r.type === 'telemetry')
    expect(tel).toHaveLength(1)
    expect(tel[0]).toMatchObject({ name: 'claude_code.api_request', session_id: SESSION, request_id: REQUEST_ID, client: 'claude-code' })
    const { calls, telemetry } = ledgerFromRecords(records)
    expect(calls).toHaveLength(1)
    expect(calls[0]?.request_id).toBe(REQUEST_ID)
    expect(telemetry).toMatchObject([{ join: 'request_id', call_key: calls[0]?.key, cost_usd: 0.0042 }])
  }, 30_000)

  it('refuses a malformed --otlp endpoint and --otlp-receiver port as usage errors', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const a = await main(['start', '--port', '0', '--quiet', '--no-monitor', '--no-web', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'bad'), '--otlp', 'not a url'])
    const b = await main(['start', '--port', '0', '--quiet', '--no-monitor', '--no-web', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'bad2'), '--otlp-receiver', '99999'])
    err.mockRestore()
    expect(a).toBe(2)
    expect(b).toBe(2)
  })
})
