import { createStreamNormalizer, type AgentEvent, type StreamNormalizer } from '@agenttap/stream-normalizer'
import { mergeUsage } from './conversation.js'
import { WebError } from './errors.js'
import { promptPreview } from './request-view.js'
import type { SseLike } from './conversation.js'
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
  /** Records kept in memory (records fed without a file location), within the memory budget. */
  mem?: { flow?: Record<string, unknown>; lines: SseLike[]; bytes: number }
  /** The memory copy was dropped for the budget: the detail must be found in the files. */
  memEvicted: boolean
  /** Highest `seq` seen, to drop duplicates when files and a record stream overlap. */
  maxSeq: number
  /** Latest record time (ISO, compared as text; parsed only by tick) for idle detection. */
  lastTs: string
  /** The capture file holding this flow's records was rotated or truncated: offsets are gone. */
  offsetsLost?: boolean
  /** `flow_end.events`: once that many events are indexed, the live normalizer is retired. */
  expectedEvents?: number
}

/** Options of {@link createFlowIndex}. */
export interface FlowIndexOptions {
  /** Flows kept; the oldest are evicted past it. @defaultValue 20000 */
  maxFlows?: number
  /** Budget of records kept in memory (in-process mode), in bytes. @defaultValue 128 MiB */
  memBudgetBytes?: number
  /** A flow without `flow_end` and without records for this long is shown as dead. @defaultValue 120000 */
  idleMs?: number
  /** Flows whose usage is tracked live at once (one stream normalizer each). @defaultValue 1000 */
  maxLiveNormalizers?: number
  now?: () => number
}

/** A bounded in-memory index of flows: summaries and file offsets, never whole bodies. */
export interface FlowIndex {
  /** Adds one canonical record; `loc` is its place in the capture files when read from them. */
  add(record: unknown, loc?: RecordLocation): string | undefined
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
  /** Applies the idle clock: streaming flows silent for `idleMs` become dead. */
  tick(): void
  readonly size: number
  readonly evicted: number
}

const DELTA_EVENT = /(?:^content_block_delta|\.delta)$/
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function errorText(err: unknown): string | undefined {
  if (err === undefined || err === null || err === '') return undefined
  if (typeof err === 'string') return err
  if (typeof err === 'object') {
    const o = err as { type?: unknown; message?: unknown }
    if (typeof o.message === 'string') return typeof o.type === 'string' ? `${o.type}: ${o.message}` : o.message
  }
  return JSON.stringify(err)
}

function header(h: unknown, name: string): string | undefined {
  if (typeof h !== 'object' || h === null) return undefined
  const v = (h as Record<string, unknown>)[name]
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined
}

/**
 * Creates the flow index. It is fed canonical records in any order across the three files (a
 * `flow_end` may arrive before the `sse` lines when history is read file by file), keeps one
 * summary per flow (time, client, session, model, outcome, TTFB, duration, tokens with cache,
 * prompt preview) plus the byte offsets needed to load the detail later, and tracks usage, model
 * and errors live through stream-normalizer. Memory stays bounded: `maxFlows` entries, a budget
 * for in-memory records, a cap on live normalizers.
 */
