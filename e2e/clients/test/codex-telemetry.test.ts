/**
 * The real Codex CLI (`codex exec`) with its OpenTelemetry export (`[otel]` in config.toml: logs,
 * traces and metrics over OTLP/HTTP protobuf) pointed at the proxy's OTLP receiver
 * (`agenttap-proxy start --otlp-receiver 0`): its `codex.*` events are stored in the capture as
 * `telemetry` records and the ledger joins them to the captured calls (`conversation.id` = the
 * `session_id` header, `call_id` = the tool call).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ledgerFromRecords, type TelemetryFact } from '@agenttap/ledger'
import { ensureAgents, runCodex, type RunResult } from '../src/agents.js'
import { readCapture, type Capture } from '../src/observe.js'
import { startProxy, type RunningProxy } from '../src/proxy.js'
import { startFakeUpstream, type FakeUpstream } from '../src/upstream.js'

await ensureAgents()

describe('Codex telemetry → the proxy\'s OTLP receiver, joined to the capture', () => {
  const root = mkdtempSync(join(tmpdir(), 'agenttap-e2e-codex-otel-'))
  const logDir = join(root, 'logs')
  const tag = 'e2etag_codex_otel'
  const key = 'sk-proj-e2eotelcodexxxxxxxxxxxxxxxxxxxxxxxxxxx'
  let upstream: FakeUpstream
  let proxy: RunningProxy
  let result: RunResult
  let cap: Capture
  let tel: Record<string, unknown>[]
  let facts: TelemetryFact[]
  let calls: ReturnType<typeof ledgerFromRecords>['calls']

  beforeAll(async () => {
    upstream = await startFakeUpstream({ dir: root, errors: () => [] })
    proxy = await startProxy({ logDir, caDir: join(root, 'ca'), upstreamCa: upstream.caPath, connectTo: upstream.connectTo, extraArgs: ['--otlp-receiver', '0'] })
    for (let i = 0; i < 1000 && !proxy.stdout().includes('# metrics_exporter = '); i++) await new Promise((r) => setTimeout(r, 10))
    // The [otel] table the proxy prints for Codex (as comments): logs, traces and metrics, each at
    // its full URL (Codex appends no /v1/<signal>), protocol `binary`; metrics_exporter is set
    // because its default is statsig (openai/codex docs/config.md).
    const printed = [...proxy.stdout().matchAll(/^# (\[otel\]|(?:exporter|trace_exporter|metrics_exporter) = .*)$/gm)].map((m) => m[1] as string)
    expect(printed).toHaveLength(4)
    expect(printed[1]).toMatch(/^exporter = \{ otlp-http = \{ endpoint = "http:\/\/127\.0\.0\.1:\d+\/v1\/logs", protocol = "binary" \} \}$/)
    const otel = [...printed, 'environment = "e2e"', 'log_user_prompt = false']
    // The receiver is on loopback: the exporter goes there directly, not through the MITM proxy.
    result = await runCodex({ prompt: `${tag}: list the files in /tmp, then tell me what you found.`, apiKey: key, env: { ...proxy.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }, config: otel })
    // Codex flushes its exporters on exit; give the receiver a moment to write, then stop the proxy (flushes the capture).
    await new Promise((r) => setTimeout(r, 1500))
    await proxy.stop()
    await upstream.close()
    cap = readCapture(logDir)
    tel = cap.ends.filter((e) => e['type'] === 'telemetry')
    const r = ledgerFromRecords([...cap.flows, ...cap.lines, ...cap.ends])
    facts = r.telemetry
    calls = r.calls.filter((c) => c.kind === 'model')
  }, 240_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  it('Codex ran through the proxy', () => {
    expect(result.code, result.stderr.slice(-2000)).toBe(0)
    expect(calls.length).toBeGreaterThanOrEqual(2)
  })

  it('its codex.* events are telemetry records in the capture, named by their event.name', () => {
    const logs = tel.filter((t) => t['signal'] === 'log')
    const names = new Set(logs.map((t) => String(t['name'])))
    // Codex 0.171 puts its tracing event's source location in the LogRecord's eventName and body
    // (`event otel/src/events/…rs:837`); the event's name is the `event.name` attribute.
    for (const n of ['codex.conversation_starts', 'codex.user_prompt', 'codex.api_request', 'codex.sse_event', 'codex.tool_decision', 'codex.tool_result']) expect(names.has(n), [...names].join(', ')).toBe(true)
    for (const t of logs) {
      const a = t['attributes'] as Record<string, unknown>
      if (typeof a['event.name'] === 'string') expect(t['name']).toBe(a['event.name'])
      expect(t['client']).toBe('codex')
      expect(t['service']).toBe('codex_exec')
    }
    // The prompt stays out (log_user_prompt = false), and no API key reached the telemetry records.
    expect(logs.find((t) => t['name'] === 'codex.user_prompt')?.['attributes']).toMatchObject({ prompt: '[REDACTED]' })
    expect(JSON.stringify(tel)).not.toContain(key.slice(12, 30))
  })

  it('its traces and metrics are stored too, and its requests carry the trace they belong to', () => {
    const spans = tel.filter((t) => t['signal'] === 'span')
    const metrics = tel.filter((t) => t['signal'] === 'metric')
    expect(spans.length).toBeGreaterThan(10)
    expect(metrics.some((m) => String(m['name']).startsWith('codex.'))).toBe(true)
    for (const s of spans) expect(s['trace_id']).toMatch(/^[0-9a-f]{32}$/)
    // With [otel] on, Codex sends a W3C traceparent on each /responses request: its trace is one
    // of the stored traces (a span-level join the ledger does not make yet).
    const traceIds = new Set(spans.map((s) => s['trace_id']))
    const parents = cap.flows.filter((f) => String(f['url']).endsWith('/responses')).map((f) => String((f['request_headers'] as Record<string, string>)['traceparent'] ?? ''))
    expect(parents.length).toBeGreaterThanOrEqual(2)
    for (const tp of parents) expect(traceIds.has(tp.split('-')[1]), tp).toBe(true)
  })

  it('its events carry the session of its calls (conversation.id = the session_id header)', () => {
    const session = calls[0]?.session_id as string
    expect(session).toMatch(/^[0-9a-f-]{36}$/)
    for (const c of calls) expect(c.session_id).toBe(session)
    const codexFacts = facts.filter((f) => f.name.startsWith('codex.'))
    expect(codexFacts.length).toBeGreaterThanOrEqual(6)
    for (const f of codexFacts) expect(f.session_id).toBe(session)
    // Events that name no call join their session.
    for (const f of codexFacts.filter((x) => x.event === 'api_request' || x.event === 'sse_event' || x.event === 'user_prompt')) expect(f.join).toBe('session')
    expect(facts.filter((f) => f.event === 'api_request').map((f) => f.status_code)).toEqual(calls.map(() => 200))
  })

  it('its token counts are the wire\'s (response.completed, input counted with the cached part)', () => {
    const done = facts.filter((f) => f.event === 'sse_event' && f.input_tokens !== undefined)
    expect(done.length).toBe(calls.length)
    const wire = calls.map((c) => [c.usage?.input ?? -1, c.usage?.cache_read ?? -1, c.usage?.output ?? -1].join('/')).sort()
    const events = done.map((f) => [(f.input_tokens ?? 0) - (f.cache_read_tokens ?? 0), f.cache_read_tokens, f.output_tokens].join('/')).sort()
    expect(events).toEqual(wire)
  })

  it('its tool_decision and tool_result events join the call that made the tool call (call_id)', () => {
    const toolCalls = new Map(calls.flatMap((c) => c.tool_calls.map((t) => [t.call_id, c.key] as const)))
    const tools = facts.filter((f) => f.event === 'tool_result' || f.event === 'tool_decision')
    expect(tools.map((f) => f.event).sort()).toEqual(['tool_decision', 'tool_result'])
    for (const f of tools) {
      expect(f.join).toBe('tool_call_id')
      expect(f.call_key).toBe(toolCalls.get(f.tool_call_id as string))
      expect(f.tool_name).toBe('exec_command')
    }
    expect(tools.find((f) => f.event === 'tool_result')?.success).toBe(true)
    expect(tools.find((f) => f.event === 'tool_decision')?.decision).toBe('approved')
  })
})
