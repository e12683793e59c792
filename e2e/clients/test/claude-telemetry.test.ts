/**
 * The real Claude Code CLI with its OpenTelemetry export pointed at the proxy's OTLP receiver
 * (`agenttap-proxy start --otlp-receiver 0`, the environment it prints): its `claude_code.*` events
 * are stored in the capture as `telemetry` records and the ledger joins them to the captured calls.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ledgerFromRecords, type TelemetryFact } from '@agenttap/ledger'
import { ensureAgents, runClaude, type RunResult } from '../src/agents.js'
import { readCapture, type Capture } from '../src/observe.js'
import { startProxy, type RunningProxy } from '../src/proxy.js'
import { startFakeUpstream, type FakeUpstream } from '../src/upstream.js'

await ensureAgents()

describe('Claude Code telemetry → the proxy\'s OTLP receiver, joined to the capture', () => {
  const root = mkdtempSync(join(tmpdir(), 'agenttap-e2e-claude-otel-'))
  const logDir = join(root, 'logs')
  const tag = 'e2etag_claude_otel'
  let upstream: FakeUpstream
  let proxy: RunningProxy
  let result: RunResult
  let cap: Capture
  let facts: TelemetryFact[]
  let calls: ReturnType<typeof ledgerFromRecords>['calls']

  beforeAll(async () => {
    upstream = await startFakeUpstream({ dir: root, errors: () => [] })
    proxy = await startProxy({ logDir, caDir: join(root, 'ca'), upstreamCa: upstream.caPath, connectTo: upstream.connectTo, extraArgs: ['--otlp-receiver', '0'] })
    // The receiver's lines come after the proxy's own export lines.
    for (let i = 0; i < 1000 && !proxy.stdout().includes('OTEL_EXPORTER_OTLP_ENDPOINT='); i++) await new Promise((r) => setTimeout(r, 10))
    const printed: Record<string, string> = {}
    for (const m of proxy.stdout().matchAll(/^export ([A-Z_]+)=(.*)$/gm)) printed[m[1] as string] = m[2] as string
    expect(printed['CLAUDE_CODE_ENABLE_TELEMETRY']).toBe('1')
    expect(printed['OTEL_EXPORTER_OTLP_ENDPOINT']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    // The receiver is on loopback: the exporter goes there directly, not through the MITM proxy.
    const env = { ...printed, ANTHROPIC_API_KEY: 'sk-ant-api03-e2eotelxxxxxxxxxxxxxxxxxxxxxxxxxxxx', DISABLE_TELEMETRY: '', OTEL_LOGS_EXPORT_INTERVAL: '500', OTEL_METRIC_EXPORT_INTERVAL: '1000', NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }
    result = await runClaude({ prompt: `${tag}: list the files in /tmp, then tell me what you found.`, env })
    // Claude Code flushes its exporters on exit; give the receiver a moment to write, then stop the proxy (flushes the capture).
    await new Promise((r) => setTimeout(r, 1500))
    await proxy.stop()
    await upstream.close()
    cap = readCapture(logDir)
    const records = [...cap.flows, ...cap.lines, ...cap.ends]
    const r = ledgerFromRecords(records)
    facts = r.telemetry
    calls = r.calls.filter((c) => c.kind === 'model')
  }, 240_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  it('Claude Code ran through the proxy', () => {
    expect(result.code, result.stderr.slice(-2000)).toBe(0)
    expect(calls.length).toBeGreaterThanOrEqual(2)
  })

  it('its claude_code.* events are telemetry records in the capture', () => {
    const tel = cap.ends.filter((e) => e['type'] === 'telemetry')
    const names = new Set(tel.map((t) => String(t['name'])))
    expect([...names].some((n) => n.startsWith('claude_code.')), [...names].join(', ')).toBe(true)
    expect(names.has('claude_code.api_request')).toBe(true)
    for (const t of tel) expect(t['client']).toBe('claude-code')
    // No API key reached the telemetry records either.
    expect(JSON.stringify(tel)).not.toContain('e2eotelxxxxxxxx')
  })

  it('its api_request events join the captured calls by request id', () => {
    const api = facts.filter((f) => f.event === 'api_request')
    expect(api.length).toBeGreaterThanOrEqual(1)
    const joined = api.filter((f) => f.join === 'request_id')
    expect(joined.length, JSON.stringify(api.map((f) => [f.request_id, f.join]))).toBeGreaterThanOrEqual(1)
    const keys = new Set(calls.map((c) => c.key))
    for (const f of joined) {
      expect(keys.has(f.call_key as string)).toBe(true)
      const c = calls.find((x) => x.key === f.call_key)
      expect(c?.request_id).toBe(f.request_id)
      expect(c?.session_id).toBe(f.session_id)
    }
    // What only telemetry knows, now beside the call.
    expect(joined.some((f) => f.cost_usd !== undefined && f.query_source !== undefined)).toBe(true)
  })

  it('its tool_decision and tool_result events join the call that made the tool call', () => {
    const toolCalls = new Map(calls.flatMap((c) => c.tool_calls.map((t) => [t.call_id, c.key] as const)))
    const tools = facts.filter((f) => f.event === 'tool_result' || f.event === 'tool_decision')
    expect(tools.map((f) => f.event).sort()).toEqual(['tool_decision', 'tool_result'])
    for (const f of tools) {
      expect(f.join).toBe('tool_call_id')
      expect(f.call_key).toBe(toolCalls.get(f.tool_call_id as string))
      expect(f.tool_name).toBe('Bash')
    }
    expect(tools.find((f) => f.event === 'tool_result')?.success).toBe(true)
    expect(tools.find((f) => f.event === 'tool_decision')?.decision).toBeDefined()
  })
})
