import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TelemetryRecord } from '@agenttap/jsonl-io'
import { ledgerFromRecords } from '@agenttap/ledger'
import { createRedactor } from '@agenttap/session-extractor'
import { exportCalls } from '../src/export-calls.js'
import { traceIdOf } from '../src/ids.js'
import { otlpRequestType } from '../src/otlp-decode.js'
import { createOtlpReceiver, type OtlpReceiver } from '../src/receiver.js'
import { reconcileTelemetry } from '../src/reconcile.js'
import type { OtelError } from '../src/errors.js'
import { fixtureCalls } from './helpers.js'

const CLAUDE_SESSION = '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912' // fixtures: claude-code-turn
const CODEX_SESSION = '019a0c1d-2e3f-7a4b-8c5d-6e7f8a9b0c1d' // fixtures: codex-websocket
const SECRET = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij'

type KV = { key: string; value: Record<string, unknown> }
const kv = (key: string, v: string | number | boolean): KV => ({ key, value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: v } : { doubleValue: v } })
const nanos = (iso: string): string => (BigInt(Date.parse(iso)) * 1_000_000n).toString()

/** A log record shaped like Claude Code's (monitoring docs: body = event name, `event.name`, `event.timestamp`, `session.id`, …). */
function claudeEvent(name: string, time: string, attrs: Record<string, string | number | boolean>): Record<string, unknown> {
  return {
    timeUnixNano: nanos(time),
    observedTimeUnixNano: nanos(time),
    body: { stringValue: `claude_code.${name}` },
    attributes: [kv('event.name', name), kv('event.timestamp', time), kv('session.id', CLAUDE_SESSION), kv('user.account_uuid', 'acct-1'), kv('terminal.type', 'xterm-256color'), ...Object.entries(attrs).map(([k, v]) => kv(k, v))],
  }
}

function claudeLogs(): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.1.3')] },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events', version: '2.1.3' },
            logRecords: [
              claudeEvent('user_prompt', '2026-11-20T10:00:00.000Z', { 'prompt.id': 'p-1', prompt_length: 63 }),
              claudeEvent('api_request', '2026-11-20T10:00:00.500Z', { 'prompt.id': 'p-1', model: 'claude-sonnet-4-5-20250929', cost_usd: 0.0123, duration_ms: 495, input_tokens: 9, output_tokens: 190, cache_read_tokens: 14210, cache_creation_tokens: 1320, request_id: 'req_011CVfixture0001', query_source: 'repl_main_thread' }),
              claudeEvent('tool_decision', '2026-11-20T10:00:00.510Z', { 'prompt.id': 'p-1', tool_name: 'Bash', decision: 'accept', source: 'config', tool_use_id: 'toolu_01FixtureBash000000001' }),
              claudeEvent('tool_result', '2026-11-20T10:00:01.990Z', { 'prompt.id': 'p-1', tool_name: 'Bash', success: 'true', duration_ms: 1480, tool_use_id: 'toolu_01FixtureBash000000001', tool_parameters: JSON.stringify({ bash_command: 'ls', api_key: SECRET }) }),
              claudeEvent('api_request', '2026-11-20T10:00:05.000Z', { 'prompt.id': 'p-2', model: 'claude-haiku-4-5', cost_usd: 0.001, input_tokens: 5, output_tokens: 1, request_id: 'req_not_in_the_capture' }),
            ],
          },
        ],
      },
    ],
  }
}

/**
 * Codex's events, OTLP/JSON (its `[otel]` exporter): `conversation.id`, `call_id`. As the real
 * Codex 0.171 sends them (e2e/clients codex-telemetry test): body and `eventName` are the tracing
 * event's source location, the name is in the `event.name` attribute.
 */
function codexLogsJson(): Record<string, unknown> {
  const ev = (name: string, time: string, attrs: Record<string, string | number | boolean>): Record<string, unknown> => ({
    timeUnixNano: nanos(time),
    body: { stringValue: 'event otel/src/events/session_telemetry.rs:1259' },
    eventName: 'event otel/src/events/session_telemetry.rs:1259',
    attributes: [kv('event.name', name), kv('event.timestamp', time), kv('conversation.id', CODEX_SESSION), kv('app.version', '0.178.0'), ...Object.entries(attrs).map(([k, v]) => kv(k, v))],
  })
  return {
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'codex_exec')] },
        scopeLogs: [{ scope: { name: 'codex_otel' }, logRecords: [ev('codex.tool_result', '2026-11-20T10:07:01.500Z', { tool_name: 'exec_command', call_id: 'call_WsExec0001', duration_ms: 1100, success: 'false' }), ev('codex.user_prompt', '2026-11-20T10:07:00.000Z', { prompt_length: 37 })] }],
      },
    ],
  }
}

