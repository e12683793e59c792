import { createFlowRegistry, createLiveCalls, errorText, type FlowRegistry, type LiveCalls } from '@agenttap/flow-fsm'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createAlertMonitor } from '@agenttap/cache-insights'
import type { CallUsage, ModelCall } from '@agenttap/ledger'
import { createSessionTimelines } from './session-timelines.js'
import type { TimelinePoint } from './timeline-svg.js'
import type { SseLike } from './conversation.js'
import { WebError } from './errors.js'
import { promptPreview } from './request-view.js'
import type { FlowSummary } from './types.js'

/** Where a record came from: a byte offset in one of the capture files. */
export interface RecordLocation {
  file: 'flows' | 'lines' | 'flow_ends'
  offset: number
}

/** The index's entry of one flow. Bodies are not kept unless `mem` (in-process records). */
export interface FlowEntry {
  summary: FlowSummary
  /** Byte offset of the `flow` record in sse_flows.jsonl. */
  flowOffset?: number
  /** Byte offsets of the flow's `sse` records in sse_lines.jsonl, in arrival order. */
  lineOffsets: number[]
  /** Byte offset of the `flow_end` record in sse_flow_ends.jsonl. */
  endOffset?: number
  /** Records kept in memory (records fed without a file location), within the memory budget. */
  mem?: { flow?: Record<string, unknown>; lines: SseLike[]; end?: Record<string, unknown>; bytes: number }
  /** The memory copy was dropped for the budget: the detail must be found in the files. */
  memEvicted: boolean
  /** Highest `seq` seen, to drop duplicates when files and a record stream overlap. */
  maxSeq: number
  /** Latest record time (ISO, compared as text; parsed only by tick) for idle detection. */
  lastTs: string
  /** The capture file holding this flow's records was rotated or truncated: offsets are gone. */
  offsetsLost?: boolean
  /** Its flow_end was fed: later records of it are kept for the detail, but end nothing again. */
  ended?: boolean
}

/** Options of {@link createFlowIndex}. */
export interface FlowIndexOptions {
  /** Flows kept; the oldest are evicted past it. @defaultValue 20000 */
  maxFlows?: number
  /** Budget of records kept in memory (in-process mode), in bytes. @defaultValue 128 MiB */
  memBudgetBytes?: number
  /** A flow without `flow_end` and without records for this long is shown as dead. @defaultValue 120000 */
  idleMs?: number
  /** Flows whose calls are tracked at once (one stream normalizer each). @defaultValue 1000 */
  maxLiveFlows?: number
  /**
   * A `flow_end` read before the flow's last lines or before its flow record (the three files are
   * read side by side) waits for them until the file was read to its end twice since
   * ({@link FlowIndex.linesCaughtUp}, {@link FlowIndex.flowsCaughtUp}; then they are not in the
   * file). Without that signal (the file not followed), at most this long. @defaultValue 2000
   */
  endHoldMs?: number
  now?: () => number
}

/** A `flow_end` waiting for its flow's record or last lines (see {@link FlowIndexOptions.endHoldMs}). */
interface HeldEnd {
  flow_id: string
  record: Record<string, unknown>
  /** Lines the flow_end counted (`events`). */
  expected: number
  since: number
  /** `linesCaughtUp` / `flowsCaughtUp` calls when it was held. */
  round: number
  flowsRound: number
}

