import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ledgerFromRecords, type LedgerContent, type ModelCall } from '@agenttap/ledger'
import { otlpRequestType, type OtlpSignal } from '../src/otlp-decode.js'

export const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures')

/** The records of fixtures/capture/all-mitm-sse (every scenario), parsed, in file order flows → lines → ends. */
export function captureRecords(): Record<string, unknown>[] {
  const dir = join(FIXTURES, 'capture', 'all-mitm-sse')
  const out: Record<string, unknown>[] = []
  for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) if (l) out.push(JSON.parse(l) as Record<string, unknown>)
  }
  return out
}

export function fixtureCalls(): { calls: ModelCall[]; contents: Map<string, LedgerContent>; records: Record<string, unknown>[] } {
  const records = captureRecords()
  const r = ledgerFromRecords(records)
  return { calls: r.calls, contents: new Map(r.contents.map((c) => [c.hash, c])), records }
}

/** One decoded OTLP request, as the official protobuf definitions read it (ids as hex). */
export interface Received {
  signal: OtlpSignal
  contentType: string
  body: Record<string, unknown>
}

/**
 * A test collector: an HTTP server on 127.0.0.1 that decodes every OTLP/HTTP protobuf request with
 * the official definitions (opentelemetry-proto, through protobufjs) — independent of the package's
 * own receiver — and answers 200 (or `status()` when set).
 */
export async function startCollector(opts: { status?: () => number; delayMs?: () => number } = {}): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const signal = ({ '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' } as const)[req.url as '/v1/traces']
      const type = otlpRequestType(signal)
      const msg = type.decode(Buffer.concat(chunks))
      const body = type.toObject(msg, { longs: String, bytes: String, enums: Number, arrays: true }) as Record<string, unknown>
      received.push({ signal, contentType: String(req.headers['content-type']), body })
      const answer = (): void => {
        res.writeHead(opts.status?.() ?? 200, { 'content-type': 'application/x-protobuf' })
        res.end()
      }
      const d = opts.delayMs?.() ?? 0
      if (d > 0) setTimeout(answer, d)
      else answer()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}

type Obj = Record<string, unknown>

/** A decoded span, its attributes as a plain object. */
export interface DecodedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  start: bigint
  end: bigint
  status: { code?: number; message?: string }
  attributes: Obj
  resource: Obj
  scope: string
}

function value(v: Obj | undefined): unknown {
  if (!v) return undefined
  if ('stringValue' in v) return v.stringValue
  if ('intValue' in v) return Number(v.intValue)
  if ('doubleValue' in v) return v.doubleValue
  if ('boolValue' in v) return v.boolValue
  if ('arrayValue' in v) return ((v.arrayValue as Obj).values as Obj[] | undefined ?? []).map(value)
  return v
}

export function attrs(list: unknown): Obj {
  const out: Obj = {}
  for (const kv of (list as Obj[] | undefined) ?? []) out[kv.key as string] = value(kv.value as Obj)
  return out
}

/** protobufjs gives bytes fields as base64; OTLP ids read as hex. */
const hex = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('hex')

export function spansOf(received: Received[]): DecodedSpan[] {
  const out: DecodedSpan[] = []
  for (const r of received) {
    if (r.signal !== 'traces') continue
    for (const rs of (r.body.resourceSpans as Obj[] | undefined) ?? []) {
      const resource = attrs((rs.resource as Obj | undefined)?.attributes)
      for (const ss of (rs.scopeSpans as Obj[] | undefined) ?? []) {
        const scope = String((ss.scope as Obj | undefined)?.name)
        for (const s of (ss.spans as Obj[] | undefined) ?? []) {
          const span: DecodedSpan = {
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            name: s.name as string,
            kind: s.kind as number,
            start: BigInt(s.startTimeUnixNano as string),
            end: BigInt(s.endTimeUnixNano as string),
            status: (s.status as { code?: number; message?: string } | undefined) ?? {},
            attributes: attrs(s.attributes),
            resource,
            scope,
          }
          if (typeof s.parentSpanId === 'string' && s.parentSpanId !== '') span.parentSpanId = hex(s.parentSpanId)
          out.push(span)
        }
      }
    }
  }
  return out
}

export const nanosOf = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n
