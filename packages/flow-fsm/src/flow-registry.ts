import type { AgentEvent } from './normalizer-contract.js'
import { FlowFsmError, checkNumberOption, excerpt } from './errors.js'
import type {
  CanonicalRecord,
  DeadReason,
  FlowEndRecordLike,
  FlowInfo,
  FlowRecordLike,
  FlowState,
  FlowTransition,
  SseRecordLike,
} from './types.js'

/** Flow lifecycle states as constants, for readable comparisons in apps. */
export const FLOW_STATES = { STREAMING: 'STREAMING', DONE: 'DONE', DEAD: 'DEAD' } as const

/** Options of {@link createFlowRegistry}. */
export interface FlowRegistryOptions {
  /**
   * A STREAMING flow with no input for this long goes DEAD (`deadReason: 'idle'`).
   * Long enough for silent reasoning phases; Anthropic pings keep live streams busy anyway.
   * @defaultValue 120000
   */
  idleMs?: number
  /** DONE/DEAD flows are kept this long after finishing, then evicted. @defaultValue 60000 */
  retentionMs?: number
  /** At most this many DONE/DEAD flows are kept; the oldest finished go first. @defaultValue 1000 */
  maxRetained?: number
  /** Clock in ms; inject a fake one in tests. @defaultValue Date.now */
  now?: () => number
  /** Called on every state change (also returned from {@link FlowRegistry.tick}). */
  onTransition?: (t: FlowTransition) => void
  /** Called for input that does not fit the lifecycle (data after DONE, records without flow_id). */
  onError?: (e: FlowFsmError) => void
}

/** Running totals of a registry, for status lines. */
export interface FlowRegistryStats {
  created: number
  done: number
  /** Times a flow went DEAD (a resumed flow that dies again counts twice). */
  dead: number
  /** Idle-DEAD flows that came back to STREAMING because data arrived. */
  resumed: number
  evicted: number
  /** Flows currently STREAMING. */
  streaming: number
  /** DONE/DEAD flows currently retained. */
  retained: number
}

/** A registry of flow state machines keyed by flow id. See {@link createFlowRegistry}. */
export interface FlowRegistry {
  /** Feeds a canonical record (`flow`, `sse`, `flow_end`; other types only touch activity). */
  feed(record: CanonicalRecord): FlowInfo | undefined
  /** Feeds a unified event from the stream normalizer. */
  feedEvent(event: AgentEvent): FlowInfo | undefined
  /**
   * Applies the clock: STREAMING flows idle for `idleMs` go DEAD, finished flows past
   * `retentionMs` are evicted. Call it from a timer (e.g. every 250 ms). Returns the transitions.
   */
  tick(): FlowTransition[]
  /** Marks a STREAMING flow DEAD (`incomplete`), e.g. when the input ended. No-op otherwise. */
  kill(flow_id: string, reason?: DeadReason): FlowTransition | undefined
  /** The flow, if it is still held. */
  get(flow_id: string): FlowInfo | undefined
  /** All held flows, STREAMING first (least recently active first), then finished ones. */
  flows(): FlowInfo[]
  /** STREAMING flows, least recently active first. */
  streaming(): FlowInfo[]
  /** Drops a flow now. */
  remove(flow_id: string): boolean
  /** Number of flows held (streaming + retained). */
  readonly size: number
  readonly stats: FlowRegistryStats
  /** Forgets everything. */
  reset(): void
}

function parseTs(ts: unknown): number | undefined {
  if (typeof ts !== 'string') return undefined
  const ms = Date.parse(ts)
  return Number.isNaN(ms) ? undefined : ms
}

function errorText(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined
  if (typeof err === 'string') return err
  if (typeof err === 'object') {
    const o = err as { message?: unknown; type?: unknown }
    if (typeof o.message === 'string') return typeof o.type === 'string' ? `${o.type}: ${o.message}` : o.message
  }
  return JSON.stringify(err)
}

/**
 * Creates a registry of per-flow lifecycle state machines: `STREAMING → DONE` on the terminal
 * event (`message_end`) or a completed `flow_end`, `STREAMING → DEAD` when nothing arrives for
 * `idleMs`, the stream ends without a terminal event, or the flow was aborted. A flow that went
 * DEAD only because it was idle comes back to STREAMING if data arrives after all (reason
 * `resumed`). DONE/DEAD flows are retained for `retentionMs` (at most `maxRetained`), then
 * evicted, so a monitor running for days holds a bounded number of flows. Pure: no timers, no
 * I/O; drive the clock with {@link FlowRegistry.tick}.
 *
 * @example
 * ```ts
 * const reg = createFlowRegistry({ idleMs: 60_000, onTransition: (t) => console.error(t.flow_id, t.to) })
 * reg.feed(flowRecord)           // STREAMING
 * normalizer.feedRecord(sseRecord)    // its onEvent → reg.feedEvent(e)
 * reg.feed(flowEndRecord)        // DONE (or DEAD)
 * setInterval(() => reg.tick(), 250)
 * ```
 */