describe('createOtlpReceiver', () => {
  const records: TelemetryRecord[] = []
  const errors: OtelError[] = []
  let receiver: OtlpReceiver
  let url: string

  beforeAll(async () => {
    receiver = createOtlpReceiver({ port: 0, onRecord: (r) => records.push(r), onError: (e) => errors.push(e), redactor: createRedactor({ hashKey: 'test-key' }) })
    url = await receiver.start()
  })
  afterAll(() => receiver.close())

  const post = (path: string, body: Buffer | string, type: string, extra: Record<string, string> = {}): Promise<Response> => fetch(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type, ...extra } })

  it('stores Claude Code events sent as protobuf (the official definitions), redacted, with the join keys', async () => {
    const type = otlpRequestType('logs')
    const body = Buffer.from(type.encode(type.fromObject(claudeLogs())).finish())
    const res = await post('/v1/logs', body, 'application/x-protobuf')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-protobuf')
    const mine = records.filter((r) => r.client === 'claude-code')
    expect(mine.map((r) => r.name)).toEqual(['claude_code.user_prompt', 'claude_code.api_request', 'claude_code.tool_decision', 'claude_code.tool_result', 'claude_code.api_request'])
    const api = mine[1] as TelemetryRecord
    expect(api).toMatchObject({ v: 1, type: 'telemetry', flow_id: '-', session_id: CLAUDE_SESSION, signal: 'log', service: 'claude-code', time: '2026-11-20T10:00:00.500Z', request_id: 'req_011CVfixture0001', prompt_id: 'p-1' })
    expect(api.attributes).toMatchObject({ model: 'claude-sonnet-4-5-20250929', cost_usd: 0.0123, input_tokens: 9, cache_read_tokens: 14210, query_source: 'repl_main_thread' })
    expect(Date.parse(api.ts)).toBeGreaterThan(Date.parse('2026-12-01'))
    const tool = mine[3] as TelemetryRecord
    expect(tool.tool_call_id).toBe('toolu_01FixtureBash000000001')
    // Secrets never reach disk: the API key inside the tool parameters is a keyed marker now.
    expect(JSON.stringify(records)).not.toContain(SECRET)
    expect(String(tool.attributes.tool_parameters)).toMatch(/\[REDACTED:[0-9a-f]{12}\]/)
  })

  it('stores Codex events sent as OTLP/JSON, gzipped', async () => {
    const res = await post('/v1/logs', gzipSync(JSON.stringify(codexLogsJson())), 'application/json', { 'content-encoding': 'gzip' })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('{}')
    const codex = records.filter((r) => r.client === 'codex')
    expect(codex.map((r) => r.name)).toEqual(['codex.tool_result', 'codex.user_prompt'])
    expect(codex[0]).toMatchObject({ session_id: CODEX_SESSION, tool_call_id: 'call_WsExec0001', service: 'codex_exec' })
  })

  it('stores metric points (JSON) and spans (the official protobuf exporter) too', async () => {
    const metrics = {
      resourceMetrics: [
        {
          resource: { attributes: [kv('service.name', 'claude-code')] },
          scopeMetrics: [{ metrics: [{ name: 'claude_code.cost.usage', unit: 'USD', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asDouble: 0.0133, timeUnixNano: nanos('2026-11-20T10:01:00.000Z'), attributes: [kv('session.id', CLAUDE_SESSION), kv('model', 'claude-sonnet-4-5-20250929')] }] } }] }],
        },
      ],
    }
    expect((await post('/v1/metrics', JSON.stringify(metrics), 'application/json; charset=utf-8')).status).toBe(200)
    const point = records.find((r) => r.signal === 'metric')
    expect(point).toMatchObject({ name: 'claude_code.cost.usage', value: 0.0133, session_id: CLAUDE_SESSION, time: '2026-11-20T10:01:00.000Z' })
    expect(point?.attributes['metric.temporality']).toBe('delta')

    // Spans from another service are counted and left out unless allServices.
    const before = receiver.stats.ignored
    const { calls } = fixtureCalls()
    await exportCalls({ calls: calls.filter((c) => c.flow_id === 'cc-turn-1') }, { endpoint: url, metrics: false })
    expect(receiver.stats.ignored).toBeGreaterThan(before)
    const all: TelemetryRecord[] = []
    const open = createOtlpReceiver({ port: 0, allServices: true, onRecord: (r) => all.push(r) })
    const openUrl = await open.start()
    try {
      await exportCalls({ calls: calls.filter((c) => c.flow_id === 'cc-turn-1') }, { endpoint: openUrl, metrics: false })
      const chat = all.find((r) => r.name.startsWith('chat '))
      expect(chat).toMatchObject({ signal: 'span', client: 'unknown', service: 'agenttap', trace_id: traceIdOf(CLAUDE_SESSION), value: 495 })
      expect(chat?.attributes['gen_ai.usage.input_tokens']).toBe(9 + 14210 + 1320)
    } finally {
      await open.close()
    }
  })

  it('answers bad requests with 400 / 404 / 413 / 415, reports them, and goes on', async () => {
    const n = errors.length
    expect((await post('/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'application/x-protobuf')).status).toBe(400)
    expect((await post('/v1/logs', '{"resourceLogs": [', 'application/json')).status).toBe(400)
    expect((await post('/v1/logs', 'x', 'text/plain')).status).toBe(415)
    expect((await fetch(`${url}/v1/logs`)).status).toBe(404)
    expect((await post('/v2/anything', '{}', 'application/json')).status).toBe(404)
    const small = createOtlpReceiver({ port: 0, maxBodyBytes: 100, onRecord: () => {}, onError: (e) => errors.push(e) })
    const smallUrl = await small.start()
    try {
      expect((await fetch(`${smallUrl}/v1/logs`, { method: 'POST', body: JSON.stringify(codexLogsJson()), headers: { 'content-type': 'application/json' } })).status).toBe(413)
    } finally {
      await small.close()
    }
    expect(errors.slice(n).map((e) => e.code)).toEqual(['BAD_PAYLOAD', 'BAD_PAYLOAD', 'BAD_PAYLOAD', 'BAD_PAYLOAD', 'BAD_PAYLOAD', 'PAYLOAD_TOO_LARGE'])
    expect(errors[n]?.message).toMatch(/protobuf logs body could not be decoded/)
    // Still serving.
    expect((await post('/v1/logs', JSON.stringify(codexLogsJson()), 'application/json')).status).toBe(200)
  })

  it('binds loopback only', async () => {
    const r = createOtlpReceiver({ host: '0.0.0.0', port: 0, onRecord: () => {} })
    await expect(r.start()).rejects.toMatchObject({ code: 'NON_LOOPBACK_BIND' })
  })

  it('the stored telemetry joins the wire calls in the ledger; reconcile shows where they differ', () => {
    const { records: wire } = fixtureCalls()
    const r = ledgerFromRecords([...wire, ...records.filter((x) => x.signal === 'log')])
    const api = r.telemetry.find((f) => f.request_id === 'req_011CVfixture0001')
    expect(api).toMatchObject({ join: 'request_id', call_key: 'cc-turn-1#0', cost_usd: 0.0123, query_source: 'repl_main_thread', prompt_id: 'p-1' })
    const tool = r.telemetry.find((f) => f.event === 'tool_result' && f.client === 'claude-code')
    expect(tool).toMatchObject({ join: 'tool_call_id', call_key: 'cc-turn-1#0', duration_ms: 1480, success: true })
    const decision = r.telemetry.find((f) => f.event === 'tool_decision')
    expect(decision).toMatchObject({ join: 'tool_call_id', decision: 'accept', decision_source: 'config' })
    const codexTool = r.telemetry.find((f) => f.event === 'tool_result' && f.client === 'codex')
    expect(codexTool).toMatchObject({ join: 'tool_call_id', call_key: 'cx-ws-1#0', success: false, session_id: CODEX_SESSION })

    const { rows, summary } = reconcileTelemetry(r.calls, r.telemetry)
    // Telemetry said 190 output tokens, the wire 187.
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'differs', field: 'output_tokens', call_key: 'cc-turn-1#0', wire: 187, telemetry: 190 }))
    expect(rows.filter((x) => x.kind === 'differs' && x.call_key === 'cc-turn-1#0')).toHaveLength(1)
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'telemetry_only', request_id: 'req_not_in_the_capture' }))
    // cc-turn-2 went over the wire but no api_request event names it.
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'wire_only', call_key: 'cc-turn-2#0' }))
    // The Codex tool failed on both sides: no row.
    expect(rows.some((x) => x.field === 'tool_outcome')).toBe(false)
    // Every tool_result event stored (Claude's once, Codex's twice: the bad-request test sent it again) joined its call.
    expect(summary).toMatchObject({ joinedRequests: 1, joinedTools: records.filter((x) => x.name.endsWith('.tool_result')).length, telemetryOnly: 1 })
    expect(summary.joinedTools).toBe(3)
    expect(summary.costUsd).toBeCloseTo(0.0123, 6)
  })
})
