import { createStreamNormalizer, type StreamNormalizer } from '@agenttap/stream-normalizer'
import type { AgentEvent } from './normalizer-contract.js'
import { FlowFsmError, checkNumberOption, excerpt } from './errors.js'
import type { CallCounts, CallFinding, CanonicalRecord, FlowRecordLike, SseRecordLike } from './types.js'

/** Options of {@link createCallValidator}. */
export interface CallValidatorOptions {
  /**
   * A session with no record for this long (capture time, from record `ts`) is finalized early:
   * its findings are produced and its state dropped, so memory stays bounded by the sessions
   * open at once. Only correct when records are fed in capture order (merged by `ts`).
   * @defaultValue Infinity (sessions are finalized by {@link CallValidator.end})
   */
  sessionIdleMs?: number
  /**
   * At most this many flows hold a live stream normalizer; past it the least recently fed flow
   * is ended (its open calls count as incomplete). @defaultValue 4096
   */
  maxOpenFlows?: number
  /** Each finding as soon as it is known (they are also returned by `end`). */
  onFinding?: (f: CallFinding) => void
  /** Malformed input (records without flow_id, unparsable request bodies, stream errors). */
  onError?: (e: FlowFsmError) => void
  /**
   * Resolves a request body stored out of line (`request_body: {"$ref": "sse_logs/…"}`), e.g. by
   * reading the file. Synchronous; return `undefined` when it cannot be read. Without it such
   * requests are counted in `uncheckedRequests`.
   */
  resolveRequestBody?: (ref: string, flow: FlowRecordLike) => unknown
}

/** Result of {@link CallValidator.end}. */
export interface CallValidationResult {
  /** Every defect, ordered by session (first seen), then flow order, then position. */
  findings: CallFinding[]
  /** Counts per session id. */
  sessions: Record<string, CallCounts>
}

/** Snapshot of what a {@link CallValidator} holds. */
export interface CallValidatorStats {
  /** Sessions not finalized yet. */
  openSessions: number
  /** Flows tracked (ended ones linger until pushed out by `maxOpenFlows`). */
  flows: number
  /** Flows with a live normalizer. */
  openFlows: number
  /** Call and result entries held by open sessions. */
  entries: number
  /** Sessions finalized early because they were idle. */
  finalizedSessions: number
  /** Findings so far. */
  findings: number
}

/** Tool-call lifecycle validator over whole captures. See {@link createCallValidator}. */
export interface CallValidator {
  /** Feeds one canonical record (`flow` with `request_body`, `sse`, `flow_end`; others ignored). */
  feed(record: CanonicalRecord): void
  /** Ends every open flow and session and returns all findings and counts. */
  end(): CallValidationResult
  /** What is held right now (for progress output and memory checks). */
  stats(): CallValidatorStats
  reset(): void
}

/** Sort key of a flow: capture start time, then flow_seq, then arrival. */
type Order = [number, number, number]
function before(a: Order, b: Order): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2]
}

interface CallEntry {
  call_id: string
  name: string
  flow_id: string
  order: Order
  seq: number | undefined
  index: number | undefined
  /** Its arguments never completed (already reported): not reported again as unanswered. */
  incomplete?: boolean
}

interface ResultEntry {
  flow_id: string
  order: Order
  position: string
  /** The request's own history holds the call (assistant tool_use / function_call). */
  inHistory: boolean
}

interface SessionState {
  id: string
  rank: number
  lastTs: number
  calls: Map<string, CallEntry>
  results: Map<string, ResultEntry>
  counts: CallCounts
  findings: Array<{ f: CallFinding; order: Order; seq: number }>
}

interface FlowState {
  flow_id: string
  session: SessionState
  order: Order
  normalizer: StreamNormalizer | undefined
  /** Calls started and not yet ended in this flow. */
  open: Map<string, CallEntry>
  meta: { url?: string; provider?: string; client?: string }
  ended: boolean
}

function newCounts(): CallCounts {
  return {
    flows: 0,
    calls: 0,
    answered: 0,
    unanswered: 0,
    results: 0,
    orphanResults: 0,
    duplicateCalls: 0,
    resultsBeforeCall: 0,
    incompleteArgs: 0,
    invalidArgs: 0,
    preCaptureResults: 0,
    uncheckedRequests: 0,
  }
}

function parseTs(ts: unknown): number {
  if (typeof ts !== 'string') return Number.NaN
  return Date.parse(ts)
}

interface BodyRefs {
  /** call id → path of each tool result in the request. */
  results: Array<{ call_id: string; path: string }>
  /** call ids the request's history announces. */
  history: Set<string>
}