/** A bounded in-memory index of flows: summaries and file offsets, never whole bodies. */
export interface FlowIndex {
  /** Feeds one canonical record; `loc` is its place in the capture files when read from them. */
  feed(record: unknown, loc?: RecordLocation): string | undefined
  get(flow_id: string): FlowEntry | undefined
  /** Summaries, oldest first. */
  list(): FlowSummary[]
  /** Flow ids of a session, in request order. */
  session(session_id: string): FlowEntry[]
  /** Summaries changed since the last call. */
  takeDirty(): FlowSummary[]
  /** Ids evicted since the last call. */
  takeRemoved(): string[]
  /**
   * A capture file was rotated or truncated: byte offsets into it are void. Summaries stay; the
   * detail then says the records are no longer on disk (or finds them again if re-read).
   */
  fileReset(file: RecordLocation['file']): void
  /**
   * The lines file was read to its end (its follower's `onCaughtUp`). A flow end held for lines
   * is released at the second call after it was held: that read began after the end was read,
   * so lines not fed by then are not in the file. Once this is called, held ends wait for it
   * instead of `endHoldMs` (a loaded machine may read the lines file later than any fixed delay).
   */
  linesCaughtUp(): void
  /**
   * The flows file was read to its end (its follower's `onCaughtUp`): as {@link linesCaughtUp}, for
   * a flow end held because its flow record was not read yet (the calls need the request).
   */
  flowsCaughtUp(): void
  /** Applies the clock: idle flows become dead, held flow ends (without a lines follower) are given up waiting for. */
  tick(): void
  /** A session's context and quota points (bounded), for the timeline plot. */
  timeline(session_id: string): TimelinePoint[]
  readonly size: number
  readonly evicted: number
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function header(h: unknown, name: string): string | undefined {
  if (typeof h !== 'object' || h === null) return undefined
  const v = (h as Record<string, unknown>)[name]
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined
}

/** Provider events that never change a list row: text and argument deltas. */
const DELTA_EVENT = /(?:^content_block_delta|\.delta)$/
/** Client frames longer than this are not parsed for a prompt (the inline limit is 1 MiB). */
const MAX_FRAME_PROMPT_SCAN = 1 << 20

/** Usage of a flow: the sum of its calls' (a WebSocket flow carries several). */
function sumUsage(calls: readonly ModelCall[]): CallUsage | undefined {
  let total: CallUsage | undefined
  for (const c of calls) {
    const u = c.usage
    if (!u) continue
    total ??= { input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 }
    total.input += u.input
    total.cache_read += u.cache_read
    total.cache_write_5m += u.cache_write_5m
    total.cache_write_1h += u.cache_write_1h
    total.output += u.output
    if (u.reasoning !== undefined) total.reasoning = (total.reasoning ?? 0) + u.reasoning
  }
  return total
}

/**
 * Creates the flow index. It is fed canonical records in any order across the three files (a
 * `flow_end` may arrive before the `sse` lines when history is read file by file), keeps one
 * summary per flow (time, client, session, outcome, TTFB, duration, prompt preview) plus the byte
 * offsets needed to load the detail later. The lifecycle is flow-fsm's registry; model, usage,
 * stop reason, errors and outcome come from the flow's model calls (flow-fsm's live calls, the
 * facts the monitor and analyze print). Memory stays bounded: `maxFlows` entries, a budget for
 * in-memory records, a cap on flows tracked live.
 */
export function createFlowIndex(opts: FlowIndexOptions = {}): FlowIndex {
  const maxFlows = opts.maxFlows ?? 20_000
  const memBudget = opts.memBudgetBytes ?? 128 * 1024 * 1024
  const idleMs = opts.idleMs ?? 120_000
  const endHoldMs = opts.endHoldMs ?? 2000
  const now = opts.now ?? Date.now
  if (!Number.isInteger(maxFlows) || maxFlows < 1) throw new WebError('INVALID_OPTION', `option maxFlows: expected an integer >= 1, received ${String(opts.maxFlows)}`)

  const flows = new Map<string, FlowEntry>()
  const sessions = new Map<string, Set<string>>()
  const memOrder = new Map<string, FlowEntry>()
  // Flow ends that came before the flow's record or its last lines, held until those are fed (or
  // given up on): a call assembled without its request would stay without calls, usage and tools.
  const heldEnds = new Map<string, HeldEnd>()
  // Reads of the lines / flows file to its end (linesCaughtUp, flowsCaughtUp); 0: no follower has said so yet.
  let linesRounds = 0
  let flowsRounds = 0
  /** Whether a held end may end its flow now: each of its two waits is over (fed, or given up on). */
  const ready = (h: HeldEnd, e: FlowEntry | undefined): boolean => {
    const t = now()
    const lines = (fed.get(h.flow_id) ?? 0) >= h.expected || (linesRounds === 0 ? t - h.since >= endHoldMs : linesRounds >= h.round + 2)
    const flow = e?.summary.has_request === true || (flowsRounds === 0 ? t - h.since >= endHoldMs : flowsRounds >= h.flowsRound + 2)
    return lines && flow
  }
  // Lines fed per flow to the calls (to release a held end).
  const fed = new Map<string, number>()
  let memBytes = 0
  let dirty = new Set<string>()
  let removed: string[] = []
  let evicted = 0

  // Live alerts and each session's context / quota points, from the calls as they end.
  const timelines = createSessionTimelines()
  const alerts = createAlertMonitor({
    onAlert: (a) => {
      const e = flows.get(a.flow_id)
      if (e) {
        ;(e.summary.alerts ??= []).push(a.message)
        dirty.add(a.flow_id)
      }
      const p = timelines.point(a.key)
      if (p) (p.alerts ??= []).push(a.message)
    },
  })
  const onCall = (c: ModelCall): void => {
    // A call assembled without its flow record (one that never came, or came hundreds of records
    // late; the ingest feeds history merged by time so a flow record precedes its lines) has no
    // request facts (no lane, no segments) and would only raise false alerts.
    if (c.request.segments === undefined) return
    timelines.add(c)
    alerts.feed(c)
  }
  const calls: LiveCalls = createLiveCalls({ maxFlows: opts.maxLiveFlows ?? 1000, onCall })
  const registry: FlowRegistry = createFlowRegistry({
    now,
    idleMs,
    // Finished flows are kept by the index, not the registry.
    retentionMs: 0,
    maxRetained: 0,
    onTransition: (t) => {
      const e = flows.get(t.flow_id)
      if (!e) return
      e.summary.state = t.to
      dirty.add(t.flow_id)
    },
  })

  function entryFor(flow_id: string, session_id: string, ts: string): FlowEntry {
    let e = flows.get(flow_id)
    if (e) {
      if (session_id && e.summary.session_id !== session_id && e.summary.session_id === '') {
        e.summary.session_id = session_id
        link(session_id, flow_id)
      }
      return e
    }
    e = {
      summary: { flow_id, session_id, ts, state: 'STREAMING', events: 0, calls: 0, tool_calls: 0, has_request: false },
      lineOffsets: [],
      memEvicted: false,
      maxSeq: -1,
      lastTs: ts,
    }
    flows.set(flow_id, e)
    if (session_id) link(session_id, flow_id)
    while (flows.size > maxFlows) evictOldest()
    return e
  }

  function link(session_id: string, flow_id: string): void {
    let s = sessions.get(session_id)
    if (!s) sessions.set(session_id, (s = new Set()))
    s.add(flow_id)
  }

  function evictOldest(): void {
    const first = flows.keys().next()
    if (first.done) return
    const id = first.value
    const e = flows.get(id) as FlowEntry
    flows.delete(id)
    sessions.get(e.summary.session_id)?.delete(id)
    if (sessions.get(e.summary.session_id)?.size === 0) sessions.delete(e.summary.session_id)
    dropMem(e)
    forgetLive(id)
    dirty.delete(id)
    removed.push(id)
    evicted++
  }

  function forgetLive(id: string): void {
    calls.forget(id)
    registry.remove(id)
    heldEnds.delete(id)
    fed.delete(id)
  }

  function dropMem(e: FlowEntry): void {
    if (!e.mem) return
    memBytes -= e.mem.bytes
    delete e.mem
    e.memEvicted = true
    memOrder.delete(e.summary.flow_id)
  }

  function keepMem(e: FlowEntry, bytes: number, put: (m: NonNullable<FlowEntry['mem']>) => void): void {
    if (e.memEvicted) return
    if (!e.mem) {
      e.mem = { lines: [], bytes: 0 }
      memOrder.set(e.summary.flow_id, e)
    }
    put(e.mem)
    e.mem.bytes += bytes
    memBytes += bytes
    if (memBytes > memBudget) {
      // Finished flows go first; a streaming flow only when nothing else is left.
      for (const [, m] of memOrder) {
        if (memBytes <= memBudget) break
        if (m.summary.state !== 'STREAMING' && m !== e) dropMem(m)
      }
      for (const [, m] of memOrder) {
        if (memBytes <= memBudget) break
        dropMem(m)
      }
    }
  }

  /** The list row's call facts, from the flow's model calls as known now. */
  function fromCalls(e: FlowEntry, ended: boolean): void {
    const s = e.summary
    const all = calls.calls(s.flow_id)
    if (all.length === 0) return
    const last = all[all.length - 1] as ModelCall
    s.calls = all.length
    if (last.model !== undefined) s.model = last.model
    const usage = sumUsage(all)
    if (usage) s.usage = usage
    if (last.stop_reason !== undefined) s.stop_reason = last.stop_reason
    const failed = all.find((c) => c.error !== undefined)
    if (failed?.error) s.error = errorText(failed.error)
    let toolCalls = 0
    const names: string[] = []
    for (const c of all) {
      toolCalls += c.tool_calls.length
      for (const t of c.tool_calls) if (names.length < 12 && !names.includes(t.name)) names.push(t.name)
    }
    s.tool_calls = toolCalls
    if (names.length > 0) s.tool_names = names
    if (ended) s.outcome = last.outcome
  }

  function releaseHeld(id: string, record: Record<string, unknown>): void {
    const e = flows.get(id)
    if (e) endFlow(e, record)
    else heldEnds.delete(id)
  }

  /** Feeds a flow_end to the calls and the registry, and fills the row from them. */
  function endFlow(e: FlowEntry, r: Record<string, unknown>): void {
    heldEnds.delete(e.summary.flow_id)
    e.ended = true
    calls.feed(r as unknown as CaptureRecord)
    fromCalls(e, true)
    // A capture without lines for the flow (an HTTP error body): the flow_end's outcome it is.
    if (e.summary.outcome === undefined) {
      const o = text(r['outcome'])
      if (o !== undefined) e.summary.outcome = o
    }
    registry.feed(r as unknown as CaptureRecord)
    if (registry.get(e.summary.flow_id) === undefined && e.summary.state === 'STREAMING') e.summary.state = 'DONE'
    forgetLive(e.summary.flow_id)
    dirty.add(e.summary.flow_id)
  }

  function addFlow(e: FlowEntry, r: Record<string, unknown>, ts: string, loc: RecordLocation | undefined): void {
    const s = e.summary
    if (s.has_request) {
      // A duplicate: from the record stream, or the same file read again after a truncation.
      if (loc?.file === 'flows' && e.flowOffset === undefined) e.flowOffset = loc.offset
      return
    }
    s.has_request = true
    s.ts = ts
    const seq = num(r['flow_seq'])
    if (seq !== undefined) s.flow_seq = seq
    for (const k of ['client', 'provider', 'method', 'url'] as const) {
      const v = text(r[k])
      if (v !== undefined) s[k] = v
    }
    const status = num(r['status'])
    if (status !== undefined && s.status === undefined) s.status = status
    const body = r['request_body']
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const model = text((body as Record<string, unknown>)['model'])
      if (model !== undefined && s.model === undefined) s.model = model
      const p = promptPreview(body)
      if (p !== undefined) s.prompt = p
    }
    const sub = text(r['subagent']) ?? header(r['request_headers'], 'x-openai-subagent')
    if (sub !== undefined) s.subagent = sub
    if (loc?.file === 'flows') e.flowOffset = loc.offset
    else if (loc === undefined) keepMem(e, JSON.stringify(body ?? null).length + 512, (m) => (m.flow = r))
    if (!e.ended) {
      calls.feed(r as unknown as CaptureRecord)
      const info = registry.feed(r as unknown as CaptureRecord)
      if (info && s.state !== info.state) s.state = info.state
      // Its end (and lines) were read first: the flow ends now that the calls have its request.
      const held = heldEnds.get(s.flow_id)
      if (held && ready(held, e)) endFlow(e, held.record)
    }
  }

