import { SCHEMA_VERSION, type TelemetryRecord } from '@agenttap/jsonl-io'
import type { DecodedOtlp } from './otlp-decode.js'

/**
 * OTLP export requests (decoded, OTLP/JSON's shape) → `telemetry` records: one per log record,
 * metric data point and span. Attribute values are flattened to JSON values; the join keys the
 * agents put in attributes are copied out (Claude Code: `request_id`, `prompt.id`, `tool_use_id`,
 * `session.id`; Codex: `conversation.id`, `call_id`).
 */

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** An OTLP AnyValue as a plain JSON value. */
export function anyValue(v: unknown): unknown {
  if (!isObj(v)) return v ?? null
  if ('stringValue' in v) return v.stringValue
  if ('boolValue' in v) return v.boolValue
  if ('intValue' in v) {
    const n = Number(v.intValue)
    return Number.isSafeInteger(n) ? n : String(v.intValue)
  }
  if ('doubleValue' in v) return Number(v.doubleValue)
  if ('arrayValue' in v) return arr((v.arrayValue as Obj | undefined)?.values).map(anyValue)
  if ('kvlistValue' in v) return attributesOf((v.kvlistValue as Obj | undefined)?.values)
  if ('bytesValue' in v) return v.bytesValue
  return null
}

/** OTLP `KeyValue[]` as an object. */
export function attributesOf(list: unknown): Obj {
  const out: Obj = {}
  for (const kv of arr(list)) if (isObj(kv) && typeof kv.key === 'string') out[kv.key] = anyValue(kv.value)
  return out
}

function hexId(v: unknown, binary: boolean): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined
  return binary ? Buffer.from(v, 'base64').toString('hex') : v.toLowerCase()
}

function isoOfNanos(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '' || v === '0' || v === 0) return undefined
  try {
    const ms = Number(BigInt(String(v)) / 1_000_000n)
    return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined
  } catch {
    return undefined
  }
}

/** `claude-code` / `codex` from a resource's `service.name` (or the event names' prefix). */
export function clientOfService(service: string | undefined, name: string): string {
  const s = (service ?? '').toLowerCase()
  if (s.includes('claude') || name.startsWith('claude_code.')) return 'claude-code'
  if (s.includes('codex') || name.startsWith('codex.')) return 'codex'
  return 'unknown'
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined)

function record(base: { signal: TelemetryRecord['signal']; name: string; service: string | undefined; attributes: Obj; time: string | undefined; receivedAt: string }): TelemetryRecord {
  const a = base.attributes
  const client = clientOfService(base.service, base.name)
  const session = str(a['session.id']) ?? str(a['conversation.id']) ?? '-'
  const r: TelemetryRecord = {
    v: SCHEMA_VERSION,
    type: 'telemetry',
    ts: base.receivedAt,
    flow_id: '-',
    session_id: session,
    signal: base.signal,
    client,
    name: base.name,
    attributes: a,
  }
  if (base.service !== undefined) r.service = base.service
  if (base.time !== undefined) r.time = base.time
  const requestId = str(a.request_id) ?? str(a['request.id'])
  if (requestId !== undefined) r.request_id = requestId
  const promptId = str(a['prompt.id']) ?? str(a.prompt_id)
  if (promptId !== undefined) r.prompt_id = promptId
  const toolCallId = str(a.tool_use_id) ?? str(a.call_id) ?? str(a['tool.call_id'])
  if (toolCallId !== undefined) r.tool_call_id = toolCallId
  return r
}

const EVENT_NAME = /^[a-z_]+\.[a-z_.]+$/

/**
 * The event name of a log record: a body that is one (Claude Code: `claude_code.api_request`),
 * the `event.name` attribute (prefixed with the agent's namespace when it is bare), the
 * LogRecord's `eventName` when it is one, else the body or `eventName` as they are. Codex (0.171)
 * sets `eventName` to its tracing event's source location (`event otel/src/events/…rs:837`) and
 * the name in the attribute (`codex.api_request`).
 */
