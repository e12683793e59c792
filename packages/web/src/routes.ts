import { timelineSvg } from './timeline-svg.js'
import type { ServerResponse } from 'node:http'
import { createCallValidator, type CanonicalRecord } from '@agenttap/flow-fsm'
import { loadFlow, readSseAt, resolveBody, type CapturePaths } from './capture-store.js'
import { renderConversation, type SseLike } from './conversation.js'
import type { FlowEntry, FlowIndex } from './flow-index.js'
import type { ScanFrom } from './ingest.js'
import { searchFlows } from './line-reader.js'
import { buildRequestView } from './request-view.js'
import { SECURITY_HEADERS } from './security.js'
import type { FlowDetail, FlowRequest, RawEventsPage, SessionFinding, SessionView } from './types.js'

/** What the API routes read. */
export interface RouteContext {
  paths: CapturePaths
  index: FlowIndex
  scanFrom: ScanFrom
  /** Largest request body sent to the page, characters. */
  bodyLimit: number
  /** Newest flows of a session fed to the tool-call validator. */
  sessionMaxFlows: number
}

/** Response helpers with the security headers on every answer. */
export function head(res: ServerResponse, code: number, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra })
}

export function plain(res: ServerResponse, code: number, msg: string): void {
  head(res, code, 'text/plain; charset=utf-8')
  res.end(`${msg}\n`)
}

export function json(res: ServerResponse, body: unknown, code = 200): void {
  head(res, code, 'application/json; charset=utf-8')
  res.end(JSON.stringify(body))
}

/** The flow's entry, or a 404 answered. */
export function entryOr404(index: FlowIndex, res: ServerResponse, id: string): FlowEntry | undefined {
  const e = index.get(id)
  if (!e) json(res, { error: `flow ${id} is not in the index (unknown, or evicted past maxFlows)` }, 404)
  return e
}

/** `GET /api/flows/:id`: the flow rendered as the monitor renders it. */
export async function flowDetail(ctx: RouteContext, e: FlowEntry): Promise<FlowDetail> {
  const loaded = await loadFlow(ctx.paths, e, ctx.scanFrom)
  const s = e.summary
  const conv = renderConversation(
    {
      flow_id: s.flow_id,
      session_id: s.session_id,
      lines: loaded.lines,
      ...(loaded.flow !== undefined ? { flow: loaded.flow } : {}),
      ...(loaded.end !== undefined ? { end: loaded.end } : {}),
    },
    { finished: s.state !== 'STREAMING' },
  )
  const summary = { ...s }
  if (s.usage) summary.usage = { ...s.usage }
  return { summary, lines: conv.lines, commands: conv.commands, problems: [...loaded.problems, ...conv.problems], complete: loaded.problems.length === 0 }
}

/** `GET /api/flows/:id/events`: one page of raw events. */
export async function flowEvents(ctx: RouteContext, e: FlowEntry, from: number, limit: number): Promise<RawEventsPage> {
  let total: number
  let slice: SseLike[]
  if (!e.mem && !e.memEvicted) {
    // File-backed: read only the page asked for, by offset.
    total = e.lineOffsets.length
    slice = (await readSseAt(ctx.paths, e.summary.flow_id, e.lineOffsets.slice(from, from + limit))).lines
  } else {
    const loaded = await loadFlow(ctx.paths, e, ctx.scanFrom)
    total = loaded.lines.length
    slice = loaded.lines.slice(from, from + limit)
  }
  return {
    flow_id: e.summary.flow_id,
    total,
    from,
    events: slice.map((l, i) => ({
      seq: l.seq ?? from + i,
      data: l.data,
      ...(l.t_ms !== undefined ? { t_ms: l.t_ms } : {}),
      ...(l.type === 'client_frame' ? { event: 'client_frame' } : l.event !== undefined ? { event: l.event } : {}),
      ...(l.transport !== undefined ? { transport: l.transport } : {}),
    })),
  }
}

function flatHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof h !== 'object' || h === null) return out
  for (const [k, v] of Object.entries(h as Record<string, unknown>)) out[k] = Array.isArray(v) ? v.map(String).join(', ') : String(v)
  return out
}