  function addSse(e: FlowEntry, r: Record<string, unknown>, loc: RecordLocation | undefined): void {
    const s = e.summary
    const seq = num(r['seq'])
    const data = text(r['data'])
    if (data === undefined) return
    if (seq !== undefined) {
      if (seq <= e.maxSeq) {
        // Seen already: from the files and again from the record stream, or the same file
        // re-read after a truncation (then the new offset is the valid one).
        if (loc?.file === 'lines' && e.offsetsLost) e.lineOffsets.push(loc.offset)
        return
      }
      e.maxSeq = seq
    }
    s.events++
    const tms = num(r['t_ms'])
    if (tms !== undefined) {
      if (s.ttfb_ms === undefined && s.outcome === undefined) s.ttfb_ms = tms
      if (!e.ended && (s.duration_ms === undefined || tms > s.duration_ms)) s.duration_ms = tms
    }
    if (loc?.file === 'lines') e.lineOffsets.push(loc.offset)
    else if (loc === undefined) {
      const line: SseLike = { data }
      if (seq !== undefined) line.seq = seq
      if (tms !== undefined) line.t_ms = tms
      const ts = text(r['ts'])
      if (ts !== undefined) line.ts = ts
      const ev = text(r['event'])
      if (ev !== undefined) line.event = ev
      if (r['transport'] === 'ws' || r['transport'] === 'sse') line.transport = r['transport']
      keepMem(e, data.length + 64, (m) => m.lines.push(line))
    }
    if (e.ended) return // a late line of a finished flow: kept for the detail only
    calls.feed(r as unknown as CaptureRecord)
    const info = registry.feed(r as unknown as CaptureRecord)
    if (info && s.state !== info.state) s.state = info.state
    const n = (fed.get(s.flow_id) ?? 0) + 1
    fed.set(s.flow_id, n)
    const held = heldEnds.get(s.flow_id)
    if (held && ready(held, e)) return endFlow(e, held.record)
    // Text and argument deltas never change a list row's call facts.
    const evName = r['event']
    if (!(typeof evName === 'string' && DELTA_EVENT.test(evName))) fromCalls(e, false)
  }

