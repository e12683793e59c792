import {
  createEventRenderer,
  createFlowRegistry,
  createScreenController,
  createToolCallRenderer,
  requestToolResults,
  sanitizeText,
  toolResultLine,
  type CanonicalRecord,
  type EventRenderer,
  type EventRendererOptions,
  type FlowInfo,
  type RenderOp,
} from '@agenttap/flow-fsm'
import { createStreamNormalizer, detectProvider, type AgentEvent, type StreamNormalizer, type StreamRecord } from '@agenttap/stream-normalizer'

/** A unified event as `--json` prints it: the AgentEvent plus the flow's session and client. */
export type MonitorJsonEvent = AgentEvent & { session_id: string; client?: string }

/** Options of {@link createRenderPipeline}. */
export interface RenderPipelineOptions {
  /** Receives the ops to put on the screen, in order. */
  onOps(ops: RenderOp[]): void
  /** `--json`: receives unified events instead of rendering them. */
  onJson?(e: MonitorJsonEvent): void
  /** Clock in ms (session guard, idle detection). @defaultValue Date.now */
  now?: () => number
  /** @defaultValue 2000 */
  sessionGuardMs?: number
  /** Detection window of shell commands in tool arguments (min 8). @defaultValue 8 */
  argsSubDeltas?: number
  /** Show only tool calls (name + arguments). */
  functionOnly?: boolean
  /** Show only flows whose session id starts with one of these. */
  sessions?: readonly string[]
  /** Show only flows of these clients (`claude-code`, `codex`, `unknown`). */
  clients?: readonly string[]
  /**
   * After the stream's terminal event, wait this long for the flow's `flow_end` record (which
   * carries outcome and duration) before printing the end line without it. @defaultValue 1000
   */
  flowEndGraceMs?: number
  /** A STREAMING flow silent this long is shown as dead. @defaultValue 120000 */
  idleMs?: number
  /**
   * Raw tool-argument previews (erased by a backtrack once the call is understood). Off for
   * pipes: nothing there can erase a row. @defaultValue true
   */
  preview?: boolean
  /** Diagnostics (malformed stream data, lifecycle defects), for `--verbose` logging. */
  onDiagnostic?(e: Error): void
  /**
   * Longest raw tool-argument preview (characters), asked when a call starts; the app derives it
   * from the terminal width so the preview row never wraps. @defaultValue flow-fsm's 72
   */
  previewChars?: () => number
}

/** Counters of a {@link RenderPipeline}. */
export interface RenderPipelineStats {
  records: number
  /** Unified events produced by the normalizers. */
  events: number
  /** Flows seen (shown or filtered out). */
  flows: number
  /** Flows skipped by `sessions` / `clients`. */
  filteredFlows: number
  /** Flows whose end line was shown. */
  ended: number
  /** Malformed-stream reports from the normalizers. */
  streamErrors: number
  /** Flows currently held (bounded: ended flows are dropped). */
  liveFlows: number
}

/** Records in, render ops out. See {@link createRenderPipeline}. */
export interface RenderPipeline {
  /** Feeds one canonical record (`flow`, `sse`, `flow_end`; other types are ignored). */
  record(r: CanonicalRecord): void
  /** Applies the clock: idle flows, overdue end lines, the session guard. Call from a timer. */
  tick(): void
  /** End of input: open streams end (as incomplete), every end line and buffered card is shown. */
  end(): void
  /**
   * The viewer stops watching (Ctrl-C, stop()): buffered output is shown, but streams still open
   * are not declared dead: they may well go on.
   */
  stop(): void
  /** The ts (ms) of the latest record, for time prefixes. */
  readonly lastRecordTime: number
  readonly stats: RenderPipelineStats
}

type Kind = 'text' | 'thinking' | 'tool' | 'other'

interface FlowView {
  flow_id: string
  session_id: string
  client: string | undefined
  /** undefined: not decided yet (client unknown while a client filter is set). */
  included: boolean | undefined
  normalizer: StreamNormalizer | undefined
  flowHint: { url?: string; provider?: string; client?: string }
  renderer: EventRenderer | undefined
  kind: Kind | undefined
  lineOpen: boolean
  /** Clock time the terminal event came; the end line waits for flow_end until grace passes. */
  endPendingSince: number | undefined
  ops: RenderOp[]
  /** `ts` of the flow's first record: the time its card header shows. */
  startTs: string | undefined
}