function logName(lr: Obj, a: Obj, service: string | undefined): string {
  const body = anyValue(lr.body)
  if (typeof body === 'string' && EVENT_NAME.test(body)) return body
  const eventName = str(lr.eventName)
  const ev = str(a['event.name']) ?? (eventName !== undefined && EVENT_NAME.test(eventName) ? eventName : undefined)
  if (ev !== undefined) {
    if (ev.includes('.')) return ev
    const client = clientOfService(service, '')
    return client === 'claude-code' ? `claude_code.${ev}` : client === 'codex' ? `codex.${ev}` : ev
  }
  return typeof body === 'string' ? body.slice(0, 200) : (eventName ?? 'log')
}

/**
 * The `telemetry` records of one decoded OTLP request (not yet redacted: the receiver redacts
 * each before it leaves).
 */
export function telemetryRecords(decoded: DecodedOtlp, receivedAt: string = new Date().toISOString()): TelemetryRecord[] {
  const out: TelemetryRecord[] = []
  const b = decoded.body
  if (decoded.signal === 'logs') {
    for (const rl of arr(b.resourceLogs)) {
      if (!isObj(rl)) continue
      const res = attributesOf((rl.resource as Obj | undefined)?.attributes)
      const service = str(res['service.name'])
      for (const sl of arr(rl.scopeLogs)) {
        if (!isObj(sl)) continue
        for (const lr of arr(sl.logRecords)) {
          if (!isObj(lr)) continue
          const a = attributesOf(lr.attributes)
          const body = anyValue(lr.body)
          if (body !== null && typeof body !== 'string') a['log.body'] = body
          const time = str(a['event.timestamp']) ?? isoOfNanos(lr.timeUnixNano) ?? isoOfNanos(lr.observedTimeUnixNano)
          out.push(record({ signal: 'log', name: logName(lr, a, service), service, attributes: a, time, receivedAt }))
        }
      }
    }
  } else if (decoded.signal === 'metrics') {
    for (const rm of arr(b.resourceMetrics)) {
      if (!isObj(rm)) continue
      const res = attributesOf((rm.resource as Obj | undefined)?.attributes)
      const service = str(res['service.name'])
      for (const sm of arr(rm.scopeMetrics)) {
        if (!isObj(sm)) continue
        for (const m of arr(sm.metrics)) {
          if (!isObj(m) || typeof m.name !== 'string') continue
          const data = (m.sum ?? m.gauge ?? m.histogram ?? m.exponentialHistogram ?? m.summary) as Obj | undefined
          for (const dp of arr(data?.dataPoints)) {
            if (!isObj(dp)) continue
            const a = attributesOf(dp.attributes)
            if (typeof m.unit === 'string' && m.unit !== '') a['metric.unit'] = m.unit
            if (m.sum && isObj(m.sum)) a['metric.temporality'] = Number(m.sum.aggregationTemporality) === 1 || m.sum.aggregationTemporality === 'AGGREGATION_TEMPORALITY_DELTA' ? 'delta' : 'cumulative'
            const raw = dp.asDouble ?? dp.asInt ?? dp.sum
            const r = record({ signal: 'metric', name: m.name, service, attributes: a, time: isoOfNanos(dp.timeUnixNano), receivedAt })
            if (raw !== undefined && Number.isFinite(Number(raw))) r.value = Number(raw)
            out.push(r)
          }
        }
      }
    }
  } else {
    for (const rs of arr(b.resourceSpans)) {
      if (!isObj(rs)) continue
      const res = attributesOf((rs.resource as Obj | undefined)?.attributes)
      const service = str(res['service.name'])
      for (const ss of arr(rs.scopeSpans)) {
        if (!isObj(ss)) continue
        for (const s of arr(ss.spans)) {
          if (!isObj(s)) continue
          const a = attributesOf(s.attributes)
          const r = record({ signal: 'span', name: str(s.name) ?? 'span', service, attributes: a, time: isoOfNanos(s.startTimeUnixNano), receivedAt })
          const traceId = hexId(s.traceId, decoded.binaryIds)
          const spanId = hexId(s.spanId, decoded.binaryIds)
          if (traceId) r.trace_id = traceId
          if (spanId) r.span_id = spanId
          try {
            const ns = BigInt(String(s.endTimeUnixNano ?? 0)) - BigInt(String(s.startTimeUnixNano ?? 0))
            if (ns >= 0n) r.value = Number(ns) / 1e6
          } catch {
            // A malformed time leaves the duration out; the span is kept.
          }
          out.push(r)
        }
      }
    }
  }
  return out
}