  /** A frame the client sent on a WebSocket: kept in place (it asked for the next response), not counted as an event. */
  function addFrame(e: FlowEntry, r: Record<string, unknown>, loc: RecordLocation | undefined): void {
    const seq = num(r['seq'])
    if (seq !== undefined) {
      if (seq <= e.maxSeq) {
        if (loc?.file === 'lines' && e.offsetsLost) e.lineOffsets.push(loc.offset)
        return
      }
      e.maxSeq = seq
    }
    if (loc?.file === 'lines') e.lineOffsets.push(loc.offset)
    else if (loc === undefined) {
      const line: SseLike = { type: 'client_frame', data: text(r['data']) ?? '' }
      if (seq !== undefined) line.seq = seq
      const ts = text(r['ts'])
      if (ts !== undefined) line.ts = ts
      keepMem(e, line.data.length + 64, (m) => m.lines.push(line))
    }
    // A WebSocket flow whose first frame asked nothing (Codex's prewarm, `generate: false`)
    // has its prompt in a later frame.
    if (e.summary.prompt === undefined) framePrompt(e.summary, text(r['data']))
    if (!e.ended) calls.feed(r as unknown as CaptureRecord)
  }

  function framePrompt(s: FlowSummary, data: string | undefined): void {
    if (data === undefined || data.length > MAX_FRAME_PROMPT_SCAN || !data.startsWith('{')) return
    let body: unknown
    try {
      body = JSON.parse(data)
    } catch {
      return
    }
    if (typeof body !== 'object' || body === null || (body as Record<string, unknown>)['type'] !== 'response.create') return
    const b = body as Record<string, unknown>
    const p = promptPreview(typeof b['response'] === 'object' && b['response'] !== null ? b['response'] : b)
    if (p !== undefined) s.prompt = p
  }