const MAX_ENDED_REMEMBERED = 4096

function clientFromProvider(p: string): string {
  return p === 'anthropic' ? 'claude-code' : p === 'openai-responses' ? 'codex' : 'unknown'
}

function tsMs(ts: unknown): number | undefined {
  if (typeof ts !== 'string') return undefined
  const ms = Date.parse(ts)
  return Number.isNaN(ms) ? undefined : ms
}

/** `12345` → `12.3k`. */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n)
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`
  return `${(n / 1_000_000).toFixed(1)}M`
}

/** `497` → `497 ms`, `12345` → `12.3 s`, `125000` → `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/** The end line of a flow: outcome, stop reason, model, tokens, duration, status, error. */
export function flowEndLine(f: FlowInfo): { text: string; failed: boolean } {
  const failed =
    f.state === 'DEAD' || (f.outcome !== undefined && f.outcome !== 'completed') || (f.status !== undefined && f.status >= 400) || f.error !== undefined
  const parts: string[] = []
  // Without a flow_end record (only sse lines read) the stream's stop reason says it all.
  const outcome = f.outcome ?? (f.state === 'DONE' ? (f.stop_reason ?? 'done') : 'dead')
  parts.push(f.state === 'DEAD' && f.deadReason ? `${outcome} (${f.deadReason})` : outcome)
  if (f.stop_reason !== undefined && f.stop_reason !== outcome) parts.push(f.stop_reason)
  if (f.model !== undefined) parts.push(f.model)
  const u = f.usage
  if (u.input_tokens !== undefined || u.output_tokens !== undefined) {
    let tin = `in ${formatTokens(u.input_tokens ?? 0)}`
    const cache: string[] = []
    if (u.cache_read_input_tokens) cache.push(`cache read ${formatTokens(u.cache_read_input_tokens)}`)
    if (u.cache_creation_input_tokens) cache.push(`cache write ${formatTokens(u.cache_creation_input_tokens)}`)
    if (cache.length > 0) tin += ` (${cache.join(', ')})`
    let tout = `out ${formatTokens(u.output_tokens ?? 0)}`
    if (u.reasoning_tokens) tout += ` (reasoning ${formatTokens(u.reasoning_tokens)})`
    parts.push(`${tin} · ${tout}`)
  }
  if (f.duration_ms !== undefined) parts.push(formatDuration(f.duration_ms))
  if (f.status !== undefined && f.status !== 200) parts.push(`HTTP ${f.status}`)
  if (f.error !== undefined) parts.push(f.error.replace(/\s+/g, ' ').slice(0, 200))
  // Every part comes from captured data: control characters must not reach the terminal.
  return { text: sanitizeText(`${failed ? '✗' : '■'} ${parts.join(' · ')}`), failed }
}

/**
 * Creates the monitor's render pipeline: canonical records in; per flow a stream normalizer
 * (unified events), a flow registry entry (lifecycle, usage), a tool-call renderer (`$ <command>`
 * with backtrack, pretty-printed arguments), and one screen controller deciding which card is on
 * screen; render ops out through `onOps`. Flows are dropped once their end line is shown, so
 * memory stays flat however long it runs.
 *
 * @example
 * ```ts
 * const p = createRenderPipeline({ onOps: (ops) => writer.write(ops) })
 * for await (const r of records) p.record(r)
 * p.end()
 * ```
 */