/** Tool results and history calls of a request body (Anthropic Messages, Responses, Chat). */
function scanRequestBody(body: unknown): BodyRefs | undefined {
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body)
    } catch {
      return undefined
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  const b = body as { messages?: unknown; input?: unknown }
  const refs: BodyRefs = { results: [], history: new Set() }
  if (Array.isArray(b.messages)) {
    b.messages.forEach((m: unknown, i: number) => {
      if (m === null || typeof m !== 'object') return
      const msg = m as { role?: unknown; content?: unknown; tool_call_id?: unknown; tool_calls?: unknown }
      // Chat Completions: role "tool" answers, assistant tool_calls announce.
      if (msg.role === 'tool' && typeof msg.tool_call_id === 'string') {
        refs.results.push({ call_id: msg.tool_call_id, path: `request_body.messages[${i}]` })
      }
      if (Array.isArray(msg.tool_calls)) {
        for (const tc of msg.tool_calls) {
          const id = (tc as { id?: unknown } | null)?.id
          if (typeof id === 'string') refs.history.add(id)
        }
      }
      if (!Array.isArray(msg.content)) return
      msg.content.forEach((c: unknown, j: number) => {
        if (c === null || typeof c !== 'object') return
        const block = c as { type?: unknown; id?: unknown; tool_use_id?: unknown }
        if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
          refs.results.push({ call_id: block.tool_use_id, path: `request_body.messages[${i}].content[${j}]` })
        } else if ((block.type === 'tool_use' || block.type === 'server_tool_use') && typeof block.id === 'string') {
          refs.history.add(block.id)
        }
      })
    })
  }
  if (Array.isArray(b.input)) {
    b.input.forEach((it: unknown, i: number) => {
      if (it === null || typeof it !== 'object') return
      const item = it as { type?: unknown; call_id?: unknown }
      if (typeof item.call_id !== 'string' || typeof item.type !== 'string') return
      if (item.type.endsWith('_output')) refs.results.push({ call_id: item.call_id, path: `request_body.input[${i}]` })
      else if (item.type.endsWith('_call')) refs.history.add(item.call_id)
    })
  }
  return refs
}

/**
 * Creates the tool-call (call_id) lifecycle validator. Across the flows of each session it
 * follows every call: announced in a response stream (Anthropic `tool_use` id, Responses
 * `call_id`, Chat `tool_calls[].id`; streams are decoded with stream-normalizer), its arguments
 * completing, and its result in a later request (`tool_result.tool_use_id`,
 * `function_call_output.call_id`, Chat `tool_call_id`). It reports, with flow and position:
 * calls never answered, results with no call, duplicate call ids, results before their call,
 * arguments that never completed or did not parse. Requests replay the whole history, so a
 * result counts at its first appearance only, and a result whose call sits in the request's own
 * history but was never captured (the capture started mid-session) is counted as pre-capture,
 * not reported. Flow order is the flow records' `ts` / `flow_seq`, so records may be fed file by
 * file. Linear in the input; memory is a few small entries per call of the open sessions plus
 * one normalizer per open flow (capped by `maxOpenFlows`).
 *
 * @example
 * ```ts
 * const v = createCallValidator()
 * for await (const { value } of readJsonl('sse_flows.jsonl')) v.feed(value as CaptureRecord)
 * // … sse_lines.jsonl, sse_flow_ends.jsonl …
 * const { findings, sessions } = v.end()
 * ```
 */