export function createFlowIndex(opts: FlowIndexOptions = {}): FlowIndex {
  const maxFlows = opts.maxFlows ?? 20_000
  const memBudget = opts.memBudgetBytes ?? 128 * 1024 * 1024
  const idleMs = opts.idleMs ?? 120_000
  const maxNormalizers = opts.maxLiveNormalizers ?? 1000
  const now = opts.now ?? Date.now
  if (!Number.isInteger(maxFlows) || maxFlows < 1) throw new WebError('INVALID_OPTION', `option maxFlows: expected an integer >= 1, received ${String(opts.maxFlows)}`)

  const flows = new Map<string, FlowEntry>()
  const sessions = new Map<string, Set<string>>()
  const normalizers = new Map<string, StreamNormalizer>()
  const memOrder = new Map<string, FlowEntry>()
  const streaming = new Set<string>()
  let memBytes = 0
  let dirty = new Set<string>()
  let removed: string[] = []
  let evicted = 0

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
      summary: { flow_id, session_id, ts, state: 'streaming', events: 0, usage: {}, tool_calls: 0, has_request: false },
      lineOffsets: [],
      memEvicted: false,
      maxSeq: -1,
      lastTs: ts,
    }
    flows.set(flow_id, e)
    streaming.add(flow_id)
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
    normalizers.delete(id)
    streaming.delete(id)
    dirty.delete(id)
    removed.push(id)
    evicted++
  }

  function dropMem(e: FlowEntry): void {
    if (!e.mem) return
    memBytes -= e.mem.bytes
    e.mem = undefined as never
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
        if (m.summary.state !== 'streaming' && m !== e) dropMem(m)
      }
      for (const [, m] of memOrder) {
        if (memBytes <= memBudget) break
        dropMem(m)
      }
    }
  }

  function onEvent(e: FlowEntry, ev: AgentEvent): void {
    const s = e.summary
    switch (ev.type) {
      case 'message_start':
        if (ev.model) s.model = ev.model
        break
      case 'usage':
        mergeUsage(s.usage, ev.usage, ev.cumulative)
        break
      case 'tool_call_start':
        s.tool_calls++
        if (!s.tool_names) s.tool_names = []
        if (s.tool_names.length < 12 && !s.tool_names.includes(ev.name)) s.tool_names.push(ev.name)
        break
      case 'message_end':
        if (ev.stop_reason) s.stop_reason = ev.stop_reason
        break
      case 'error':
        s.error ??= `${ev.error_type ?? ev.code ?? 'error'}: ${ev.message}`
        break
      default:
        break
    }
  }

  function normalizerFor(e: FlowEntry): StreamNormalizer {
    const id = e.summary.flow_id
    let n = normalizers.get(id)
    if (n) {
      normalizers.delete(id) // re-insert: LRU order
      normalizers.set(id, n)
      return n
    }
    const s = e.summary
    n = createStreamNormalizer({
      flow_id: id,
      flow: {
        ...(s.url !== undefined ? { url: s.url } : {}),
        ...(s.provider !== undefined ? { provider: s.provider } : {}),
        ...(s.client !== undefined ? { client: s.client } : {}),
      },
      onEvent: (ev) => onEvent(e, ev),
      onError: () => undefined, // the detail view reports stream problems with their location
    })
    normalizers.set(id, n)
    if (normalizers.size > maxNormalizers) {
      const first = normalizers.keys().next()
      if (!first.done) normalizers.delete(first.value)
    }
    return n
  }

  function maybeRetireNormalizer(e: FlowEntry): void {
    const s = e.summary
    if (s.state !== 'streaming' && (e.expectedEvents === undefined || s.events >= e.expectedEvents)) normalizers.delete(s.flow_id)
  }

  return {
    add(record, loc) {
      if (typeof record !== 'object' || record === null) return undefined
      const r = record as Record<string, unknown>
      const flow_id = text(r['flow_id'])
      const type = text(r['type'])
      if (!flow_id || !type) return undefined
      const session_id = text(r['session_id']) ?? ''
      const ts = text(r['ts']) ?? new Date(now()).toISOString()
      const e = entryFor(flow_id, session_id, ts)
      const s = e.summary
      if (ts > e.lastTs) e.lastTs = ts
      if (type === 'flow') {
        if (s.has_request) {
          // A duplicate: from the record stream, or the same file read again after a truncation.
          if (loc?.file === 'flows' && e.flowOffset === undefined) e.flowOffset = loc.offset
          return flow_id
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
        // Usage adapters need the provider: a normalizer made before the flow record is rebuilt lazily.
      } else if (type === 'sse') {
        const seq = num(r['seq'])
        const data = text(r['data'])
        if (data === undefined) return flow_id
        if (seq !== undefined) {
          if (seq <= e.maxSeq) {
            // Seen already: from the files and again from the record stream, or the same file
            // re-read after a truncation (then the new offset is the valid one).
            if (loc?.file === 'lines' && e.offsetsLost) e.lineOffsets.push(loc.offset)
            return flow_id
          }
          e.maxSeq = seq
        }
        s.events++
        if (s.state === 'dead') {
          // Data after an idle spell: the flow was alive after all.
          s.state = 'streaming'
          streaming.add(flow_id)
        }
        const tms = num(r['t_ms'])
        if (tms !== undefined) {
          if (s.ttfb_ms === undefined && s.outcome === undefined) s.ttfb_ms = tms
          if (s.state === 'streaming' && (s.duration_ms === undefined || tms > s.duration_ms)) s.duration_ms = tms
        }
        if (loc?.file === 'lines') e.lineOffsets.push(loc.offset)
        else if (loc === undefined) {
          const line: SseLike = { data }
          if (seq !== undefined) line.seq = seq
          if (tms !== undefined) line.t_ms = tms
          const ev = text(r['event'])
          if (ev !== undefined) line.event = ev
          if (r['transport'] === 'ws' || r['transport'] === 'sse') line.transport = r['transport']
          keepMem(e, data.length + 64, (m) => m.lines.push(line))
        }
        // Text / argument deltas never change a list row (tool calls are counted at their start,
        // usage and stop reason come with lifecycle events); skipping them halves indexing time.
        // The detail view runs the normalizer over every event.
        const evName = r['event']
        if (typeof evName === 'string' && DELTA_EVENT.test(evName)) {
          if (s.state !== 'streaming') maybeRetireNormalizer(e)
          dirty.add(flow_id)
          return flow_id
        }
        const n = normalizerFor(e)
        n.feedRecord({
          data,
          ...(seq !== undefined ? { seq } : {}),
          ...(typeof r['event'] === 'string' ? { event: r['event'] } : {}),
          ...(r['transport'] === 'ws' ? { transport: 'ws' as const } : {}),
        })
        if (s.state !== 'streaming') maybeRetireNormalizer(e)
      } else if (type === 'flow_end') {
        s.state = 'done'
        streaming.delete(flow_id)
        const outcome = text(r['outcome'])
        if (outcome !== undefined) s.outcome = outcome
        const status = num(r['status'])
        if (status !== undefined) s.status = status
        const ttfb = r['ttfb_ms']
        if (ttfb === null) s.ttfb_ms = null
        else if (num(ttfb) !== undefined) s.ttfb_ms = num(ttfb) as number
        const d = num(r['duration_ms'])
        if (d !== undefined) s.duration_ms = d
        const b = num(r['bytes'])
        if (b !== undefined) s.bytes = b
        const expected = num(r['events'])
        if (expected !== undefined) e.expectedEvents = expected
        const err = errorText(r['error'])
        if (err !== undefined) s.error = err
        maybeRetireNormalizer(e)
      } else {
        return flow_id // unknown record types only mark activity
      }
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
      if (file === 'flow_ends') return // nothing is loaded back from it
      for (const e of flows.values()) {
        if (file === 'lines') {
          if (e.lineOffsets.length === 0) continue
          e.lineOffsets = []
        } else {
          if (e.flowOffset === undefined) continue
          delete e.flowOffset
        }
        e.offsetsLost = true
      }
    },
    tick() {
      const t = now()
      for (const id of streaming) {
        const e = flows.get(id)
        if (!e) {
          streaming.delete(id)
          continue
        }
        const last = Date.parse(e.lastTs)
        if (t - (Number.isNaN(last) ? t : last) > idleMs) {
          e.summary.state = 'dead'
          streaming.delete(id)
          normalizers.delete(id)
          dirty.add(id)
        }
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
  const out: FlowSummary = { ...s, usage: { ...s.usage } }
  if (s.tool_names) out.tool_names = [...s.tool_names]
  return out
}
