import type { CallSegment, FlowFacts, LedgerContent, ModelCall } from '@agenttap/ledger'
import type { DataTable } from './schema.js'

/**
 * The ledger's facts as rows of the index tables (see schema.ts). Pure: objects in, plain
 * row objects out; the column names are the table columns.
 */

type Cell = string | number | boolean | null
/** A row of one table. */
export type IndexRow = Record<string, Cell>

const s = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const b = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null)

/** The row of a flow. */
export function flowRow(f: FlowFacts, pending: boolean): IndexRow {
  return {
    flow_id: f.flow_id,
    session_id: f.session_id,
    session_source: s(f.session_source),
    agent: s(f.agent),
    client: f.client,
    provider: f.provider,
    kind: f.kind,
    method: s(f.method),
    url: s(f.url),
    host: s(f.host),
    path: s(f.path),
    http_status: n(f.http_status),
    outcome: f.outcome,
    started_at: f.started_at,
    ended_at: s(f.ended_at),
    ttfb_ms: n(f.ttfb_ms),
    duration_ms: n(f.duration_ms),
    events: n(f.events),
    bytes: n(f.bytes),
    user_agent: s(f.user_agent),
    calls: f.calls,
    pending,
  }
}

/** The rows of one model call: the call, its tool calls and its tool results. */
export function callRows(c: ModelCall, pending: boolean): { calls: IndexRow; tool_calls: IndexRow[]; tool_results: IndexRow[] } {
  const u = c.usage
  const r = c.request
  const call: IndexRow = {
    key: c.key,
    flow_id: c.flow_id,
    idx: c.index,
    source: c.source,
    response_id: s(c.response_id),
    request_id: s(c.request_id),
    session_id: c.session_id,
    session_source: s(c.session_source),
    agent: s(c.agent),
    client: c.client,
    provider: c.provider,
    api: c.api,
    transport: c.transport,
    kind: c.kind,
    model: s(c.model),
    started_at: c.started_at,
    first_token_at: s(c.first_token_at),
    ended_at: s(c.ended_at),
    ttft_ms: n(c.ttft_ms),
    duration_ms: n(c.duration_ms),
    outcome: c.outcome,
    stop_reason: s(c.stop_reason),
    http_status: n(c.http_status),
    error_type: s(c.error?.type),
    error_code: s(c.error?.code),
    error_message: s(c.error?.message),
    has_usage: u !== undefined,
    input_tokens: u?.input ?? 0,
    cache_read_tokens: u?.cache_read ?? 0,
    cache_write_5m_tokens: u?.cache_write_5m ?? 0,
    cache_write_1h_tokens: u?.cache_write_1h ?? 0,
    output_tokens: u?.output ?? 0,
    reasoning_tokens: n(u?.reasoning),
    prompt: s(c.prompt),
    text: c.text ?? '',
    reasoning: c.reasoning ?? '',
    req_model: s(r?.model),
    max_tokens: n(r?.max_tokens),
    temperature: n(r?.temperature),
    reasoning_effort: s(r?.reasoning_effort),
    stream: b(r?.stream),
    tool_names: JSON.stringify(r?.tool_names ?? []),
    message_count: n(r?.message_count),
    system_hash: s(r?.system_hash),
    tools_hash: s(r?.tools_hash),
    history_hash: s(r?.history_hash),
    prompt_cache_key: s(r?.prompt_cache_key),
    user_agent: s(r?.user_agent),
    rate_limits: c.rate_limits === undefined ? null : JSON.stringify(c.rate_limits),
    segments: r?.segments === undefined ? null : encodeSegments(r.segments),
    has_summary: r?.segments?.some((x) => x.summary === true) ?? false,
    tool_call_count: c.tool_calls?.length ?? 0,
    pending,
  }
  const tool_calls = (c.tool_calls ?? []).map((t): IndexRow => ({
    call_key: c.key,
    flow_id: c.flow_id,
    idx: c.index,
    position: t.position,
    call_id: t.call_id,
    name: t.name,
    kind: t.kind,
    arguments: t.arguments,
    complete: t.complete,
    parse_error: s(t.parse_error),
    command: s(t.command),
    workdir: s(t.workdir),
    server: s(t.server),
  }))
  const tool_results = (c.tool_results ?? []).map((t, i): IndexRow => ({
    call_key: c.key,
    flow_id: c.flow_id,
    idx: c.index,
    position: i,
    call_id: t.call_id,
    name: s(t.name),
    output: t.output,
    is_error: t.is_error,
    exit_code: n(t.exit_code),
  }))
  return { calls: call, tool_calls, tool_results }
}

/** Compact JSON of a request's cache segments (see the `segments` column); {@link decodeSegments} reads it back. */
export function encodeSegments(segs: readonly CallSegment[]): string {
  return JSON.stringify(segs.map((x) => {
    const flags = `${x.thinking !== undefined ? `t${x.thinking}` : ''}${x.reminder ? 'r' : ''}${x.summary ? 's' : ''}${x.loose !== undefined ? `~${x.loose}` : ''}`
    return [x.kind.charAt(0), x.index, x.label, x.hash, x.bytes, x.breakpoint ?? '', flags]
  }))
}

const KIND: Record<string, CallSegment['kind']> = { t: 'tool', s: 'system', m: 'message' }

/** The segments of a `segments` column value (undefined for null or a value it cannot read). */
export function decodeSegments(text: unknown): CallSegment[] | undefined {
  if (typeof text !== 'string') return undefined
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!Array.isArray(v)) return undefined
  const out: CallSegment[] = []
  for (const e of v) {
    if (!Array.isArray(e)) continue
    const [k, index, label, hash, bytes, bp, flags] = e as [string, number, string, string, number, string, string]
    const seg: CallSegment = { kind: KIND[k] ?? 'message', index, label, hash, bytes }
    if (bp === '5m' || bp === '1h') seg.breakpoint = bp
    if (flags !== '') {
      const [f, loose] = flags.split('~')
      const t = /t(\d+)/.exec(f ?? '')
      if (t) seg.thinking = Number(t[1])
      if (f?.includes('r')) seg.reminder = true
      if (f?.includes('s')) seg.summary = true
      if (loose !== undefined && loose !== '') seg.loose = loose
    }
    out.push(seg)
  }
  return out
}

/** The row of a piece of request content. */
export function contentRow(c: LedgerContent): IndexRow {
  switch (c.kind) {
    case 'system':
      return { hash: c.hash, kind: 'system', name: null, tool_kind: null, description: null, schema: null, text: c.text, tool_hashes: null }
    case 'tool':
      return { hash: c.hash, kind: 'tool', name: c.name, tool_kind: c.tool_kind, description: s(c.description), schema: s(c.schema), text: null, tool_hashes: null }
    case 'tools':
      return { hash: c.hash, kind: 'tools', name: null, tool_kind: null, description: null, schema: null, text: null, tool_hashes: JSON.stringify(c.tool_hashes) }
    case 'segment':
      return { hash: c.hash, kind: 'segment', name: null, tool_kind: null, description: null, schema: null, text: c.text, tool_hashes: null }
  }
}

/** Where rows go: one sink per table (a row file, or an array in tests). */
export type RowSink = (table: DataTable, row: IndexRow) => void