export function createCallValidator(opts: CallValidatorOptions = {}): CallValidator {
  checkNumberOption('sessionIdleMs', opts.sessionIdleMs, 0)
  checkNumberOption('maxOpenFlows', opts.maxOpenFlows, 1)
  const sessionIdleMs = opts.sessionIdleMs ?? Number.POSITIVE_INFINITY
  const maxOpenFlows = opts.maxOpenFlows ?? 4096
  const onFinding = opts.onFinding
  const onError = opts.onError

  let sessions = new Map<string, SessionState>()
  let flows = new Map<string, FlowState>() // insertion order = least recently fed first
  let finalized: Array<{ f: CallFinding; rank: number; order: Order; seq: number }> = []
  let finalizedCounts: Record<string, CallCounts> = {}
  let arrival = 0
  let sessionRank = 0
  let maxTs = Number.NEGATIVE_INFINITY
  let sinceSweep = 0
  let lastSweepTs = Number.NEGATIVE_INFINITY

  function session(id: string): SessionState {
    let s = sessions.get(id)
    if (!s) {
      s = { id, rank: sessionRank++, lastTs: Number.NEGATIVE_INFINITY, calls: new Map(), results: new Map(), counts: newCounts(), findings: [] }
      sessions.set(id, s)
      // A session finalized earlier (idle) that comes back starts fresh but keeps its counts.
    }
    return s
  }

  function report(s: SessionState, f: CallFinding, order: Order, seq = -1): void {
    s.findings.push({ f, order, seq })
    onFinding?.(f)
  }

  function flowFor(r: CanonicalRecord): FlowState {
    let fl = flows.get(r.flow_id)
    if (fl) {
      flows.delete(r.flow_id)
      flows.set(r.flow_id, fl)
      return fl
    }
    const s = session(typeof r.session_id === 'string' ? r.session_id : '')
    const ts = parseTs(r.ts)
    fl = {
      flow_id: r.flow_id,
      session: s,
      order: [Number.isNaN(ts) ? Number.POSITIVE_INFINITY : ts, Number.POSITIVE_INFINITY, arrival++],
      normalizer: undefined,
      open: new Map(),
      meta: {},
      ended: false,
    }
    flows.set(r.flow_id, fl)
    if (flows.size > maxOpenFlows) {
      for (const old of flows.values()) {
        if (flows.size <= maxOpenFlows) break
        endFlow(old)
        flows.delete(old.flow_id)
      }
    }
    return fl
  }

  function onEvent(fl: FlowState, e: AgentEvent): void {
    const s = fl.session
    if (e.type === 'tool_call_start') {
      const id = e.call_id
      // Server tools (web search …) run at the provider and are answered in the same response.
      if (id === undefined || e.kind === 'server') return
      const entry: CallEntry = { call_id: id, name: e.name, flow_id: fl.flow_id, order: fl.order, seq: e.seq, index: e.index }
      const prev = s.calls.get(id)
      const where = `response seq ${e.seq ?? '?'}${e.index === undefined ? '' : ` (block ${e.index})`}`
      if (prev) {
        s.counts.duplicateCalls++
        const f: CallFinding = {
          kind: 'duplicate_call',
          session_id: s.id,
          call_id: id,
          name: e.name,
          flow_id: fl.flow_id,
          position: where,
          related_flow_id: prev.flow_id,
          message: `call id ${id} (${e.name}) announced again; first announced in flow ${prev.flow_id} at response seq ${prev.seq ?? '?'}. Results cannot be matched to one call.`,
        }
        if (e.seq !== undefined) f.seq = e.seq
        report(s, f, fl.order, e.seq)
        // Keep the earliest announcement as the call of record.
        if (before(entry.order, prev.order)) s.calls.set(id, entry)
      } else {
        s.calls.set(id, entry)
        s.counts.calls++
      }
      fl.open.set(id, entry)
      return
    }
    if (e.type === 'tool_call_end') {
      const id = e.call_id
      if (id === undefined) return
      const entry = fl.open.get(id) ?? s.calls.get(id)
      fl.open.delete(id)
      // At stream end the normalizer closes open calls without a seq: point at the call's start.
      const seq = e.seq ?? entry?.seq
      const where = `response seq ${seq ?? '?'}${e.index === undefined ? '' : ` (block ${e.index})`}`
      if (e.incomplete) {
        if (entry) entry.incomplete = true
        s.counts.incompleteArgs++
        const f: CallFinding = {
          kind: 'incomplete_args',
          session_id: s.id,
          call_id: id,
          name: e.name,
          flow_id: fl.flow_id,
          position: where,
          message: `arguments of ${e.name} call ${id} never completed: the stream ended after ${e.arguments.length} chars of arguments`,
        }
        if (seq !== undefined) f.seq = seq
        report(s, f, fl.order, seq)
      } else if (e.parse_error !== undefined && e.kind !== 'custom') {
        s.counts.invalidArgs++
        const f: CallFinding = {
          kind: 'invalid_args',
          session_id: s.id,
          call_id: id,
          name: e.name,
          flow_id: fl.flow_id,
          position: where,
          message: `arguments of ${e.name} call ${id} are not valid JSON: ${e.parse_error}`,
        }
        if (e.seq !== undefined) f.seq = e.seq
        report(s, f, fl.order, e.seq)
      }
    }
  }

  function ensureNormalizer(fl: FlowState): StreamNormalizer {
    if (!fl.normalizer) {
      fl.normalizer = createStreamNormalizer({
        flow_id: fl.flow_id,
        flow: fl.meta,
        onEvent: (e) => onEvent(fl, e),
        onError: (err) => onError?.(new FlowFsmError('STREAM_ERROR', err.message, { flow_id: fl.flow_id, seq: (err as { seq?: number }).seq, cause: err })),
      })
    }
    return fl.normalizer
  }

  function endFlow(fl: FlowState): void {
    if (fl.ended) return
    fl.ended = true
    fl.normalizer?.end()
    fl.normalizer = undefined
    // Calls the normalizer never closed (it closes open calls at end; this is a safety net).
    for (const entry of fl.open.values()) {
      entry.incomplete = true
      fl.session.counts.incompleteArgs++
      const f: CallFinding = {
        kind: 'incomplete_args',
        session_id: fl.session.id,
        call_id: entry.call_id,
        name: entry.name,
        flow_id: fl.flow_id,
        position: `response seq ${entry.seq ?? '?'}`,
        message: `arguments of ${entry.name} call ${entry.call_id} never completed: the flow ended without the call's end event`,
      }
      if (entry.seq !== undefined) f.seq = entry.seq
      report(fl.session, f, fl.order, entry.seq)
    }
    fl.open.clear()
  }

  function addFlow(r: FlowRecordLike, fl: FlowState): void {
    const ts = parseTs(r.ts)
    // In place: calls already announced (sse fed before the flow record) share this tuple.
    if (!Number.isNaN(ts)) fl.order[0] = ts
    if (typeof r.flow_seq === 'number') fl.order[1] = r.flow_seq
    fl.session.counts.flows++
    if (typeof r.url === 'string') fl.meta.url = r.url
    if (typeof r.provider === 'string') fl.meta.provider = r.provider
    if (typeof r.client === 'string') fl.meta.client = r.client
    let body = r.request_body
    if (body === undefined || body === null) return
    if (typeof body === 'object' && !Array.isArray(body) && typeof (body as { $ref?: unknown }).$ref === 'string') {
      const ref = (body as { $ref: string }).$ref
      body = opts.resolveRequestBody?.(ref, r)
      if (body === undefined || body === null) {
        fl.session.counts.uncheckedRequests++
        return
      }
    }
    const refs = scanRequestBody(body)
    if (!refs) {
      fl.session.counts.uncheckedRequests++
      onError?.(new FlowFsmError('INVALID_RECORD', `flow ${r.flow_id}: request_body is not a JSON object with messages[] or input[] (received ${excerpt(body, 80)}); its tool results were not checked`, { flow_id: r.flow_id }))
      return
    }
    const s = fl.session
    for (const { call_id, path } of refs.results) {
      const prev = s.results.get(call_id)
      if (prev && prev.flow_id === fl.flow_id) continue // the same request listing it twice: not history
      if (prev && !before(fl.order, prev.order)) continue // history replay of a known result
      if (!prev) s.counts.results++
      s.results.set(call_id, { flow_id: fl.flow_id, order: fl.order, position: path, inHistory: refs.history.has(call_id) })
    }
  }

  function finalizeSession(s: SessionState): void {
    const c = s.counts
    for (const call of s.calls.values()) {
      const res = s.results.get(call.call_id)
      if (!res && call.incomplete) continue // reported as incomplete_args: it could not run
      if (!res) {
        c.unanswered++
        const f: CallFinding = {
          kind: 'unanswered_call',
          session_id: s.id,
          call_id: call.call_id,
          name: call.name,
          flow_id: call.flow_id,
          position: `response seq ${call.seq ?? '?'}${call.index === undefined ? '' : ` (block ${call.index})`}`,
          message: `${call.name} call ${call.call_id} was never answered: no later request of the session carries its result${c.uncheckedRequests > 0 ? ` (${c.uncheckedRequests} request bodies of this session could not be checked)` : ''}`,
        }
        if (call.seq !== undefined) f.seq = call.seq
        report(s, f, call.order, call.seq)
      } else if (before(res.order, call.order)) {
        c.resultsBeforeCall++
        const f: CallFinding = {
          kind: 'result_before_call',
          session_id: s.id,
          call_id: call.call_id,
          name: call.name,
          flow_id: res.flow_id,
          position: res.position,
          related_flow_id: call.flow_id,
          message: `the result of ${call.name} call ${call.call_id} was sent in flow ${res.flow_id} before flow ${call.flow_id} announced the call`,
        }
        report(s, f, res.order)
      } else c.answered++
    }
    for (const [call_id, res] of s.results) {
      if (s.calls.has(call_id)) continue
      if (res.inHistory) {
        c.preCaptureResults++
        continue
      }
      c.orphanResults++
      report(
        s,
        {
          kind: 'orphan_result',
          session_id: s.id,
          call_id,
          flow_id: res.flow_id,
          position: res.position,
          message: `result for call ${call_id} has no call: it was never announced in a captured response nor in the request's history`,
        },
        res.order,
      )
    }
    for (const x of s.findings) finalized.push({ ...x, rank: s.rank })
    const prev = finalizedCounts[s.id]
    finalizedCounts[s.id] = prev ? sumCounts(prev, c) : c
    sessions.delete(s.id)
  }

  function sweepIdle(): void {
    if (!Number.isFinite(sessionIdleMs)) return
    for (const s of sessions.values()) {
      if (maxTs - s.lastTs < sessionIdleMs) continue
      for (const fl of flows.values()) {
        if (fl.session === s) {
          endFlow(fl)
          flows.delete(fl.flow_id)
        }
      }
      finalizeSession(s)
    }
  }

  return {
    feed(record) {
      if (!record || typeof record !== 'object' || typeof record.flow_id !== 'string' || record.flow_id === '') {
        onError?.(new FlowFsmError('INVALID_RECORD', `record without a flow_id: expected a canonical record ({type, flow_id, session_id, …}), received ${excerpt(record)}; it was skipped`))
        return
      }
      if (record.type !== 'flow' && record.type !== 'sse' && record.type !== 'flow_end') return
      const fl = flowFor(record)
      const ts = parseTs(record.ts)
      if (!Number.isNaN(ts)) {
        if (ts > fl.session.lastTs) fl.session.lastTs = ts
        if (ts > maxTs) maxTs = ts
      }
      if (record.type === 'flow') addFlow(record as FlowRecordLike, fl)
      else if (record.type === 'sse') {
        const r = record as SseRecordLike
        if (fl.ended) {
          onError?.(new FlowFsmError('ILLEGAL_TRANSITION', `flow ${r.flow_id}: sse seq ${r.seq ?? '?'} after the flow ended (expected an open flow, was ended); skipped`, { flow_id: r.flow_id, seq: r.seq }))
        } else if (typeof r.data === 'string') {
          const rec: { seq?: number; event?: string; data: string; transport?: 'sse' | 'ws' } = { data: r.data }
          if (typeof r.seq === 'number') rec.seq = r.seq
          if (typeof r.event === 'string') rec.event = r.event
          if (r.transport === 'ws' || r.transport === 'sse') rec.transport = r.transport
          ensureNormalizer(fl).feedRecord(rec)
        } else {
          onError?.(new FlowFsmError('INVALID_RECORD', `flow ${r.flow_id}: sse record without a string data field; skipped`, { flow_id: r.flow_id, seq: r.seq }))
        }
      } else endFlow(fl)
      // Sweep when capture time moved on by a quarter of the idle window (bounds the sessions
      // held to those active within ~1.25 windows), or every 4096 records without timestamps.
      if (++sinceSweep >= 4096 || maxTs - lastSweepTs >= sessionIdleMs / 4) {
        sinceSweep = 0
        lastSweepTs = maxTs
        sweepIdle()
      }
    },
    end() {
      for (const fl of flows.values()) endFlow(fl)
      flows = new Map()
      for (const s of [...sessions.values()]) finalizeSession(s)
      const ordered = finalized
        .map((x, i) => ({ ...x, i }))
        .sort((a, b) => a.rank - b.rank || (before(a.order, b.order) ? -1 : before(b.order, a.order) ? 1 : a.seq - b.seq || a.i - b.i))
      const result: CallValidationResult = { findings: ordered.map((x) => x.f), sessions: finalizedCounts }
      finalized = []
      finalizedCounts = {}
      return result
    },
    stats() {
      let entries = 0
      let pending = 0
      for (const s of sessions.values()) {
        entries += s.calls.size + s.results.size
        pending += s.findings.length
      }
      let open = 0
      for (const fl of flows.values()) if (fl.normalizer) open++
      return {
        openSessions: sessions.size,
        flows: flows.size,
        openFlows: open,
        entries,
        finalizedSessions: Object.keys(finalizedCounts).length,
        findings: finalized.length + pending,
      }
    },
    reset() {
      sessions = new Map()
      flows = new Map()
      finalized = []
      finalizedCounts = {}
      arrival = sessionRank = sinceSweep = 0
      maxTs = lastSweepTs = Number.NEGATIVE_INFINITY
    },
  }
}

function sumCounts(a: CallCounts, b: CallCounts): CallCounts {
  const out = { ...a }
  for (const k of Object.keys(b) as Array<keyof CallCounts>) out[k] += b[k]
  return out
}