/** `GET /api/flows/:id/request`: the redacted request as captured. */
export async function flowRequest(ctx: RouteContext, e: FlowEntry): Promise<FlowRequest> {
  const loaded = await loadFlow(ctx.paths, e, ctx.scanFrom)
  const f = loaded.flow
  const s = e.summary
  const base: FlowRequest = {
    flow_id: s.flow_id,
    ...(s.method !== undefined ? { method: s.method } : {}),
    ...(s.url !== undefined ? { url: s.url } : {}),
    ...(s.status !== undefined ? { status: s.status } : {}),
    request_headers: flatHeaders(f?.['request_headers']),
    response_headers: flatHeaders(f?.['response_headers']),
    view: null,
    body: null,
    body_truncated: false,
  }
  if (!f) {
    base.body_error = loaded.problems[0] ?? 'the request record of this flow was not captured (or not yet seen)'
    return base
  }
  const resolved = await resolveBody(ctx.paths, f['request_body'], ctx.bodyLimit)
  if (resolved.error !== undefined) base.body_error = resolved.error
  if (resolved.body === undefined || resolved.body === null) return base
  base.view = buildRequestView(resolved.body)
  const text = typeof resolved.body === 'string' ? resolved.body : JSON.stringify(resolved.body, null, 2)
  base.body = text.length > ctx.bodyLimit ? text.slice(0, ctx.bodyLimit) : text
  base.body_truncated = text.length > ctx.bodyLimit || resolved.truncated === true
  return base
}

/** `GET /api/sessions/:id`: the session's flows in order, with flow-fsm's tool-call findings. */
export async function sessionView(ctx: RouteContext, id: string): Promise<SessionView> {
  const entries = ctx.index.session(id)
  const view: SessionView = { session_id: id, flows: entries.map((e) => ({ ...e.summary })), findings: [], counts: {} }
  view.timeline_svg = timelineSvg(ctx.index.timeline(id))
  const alerts = view.flows.flatMap((f) => f.alerts ?? [])
  if (alerts.length > 0) view.alerts = alerts
  try {
    const problems: string[] = []
    // Validation reads every request body of the session: bound it to the newest flows.
    const window = entries.slice(-ctx.sessionMaxFlows)
    if (window.length < entries.length) problems.push(`validated the newest ${window.length} of ${entries.length} flows (sessionMaxFlows); results of older calls count as pre-capture`)
    const validator = createCallValidator({ onError: (err) => problems.push(err.message) })
    for (const e of window) {
      const loaded = await loadFlow(ctx.paths, e, ctx.scanFrom)
      problems.push(...loaded.problems)
      if (loaded.flow) {
        const resolved = await resolveBody(ctx.paths, loaded.flow['request_body'], ctx.bodyLimit)
        validator.feed({ ...loaded.flow, request_body: resolved.body } as unknown as CanonicalRecord)
      }
      for (const l of loaded.lines) validator.feed({ flow_id: e.summary.flow_id, session_id: id, ...l, type: l.type ?? 'sse' } as CanonicalRecord)
      validator.feed({ type: 'flow_end', flow_id: e.summary.flow_id, session_id: id, outcome: e.summary.outcome ?? 'aborted' } as CanonicalRecord)
    }
    const result = validator.end()
    view.findings = result.findings
      .filter((f) => f.session_id === id)
      .map((f): SessionFinding => ({ kind: f.kind, call_id: f.call_id, flow_id: f.flow_id, where: f.position, message: f.message, ...(f.name !== undefined ? { name: f.name } : {}) }))
    const counts = result.sessions[id]
    if (counts) view.counts = { ...counts } as unknown as Record<string, number>
    if (problems.length) view.validation_error = problems.slice(0, 5).join('; ')
  } catch (err) {
    view.validation_error = (err as Error).message
  }
  return view
}

/** `GET /api/search?q=`: flows whose request or response bodies hold the text. */
export async function search(ctx: RouteContext, q: string, signal: AbortSignal): Promise<{ q: string; flow_ids: string[]; scanned_bytes: number; truncated: boolean }> {
  const r = await searchFlows([ctx.paths.flows, ctx.paths.lines], q, { signal })
  return { q, flow_ids: r.flowIds, scanned_bytes: r.scannedBytes, truncated: r.truncated }
}