export function createFlowRegistry(opts: FlowRegistryOptions = {}): FlowRegistry {
  checkNumberOption('idleMs', opts.idleMs, 1)
  checkNumberOption('retentionMs', opts.retentionMs, 0)
  checkNumberOption('maxRetained', opts.maxRetained, 0)
  const idleMs = opts.idleMs ?? 120_000
  const retentionMs = opts.retentionMs ?? 60_000
  const maxRetained = opts.maxRetained ?? 1000
  const now = opts.now ?? Date.now
  const onTransition = opts.onTransition
  const onError = opts.onError

  // Insertion order = least recently active first, so idle checks stop at the first live flow.
  let live = new Map<string, FlowInfo>()
  let finished = new Map<string, FlowInfo>()
  // Finish order for eviction. A plain array queue: popping a Map's head after many deletes
  // re-scans the deleted slots on every call (quadratic); entries for flows that resumed or
  // finished again are stale and skipped.
  let finishQueue: Array<{ info: FlowInfo; at: number }> = []
  let finishHead = 0
  let created = 0
  let doneCount = 0
  let deadCount = 0
  let evicted = 0
  let resumed = 0

  function newFlow(flow_id: string, session_id: string | undefined): FlowInfo {
    created++
    const info: FlowInfo = {
      flow_id,
      session_id: session_id ?? '',
      state: 'STREAMING',
      counts: {
        records: 0,
        events: 0,
        textDeltas: 0,
        thinkingDeltas: 0,
        toolCalls: 0,
        toolArgsDeltas: 0,
        errors: 0,
        unknown: 0,
        textChars: 0,
        thinkingChars: 0,
        messages: 0,
      },
      usage: {},
      lastActivityAt: now(),
    }
    live.set(flow_id, info)
    newest = info
    return info
  }

  // The flow touched last is the newest in `live` already: a stream of records of one flow does
  // not re-insert it every time.
  let newest: FlowInfo | undefined
  function touch(info: FlowInfo): void {
    const t = now()
    // Same clock value: the flow's place in the idle order cannot change, skip the re-insert.
    if (t === info.lastActivityAt && live.has(info.flow_id)) return
    info.lastActivityAt = t
    if (info.state === 'STREAMING' && (info !== newest || !live.has(info.flow_id))) {
      live.delete(info.flow_id)
      live.set(info.flow_id, info)
      newest = info
    }
  }

  /** Evicts finished flows from the oldest: while over `maxRetained`, or finished before `olderThan`. */
  function evict(olderThan: number): void {
    while (finishHead < finishQueue.length) {
      const e = finishQueue[finishHead] as { info: FlowInfo; at: number }
      const current = finished.get(e.info.flow_id) === e.info && e.info.finishedAt === e.at
      if (current && finished.size <= maxRetained && e.at > olderThan) break
      finishHead++
      if (current) {
        finished.delete(e.info.flow_id)
        evicted++
      }
    }
    if (finishHead > 1024 && finishHead * 2 > finishQueue.length) {
      finishQueue = finishQueue.slice(finishHead)
      finishHead = 0
    }
  }

  function transition(info: FlowInfo, to: FlowState, reason: FlowTransition['reason']): FlowTransition {
    const from = info.state
    info.state = to
    if (to === 'STREAMING') {
      info.deadReason = undefined
      info.finishedAt = undefined
      finished.delete(info.flow_id)
      live.set(info.flow_id, info)
      newest = info
      resumed++
    } else {
      live.delete(info.flow_id)
      info.finishedAt = now()
      if (to === 'DEAD') {
        info.deadReason = reason === 'idle' || reason === 'aborted' ? reason : 'incomplete'
        deadCount++
      } else doneCount++
      info.currentBlock = undefined
      finished.set(info.flow_id, info)
      finishQueue.push({ info, at: info.finishedAt })
      if (finished.size > maxRetained) evict(Number.NEGATIVE_INFINITY)
    }
    const t: FlowTransition = { flow_id: info.flow_id, from, to, reason, flow: info }
    onTransition?.(t)
    return t
  }

  function lookup(flow_id: string): FlowInfo | undefined {
    return live.get(flow_id) ?? finished.get(flow_id)
  }

  /**
   * Input for a finished flow: idle-dead flows resume, anything else is reported. What came is
   * said as `sse seq <seq>` (no event type) or `event <type>`, built only for the report: this
   * runs for every record and event.
   */
  function acceptData(info: FlowInfo, eventType: string | undefined, seq: number | undefined): boolean {
    if (info.state === 'STREAMING') return true
    if (info.state === 'DEAD' && info.deadReason === 'idle') {
      transition(info, 'STREAMING', 'resumed')
      return true
    }
    onError?.(
      new FlowFsmError(
        'ILLEGAL_TRANSITION',
        `flow ${info.flow_id}: ${eventType === undefined ? `sse seq ${seq ?? '?'}` : `event ${eventType}`} arrived after the flow finished (expected STREAMING, was ${info.state}); it is counted but cannot reopen the flow`,
        { flow_id: info.flow_id, seq },
      ),
    )
    return false
  }

  function addFlowRecord(r: FlowRecordLike): FlowInfo {
    let info = lookup(r.flow_id)
    if (!info) info = newFlow(r.flow_id, r.session_id)
    else if (!info.session_id && r.session_id) info.session_id = r.session_id
    if (typeof r.client === 'string') info.client = r.client
    if (typeof r.provider === 'string' && (info.provider === undefined || r.provider !== 'unknown')) {
      info.provider = r.provider
    }
    if (typeof r.url === 'string') info.url = r.url
    if (typeof r.status === 'number') info.status = r.status
    const started = parseTs(r.ts)
    if (started !== undefined) info.startedAt = started
    touch(info)
    return info
  }

  function addSse(r: SseRecordLike): FlowInfo {
    let info = lookup(r.flow_id)
    if (!info) info = newFlow(r.flow_id, r.session_id)
    if (r.transport === 'ws') info.transport = 'ws'
    else if (info.transport === undefined) info.transport = 'sse'
    acceptData(info, undefined, r.seq)
    info.counts.records++
    if (typeof r.t_ms === 'number') {
      if (info.ttfb_ms === undefined) info.ttfb_ms = r.t_ms
      info.duration_ms = Math.max(info.duration_ms ?? 0, r.t_ms)
    } else if (info.ttfb_ms === undefined && info.startedAt !== undefined) {
      const ts = parseTs(r.ts)
      if (ts !== undefined) info.ttfb_ms = Math.max(0, ts - info.startedAt)
    }
    touch(info)
    return info
  }

  function addFlowEnd(r: FlowEndRecordLike): FlowInfo {
    let info = lookup(r.flow_id)
    if (!info) info = newFlow(r.flow_id, r.session_id)
    if (typeof r.outcome === 'string') info.outcome = r.outcome
    if (typeof r.status === 'number') info.status = r.status
    if (typeof r.ttfb_ms === 'number') info.ttfb_ms = r.ttfb_ms
    if (typeof r.duration_ms === 'number') info.duration_ms = r.duration_ms
    const err = errorText(r.error)
    if (err !== undefined) info.error = err
    touch(info)
    if (info.state === 'STREAMING' || (info.state === 'DEAD' && info.deadReason === 'idle')) {
      const sawStream = info.counts.events > 0
      if (r.outcome === 'aborted') toDead(info, 'aborted')
      else if (sawStream && (info.stop_reason === undefined || info.messageOpen === true)) {
        // The normalizer saw the stream but never its terminal event: truncated.
        toDead(info, 'incomplete')
      } else transition(info, 'DONE', 'flow_end')
    }
    return info
  }

  function toDead(info: FlowInfo, reason: DeadReason): void {
    if (info.state === 'DEAD') {
      info.deadReason = reason
      return
    }
    transition(info, 'DEAD', reason)
  }

  function feedEvent(e: AgentEvent): FlowInfo | undefined {
    if (!e || typeof e.flow_id !== 'string') {
      onError?.(new FlowFsmError('INVALID_RECORD', `event without a string flow_id: expected an AgentEvent from stream-normalizer, received ${excerpt(e)}`))
      return undefined
    }
    let info = lookup(e.flow_id)
    if (!info) info = newFlow(e.flow_id, undefined)
    if (info.provider === undefined || info.provider === 'unknown' || info.provider === 'openai') {
      if (e.provider !== 'unknown') info.provider = e.provider
    }
    const c = info.counts
    c.events++
    if (e.type === 'message_end') {
      touch(info)
      if (e.stop_reason !== undefined) info.stop_reason = e.stop_reason
      if (info.state !== 'STREAMING' && !(info.state === 'DEAD' && info.deadReason === 'idle')) return info
      if (e.incomplete) toDead(info, 'incomplete')
      else if (info.transport === 'ws') {
        // A WebSocket flow carries one response after another: it ends with its flow_end.
        info.stop_reason ??= 'end'
        c.messages++
        info.messageOpen = false
        info.currentBlock = undefined
        if (info.state === 'DEAD') transition(info, 'STREAMING', 'resumed')
      } else {
        c.messages++
        info.messageOpen = false
        info.stop_reason ??= 'end'
        transition(info, 'DONE', 'terminal_event')
      }
      return info
    }
    if (e.type === 'usage') {
      // Usage may trail the terminal event (Responses puts it in response.completed): never an error.
      const usage = e.usage && typeof e.usage === 'object' ? e.usage : {}
      if (e.cumulative) info.usage = { ...info.usage, ...usage }
      else {
        const u = info.usage as Record<string, number | undefined>
        for (const [k, v] of Object.entries(usage)) if (typeof v === 'number') u[k] = (u[k] ?? 0) + v
      }
      touch(info)
      return info
    }
    if (e.type === 'rate_limits') {
      // Account state sent before a response (Codex's codex.rate_limits): no message of its own.
      touch(info)
      return info
    }
    if (!acceptData(info, e.type, e.seq)) {
      touch(info)
      return info
    }
    if (e.type !== 'unknown' && e.type !== 'error') info.messageOpen = true
    switch (e.type) {
      case 'message_start':
        if (e.model !== undefined) info.model = e.model
        if (e.message_id !== undefined) info.message_id = e.message_id
        break
      case 'text_delta':
        c.textDeltas++
        c.textChars += typeof e.text === 'string' ? e.text.length : 0
        setBlock(info, 'text', e.index)
        break
      case 'thinking_delta':
        c.thinkingDeltas++
        c.thinkingChars += typeof e.text === 'string' ? e.text.length : 0
        setBlock(info, 'thinking', e.index)
        break
      case 'tool_call_start':
        c.toolCalls++
        info.currentBlock = { kind: 'tool', name: e.name }
        if (e.index !== undefined) info.currentBlock.index = e.index
        if (e.call_id !== undefined) info.currentBlock.call_id = e.call_id
        break
      case 'tool_args_delta':
        c.toolArgsDeltas++
        if (info.currentBlock?.kind !== 'tool') setBlock(info, 'tool', e.index)
        break
      case 'tool_call_end':
        if (info.currentBlock?.kind === 'tool') info.currentBlock = undefined
        break
      case 'error':
        c.errors++
        info.error = e.error_type ? `${e.error_type}: ${e.message}` : e.message
        break
      case 'unknown':
        c.unknown++
        break
    }
    touch(info)
    return info
  }

  function setBlock(info: FlowInfo, kind: 'text' | 'thinking' | 'tool', index: number | undefined): void {
    const b = info.currentBlock
    if (b && b.kind === kind && b.index === index) return
    info.currentBlock = index === undefined ? { kind } : { kind, index }
  }

  return {
    feed(record) {
      if (!record || typeof record !== 'object' || typeof record.flow_id !== 'string' || record.flow_id === '') {
        onError?.(
          new FlowFsmError('INVALID_RECORD', `record without a flow_id: expected a canonical record ({type, flow_id, …}), received ${excerpt(record)}; it was skipped`),
        )
        return undefined
      }
      switch (record.type) {
        case 'flow':
          return addFlowRecord(record as FlowRecordLike)
        case 'sse':
          return addSse(record as SseRecordLike)
        case 'flow_end':
          return addFlowEnd(record as FlowEndRecordLike)
        default: {
          // Forward compatible: a newer record type still proves the flow is alive.
          const info = lookup(record.flow_id)
          if (info) touch(info)
          return info
        }
      }
    },
    feedEvent,
    tick() {
      const t = now()
      const out: FlowTransition[] = []
      for (const info of live.values()) {
        if (t - info.lastActivityAt < idleMs) break
        out.push(transition(info, 'DEAD', 'idle'))
      }
      evict(t - retentionMs)
      return out
    },
    kill(flow_id, reason = 'incomplete') {
      const info = live.get(flow_id)
      if (!info) return undefined
      return transition(info, 'DEAD', reason)
    },
    get: lookup,
    flows() {
      return [...live.values(), ...finished.values()]
    },
    streaming() {
      return [...live.values()]
    },
    remove(flow_id) {
      const info = lookup(flow_id)
      if (!info) return false
      live.delete(flow_id)
      finished.delete(flow_id)
      return true
    },
    get size() {
      return live.size + finished.size
    },
    get stats() {
      return { created, done: doneCount, dead: deadCount, resumed, evicted, streaming: live.size, retained: finished.size }
    },
    reset() {
      newest = undefined
      live = new Map()
      finished = new Map()
      finishQueue = []
      finishHead = 0
      created = doneCount = deadCount = evicted = resumed = 0
    },
  }
}