  function addEnd(e: FlowEntry, r: Record<string, unknown>, loc: RecordLocation | undefined): void {
    const s = e.summary
    if (loc?.file === 'flow_ends') e.endOffset = loc.offset
    else if (loc === undefined) keepMem(e, 512, (m) => (m.end = r))
    const status = num(r['status'])
    if (status !== undefined) s.status = status
    const ttfb = r['ttfb_ms']
    if (ttfb === null) s.ttfb_ms = null
    else if (num(ttfb) !== undefined) s.ttfb_ms = num(ttfb) as number
    const d = num(r['duration_ms'])
    if (d !== undefined) s.duration_ms = d
    const b = num(r['bytes'])
    if (b !== undefined) s.bytes = b
    if (e.ended) return
    // The lines and flows files are read beside this one: the flow's last lines or its flow record
    // may not be in yet.
    const held: HeldEnd = { flow_id: s.flow_id, record: r, expected: num(r['events']) ?? 0, since: now(), round: linesRounds, flowsRound: flowsRounds }
    if (ready(held, e)) return endFlow(e, r)
    heldEnds.set(s.flow_id, held)
  }

  return {
    timeline(session_id) {
      return timelines.get(session_id)
    },
    feed(record, loc) {
      if (typeof record !== 'object' || record === null) return undefined
      const r = record as Record<string, unknown>
      const flow_id = text(r['flow_id'])
      const type = text(r['type'])
      if (!flow_id || !type) return undefined
      const session_id = text(r['session_id']) ?? ''
      const ts = text(r['ts']) ?? new Date(now()).toISOString()
      const e = entryFor(flow_id, session_id, ts)
      if (ts > e.lastTs) e.lastTs = ts
      if (type === 'flow') addFlow(e, r, ts, loc)
      else if (type === 'sse') addSse(e, r, loc)
      else if (type === 'flow_end') addEnd(e, r, loc)
      else if (type === 'client_frame') addFrame(e, r, loc)
      else return flow_id // unknown record types only mark activity
      dirty.add(flow_id)
      return flow_id
    },
    get: (id) => flows.get(id),
    list() {
      return [...flows.values()].map((e) => publicSummary(e.summary))
    },
    session(session_id) {
      const ids = sessions.get(session_id)
      if (!ids) return []
      const out: FlowEntry[] = []
      for (const id of ids) {
        const e = flows.get(id)
        if (e) out.push(e)
      }
      return out.sort((a, b) => a.summary.ts.localeCompare(b.summary.ts) || (a.summary.flow_seq ?? 0) - (b.summary.flow_seq ?? 0))
    },
    takeDirty() {
      const out: FlowSummary[] = []
      for (const id of dirty) {
        const e = flows.get(id)
        if (e) out.push(publicSummary(e.summary))
      }
      dirty = new Set()
      return out
    },
    takeRemoved() {
      const out = removed
      removed = []
      return out
    },
    fileReset(file) {
      for (const e of flows.values()) {
        if (file === 'lines') {
          if (e.lineOffsets.length === 0) continue
          e.lineOffsets = []
        } else if (file === 'flows') {
          if (e.flowOffset === undefined) continue
          delete e.flowOffset
        } else {
          if (e.endOffset === undefined) continue
          delete e.endOffset
        }
        e.offsetsLost = true
      }
    },
    linesCaughtUp() {
      linesRounds++
      // The ends whose lines are not in the file (lost lines, a truncated file): they end the flow anyway.
      for (const [id, h] of heldEnds) if (ready(h, flows.get(id))) releaseHeld(id, h.record)
    },
    flowsCaughtUp() {
      flowsRounds++
      for (const [id, h] of heldEnds) if (ready(h, flows.get(id))) releaseHeld(id, h.record)
    },
    tick() {
      const t = now()
      // Without a lines follower, an end whose lines never all came is given up on by the clock.
      for (const [id, h] of heldEnds) if (ready(h, flows.get(id))) releaseHeld(id, h.record)
      registry.tick()
      // Flows read from history without an end and silent for idleMs (by record time) are dead now.
      for (const info of registry.streaming()) {
        const e = flows.get(info.flow_id)
        const last = e ? Date.parse(e.lastTs) : Number.NaN
        if (!Number.isNaN(last) && t - last > idleMs) registry.kill(info.flow_id, 'idle')
      }
    },
    get size() {
      return flows.size
    },
    get evicted() {
      return evicted
    },
  }
}

/** A copy of the summary as sent to the page (later updates must not mutate what was queued). */
function publicSummary(s: FlowSummary): FlowSummary {
  const out: FlowSummary = { ...s }
  if (s.usage) out.usage = { ...s.usage }
  if (s.tool_names) out.tool_names = [...s.tool_names]
  return out
}