export function createRenderPipeline(opts: RenderPipelineOptions): RenderPipeline {
  const now = opts.now ?? Date.now
  const grace = opts.flowEndGraceMs ?? 1000
  const functionOnly = opts.functionOnly ?? false
  const sessions = opts.sessions && opts.sessions.length > 0 ? opts.sessions : undefined
  const clients = opts.clients && opts.clients.length > 0 ? new Set(opts.clients) : undefined
  const onJson = opts.onJson
  // Headers carry the capture time the flow started (its first record), not the wall clock.
  const emit = (ops: RenderOp[]): void => {
    if (ops.length === 0) return
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as RenderOp
      if (op.op === 'header') {
        const start = views.get(op.flow_id)?.startTs ?? ended.get(op.flow_id)
        const t = (start !== undefined ? tsMs(start) : undefined) ?? recordTime()
        if (t > 0) ops[i] = { ...op, ts: t }
      }
    }
    opts.onOps(ops)
  }
  const argsSubDeltas = opts.argsSubDeltas ?? 8
  // Validate once up front so a bad option fails at start, not at the first tool call.
  createToolCallRenderer({ argsSubDeltas })
  const previewChars = opts.previewChars
  // The raw-argument preview must fit on one terminal row: the backtrack erases one row only.
  const newRenderer = (): EventRenderer => {
    const o: EventRendererOptions = { argsSubDeltas, showThinking: !functionOnly }
    if (previewChars) o.previewChars = Math.max(16, Math.floor(previewChars()))
    // No terminal to erase a row on: no raw previews at all.
    if (opts.preview === false) o.preview = false
    return createEventRenderer(o)
  }

  const registry = createFlowRegistry({
    now,
    idleMs: opts.idleMs ?? 120_000,
    retentionMs: 10_000,
    maxRetained: 256,
    ...(opts.onDiagnostic ? { onError: opts.onDiagnostic } : {}),
  })
  const screen = createScreenController({ now, sessionGuardMs: opts.sessionGuardMs ?? 2000 })
  const views = new Map<string, FlowView>()
  // Flows already ended (or filtered out): late records for them are ignored. Bounded.
  // Value: the flow's first record time, for a header shown after the flow ended.
  const ended = new Map<string, string | undefined>()
  const pendingEnds = new Set<FlowView>()
  // Parsed lazily: Date.parse per record is measurable at 50k records/s.
  let lastTs: string | undefined
  let lastTsParsed: string | undefined
  let lastTsMs = 0
  const recordTime = (): number => {
    if (lastTs !== lastTsParsed) {
      lastTsParsed = lastTs
      lastTsMs = tsMs(lastTs) ?? lastTsMs
    }
    return lastTsMs
  }
  const stats: RenderPipelineStats = { records: 0, events: 0, flows: 0, filteredFlows: 0, ended: 0, streamErrors: 0, liveFlows: 0 }

  function remember(v: FlowView): void {
    ended.set(v.flow_id, v.startTs)
    if (ended.size > MAX_ENDED_REMEMBERED) {
      const first = ended.keys().next()
      if (!first.done) ended.delete(first.value)
    }
  }

  function decide(v: FlowView): void {
    if (v.included !== undefined) return
    if (sessions && !sessions.some((s) => v.session_id.startsWith(s))) {
      v.included = false
    } else if (clients && v.client === undefined) {
      return // wait for the flow record or the first data
    } else {
      v.included = !clients || clients.has(v.client ?? 'unknown')
    }
    if (!v.included) {
      stats.filteredFlows++
      views.delete(v.flow_id)
      pendingEnds.delete(v)
      remember(v)
      return
    }
    const meta: { flow_id: string; session_id: string; client?: string } = { flow_id: v.flow_id, session_id: v.session_id }
    if (v.client !== undefined) meta.client = v.client
    screen.open(meta)
  }

  function view(r: CanonicalRecord): FlowView | undefined {
    let v = views.get(r.flow_id)
    if (v) return v
    if (ended.has(r.flow_id)) return undefined
    stats.flows++
    v = {
      flow_id: r.flow_id,
      session_id: typeof r.session_id === 'string' ? r.session_id : '',
      client: undefined,
      included: undefined,
      normalizer: undefined,
      flowHint: {},
      renderer: undefined,
      kind: undefined,
      lineOpen: false,
      endPendingSince: undefined,
      ops: [],
      startTs: typeof r.ts === 'string' ? r.ts : undefined,
    }
    views.set(r.flow_id, v)
    return v
  }

  function show(v: FlowView, ops: RenderOp[]): void {
    if (ops.length === 0) return
    const last = ops[ops.length - 1] as RenderOp
    v.lineOpen = last.op === 'text'
    emit(screen.write(v.flow_id, ops))
  }

  function closeLine(v: FlowView, ops: RenderOp[]): void {
    const last = ops[ops.length - 1]
    if (last ? last.op === 'text' : v.lineOpen) ops.push({ op: 'newline' })
  }

  function onEvent(v: FlowView, e: AgentEvent): void {
    stats.events++
    registry.addEvent(e)
    if (onJson) {
      if (functionOnly && e.type !== 'tool_call_start' && e.type !== 'tool_args_delta' && e.type !== 'tool_call_end') {
        if (e.type === 'message_end' && registry.get(v.flow_id)?.state !== 'STREAMING') markEnd(v)
        return
      }
      const j = { ...e, session_id: v.session_id } as MonitorJsonEvent
      if (v.client !== undefined) j.client = v.client
      onJson(j)
      if (e.type === 'message_end' && registry.get(v.flow_id)?.state !== 'STREAMING') markEnd(v)
      return
    }
    const r = (v.renderer ??= newRenderer())
    let ops: RenderOp[]
    switch (e.type) {
      case 'text_delta':
        if (functionOnly || e.text === '') return
        ops = r.event(e)
        v.kind = 'text'
        break
      case 'thinking_delta': {
        if (functionOnly || e.kind === 'signature' || e.text === '') return
        ops = r.event(e)
        if (v.kind !== 'thinking' && e.kind !== 'redacted') {
          // Without colours (pipes, NO_COLOR) a label is what tells thinking from the answer.
          const at = ops.findIndex((o) => o.op === 'text')
          if (at !== -1) ops.splice(at, 0, { op: 'text', text: e.kind === 'summary' ? 'reasoning: ' : 'thinking: ', style: 'dim' })
        }
        v.kind = 'thinking'
        break
      }
      case 'tool_call_start':
      case 'tool_args_delta':
      case 'tool_call_end':
        // flow-fsm's event renderer: `$ <command>` with backtrack, formatted arguments, and
        // parallel calls (Chat Completions) shown one after another.
        ops = r.event(e)
        v.kind = 'tool'
        break
      case 'error': {
        // The renderer keeps its row state; the line names the error type, else its code
        // (Responses errors often carry only a code such as rate_limit_exceeded).
        const text = `✗ ${sanitizeText(`${e.error_type ?? e.code ?? 'error'}${e.error_type && e.code ? ` (${e.code})` : ''}: ${e.message}`.replace(/\s*\n\s*/g, ' '))}`
        ops = r.event(e)
        const at = ops.findIndex((o) => o.op === 'text')
        // Its message ops (split at newlines) up to the closing newline become one line, ours.
        if (at !== -1) ops.splice(at, Math.max(1, ops.length - 1 - at), { op: 'text', text, style: 'error' })
        v.kind = 'other'
        break
      }
      case 'unknown': {
        if (functionOnly) return
        ops = []
        closeLine(v, ops)
        const what = e.event ?? 'event'
        ops.push({ op: 'text', text: `? unknown ${sanitizeText(what)}${e.reason ? ` (${sanitizeText(e.reason)})` : ''}`, style: 'dim' }, { op: 'newline' })
        v.kind = 'other'
        break
      }
      case 'message_end':
        ops = r.event(e)
        if (registry.get(v.flow_id)?.state === 'STREAMING') {
          // A WebSocket flow carries one response after another; it ends with its flow_end.
          if (!functionOnly) {
            closeLine(v, ops)
            ops.push({ op: 'text', text: `· end of response${e.stop_reason ? ` · ${sanitizeText(e.stop_reason)}` : ''}`, style: 'dim' }, { op: 'newline' })
            v.kind = 'other'
          }
        } else markEnd(v)
        break
      default:
        return
    }
    show(v, ops)
  }

  function markEnd(v: FlowView): void {
    if (v.endPendingSince === undefined) {
      v.endPendingSince = now()
      pendingEnds.add(v)
    }
  }

  function finishFlow(v: FlowView): void {
    pendingEnds.delete(v)
    views.delete(v.flow_id)
    remember(v)
    const info = registry.get(v.flow_id)
    stats.ended++
    if (onJson) return
    const ops: RenderOp[] = []
    if (v.renderer) ops.push(...v.renderer.end())
    if (info && !functionOnly) {
      closeLine(v, ops)
      const line = flowEndLine(info)
      ops.push({ op: 'text', text: line.text, style: line.failed ? 'error' : 'meta' }, { op: 'newline' })
    } else closeLine(v, ops)
    if (ops.length > 0) show(v, ops)
    emit(screen.finish(v.flow_id, info?.state === 'DONE' ? 'DONE' : 'DEAD'))
    registry.remove(v.flow_id)
  }

  function normalizerOf(v: FlowView, firstData: string): StreamNormalizer {
    if (v.normalizer) return v.normalizer
    const n = createStreamNormalizer({
      flow_id: v.flow_id,
      flow: v.flowHint,
      onEvent: (e) => onEvent(v, e),
      onError: (e) => {
        stats.streamErrors++
        opts.onDiagnostic?.(e)
      },
    })
    v.normalizer = n
    if (v.client === undefined) v.client = clientFromProvider(detectProvider(v.flowHint, firstData))
    return n
  }

  return {
    record(r) {
      if (!r || typeof r.flow_id !== 'string') return
      stats.records++
      if (typeof r.ts === 'string') lastTs = r.ts
      const v = view(r)
      if (!v) return
      if (v.session_id === '' && typeof r.session_id === 'string') v.session_id = r.session_id
      switch (r.type) {
        case 'flow': {
          const hint: { url?: string; provider?: string; client?: string } = {}
          if (typeof r.url === 'string') hint.url = r.url
          if (typeof r.provider === 'string') hint.provider = r.provider
          if (typeof r.client === 'string' && r.client !== 'unknown') {
            hint.client = r.client
            v.client = r.client
          }
          v.flowHint = hint
          if (v.included === true && v.client !== undefined) {
            // The flow record came after the first lines (live, separate files): the card's
            // header should name the real client, not the one inferred from the stream.
            screen.open({ flow_id: v.flow_id, session_id: v.session_id, client: v.client })
          }
          decide(v)
          if (!v.included) return
          registry.addRecord(r)
          if (!onJson && !functionOnly) {
            // The answers to the previous response's tool calls open this flow's card.
            const results = requestToolResults(r.request_body)
            if (results.length > 0) {
              const ops: RenderOp[] = []
              for (const res of results) ops.push({ op: 'text', text: sanitizeText(toolResultLine(res)), style: res.error ? 'error' : 'dim' }, { op: 'newline' })
              show(v, ops)
            }
          }
          return
        }
        case 'sse': {
          const data = typeof r.data === 'string' ? r.data : ''
          const n = normalizerOf(v, data)
          decide(v)
          if (!v.included) return
          registry.addRecord(r)
          if (typeof r.data === 'string' && (r.seq === undefined || typeof r.seq === 'number') && (r.event === undefined || typeof r.event === 'string')) {
            // A validated canonical sse record already has the normalizer's shape: no copy per record.
            n.feedRecord(r as unknown as StreamRecord)
          } else {
            const rec: StreamRecord = { data }
            if (typeof r.seq === 'number') rec.seq = r.seq
            if (typeof r.event === 'string') rec.event = r.event
            if (r.transport === 'ws' || r.transport === 'sse') rec.transport = r.transport
            n.feedRecord(rec)
          }
          return
        }
        case 'flow_end': {
          if (v.included === undefined) {
            v.client ??= 'unknown'
            decide(v)
          }
          if (!v.included) return
          v.normalizer?.end()
          registry.addRecord(r)
          finishFlow(v)
          return
        }
        default:
          return
      }
    },
    tick() {
      const t = now()
      for (const tr of registry.tick()) {
        if (tr.to === 'DEAD' && tr.reason === 'idle') {
          const v = views.get(tr.flow_id)
          if (!v) continue
          if (tr.flow.counts.records === 0) {
            // A request that never streamed and whose end was never seen: nothing to show.
            views.delete(v.flow_id)
            pendingEnds.delete(v)
            remember(v)
            emit(screen.finish(v.flow_id, 'DEAD'))
            registry.remove(v.flow_id)
          } else finishFlow(v)
        }
      }
      for (const v of pendingEnds) {
        if (t - (v.endPendingSince ?? t) >= grace) finishFlow(v)
      }
      emit(screen.tick())
    },
    end() {
      for (const v of [...views.values()]) {
        if (v.included === undefined) {
          v.client ??= 'unknown'
          decide(v)
        }
        if (!v.included) continue
        v.normalizer?.end()
        finishFlow(v)
      }
      emit(screen.drain())
    },
    stop() {
      for (const v of pendingEnds) finishFlow(v)
      emit(screen.drain())
    },
    get lastRecordTime() {
      return recordTime()
    },
    get stats() {
      stats.liveFlows = views.size
      return stats
    },
  }
}
