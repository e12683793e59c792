import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { ModelCall } from '@agenttap/ledger'
import { createStreamNormalizer, detectStreamProvider, normalizeUsage, type AgentEvent, type NormalizerError, type StreamNormalizer, type StreamProvider, type StreamRecord } from '@agenttap/stream-normalizer'
import { createAlertMonitor, type Alert } from '@agenttap/cache-insights'
import type { LiveJsonEvent, LiveView, LiveViewOptions, LiveViewStats } from './live-view-types.js'
import { checkNumberOption, FlowFsmError } from './errors.js'
import { createEventRenderer, type EventRenderer, type EventRendererOptions } from './event-renderer.js'
import { createFlowRegistry } from './flow-registry.js'
import { endLine, type EndLineCall, type ViewEnding } from './format.js'
import { createLiveCalls, type LiveCalls } from './live-calls.js'
import { eventViewKind, flowEventOps, type FlowEventOpsOptions, type ViewKind } from './live-view-events.js'
import { pushText, sanitizeText } from './render-ops.js'
import { createScreenController } from './screen-controller.js'
import { createToolCallRenderer } from './tool-call-renderer.js'
import { requestToolResults, toolResultLine } from './tool-results.js'
import type { RenderOp } from './types.js'

export type { LiveJsonEvent, LiveToolResultEvent, LiveView, LiveViewOptions, LiveViewStats } from './live-view-types.js'

interface FlowView {
  flow_id: string
  session_id: string
  client: string | undefined
  /** undefined: not decided yet (client unknown while a client filter is set). */
  included: boolean | undefined
  normalizer: StreamNormalizer | undefined
  flowHint: { url?: string; provider?: string; client?: string }
  renderer: EventRenderer | undefined
  kind: ViewKind | undefined
  lineOpen: boolean
  /** Clock time the terminal event came; the end line waits for flow_end until grace passes. */
  endPendingSince: number | undefined
  /** Calls whose end line is shown already (a WebSocket flow shows one per response as it ends). */
  shownCalls: number
  /** Stream events came since the last call's end line (a response is under way). */
  streamedSinceCall: boolean
  /** `ts` of the flow's first record: the time its card header shows. */
  startTs: string | undefined
  /** WebSocket client frames seen (the first is the flow's request body, shown with the flow record). */
  clientFrames: number
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

/**
 * THE records → render ops pipeline every live view uses (the terminal monitor, the monitor the
 * proxy attaches, the web view's flow detail). Per flow: a stream normalizer (unified events), a
 * lifecycle entry in a flow registry (streaming, done, dead when idle), an event renderer (text,
 * thinking, `$ <command>` with backtrack, formatted arguments, one error-line format); one screen
 * controller decides which flow's card is on screen. End lines (outcome, usage, duration, HTTP
 * status, error) come from the model calls of {@link LiveCalls}, the same facts analyze reads.
 * Flows are dropped once their end is shown, so memory stays flat however long it runs.
 *
 * @example
 * ```ts
 * const view = createLiveView({ onOps: (ops) => process.stdout.write(opsToString(ops)) })
 * for await (const { value } of follow('capture/all-mitm-sse/sse_lines.jsonl')) view.feed(value as CaptureRecord)
 * view.end()
 * ```
 */
export function createLiveView(opts: LiveViewOptions): LiveView {
  checkNumberOption('flowEndGraceMs', opts.flowEndGraceMs, 0)
  const now = opts.now ?? Date.now
  const grace = opts.flowEndGraceMs ?? 1000
  const functionOnly = opts.functionOnly ?? false
  const labels = opts.labels ?? true
  const toolResults = (opts.toolResults ?? true) && !functionOnly
  const captureTime = (opts.headerTime ?? 'capture') === 'capture'
  const sessions = opts.sessions && opts.sessions.length > 0 ? opts.sessions : undefined
  const clients = opts.clients && opts.clients.length > 0 ? new Set(opts.clients) : undefined
  const onJson = opts.onJson
  // (The view's own normalizer reports malformed stream data: the calls' would say it twice.)
  const alertsOn = opts.alerts !== undefined && opts.alerts !== false ? true : opts.onAlert !== undefined
  if (alertsOn && opts.calls !== undefined) throw new FlowFsmError('INVALID_OPTION', 'createLiveView: alerts watch the view\'s own calls; drop the calls option, or feed your calls to createAlertMonitor yourself')
  /** Alert lines waiting for their call's end line, by call key (bounded). */
  const alertLines = new Map<string, Alert[]>()
  const monitor = alertsOn
    ? createAlertMonitor({
        ...(typeof opts.alerts === 'object' ? opts.alerts : {}),
        onAlert: (a) => {
          if (opts.alerts !== undefined && opts.alerts !== false) {
            const list = alertLines.get(a.key) ?? []
            list.push(a)
            alertLines.set(a.key, list)
            if (alertLines.size > 1024) alertLines.delete(alertLines.keys().next().value as string)
          }
          opts.onAlert?.(a)
        },
      })
    : undefined
  // Without alerts, its end lines need no prompt, tool results, fingerprints or cache segments of the
  // requests: not read. Alerts compare cache segments, so they read everything.
  const calls = opts.calls ?? createLiveCalls(monitor ? { onCall: (c) => monitor.feed(c) } : { requestFacts: 'call' })
  const argsSubDeltas = opts.argsSubDeltas ?? 8
  // Validate once up front so a bad option fails at start, not at the first tool call.
  createToolCallRenderer({ argsSubDeltas })
  const eventOpts: FlowEventOpsOptions = { functionOnly, labels, lineOpen: false }
  const previewChars = opts.previewChars
  const newRenderer = (): EventRenderer => {
    const o: EventRendererOptions = { argsSubDeltas, showThinking: !functionOnly }
    // The raw-argument preview must fit on one terminal row: the backtrack erases one row only.
    if (previewChars) o.previewChars = Math.max(16, Math.floor(previewChars()))
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
  const screen = createScreenController({ now, sessionGuardMs: opts.sessionGuardMs ?? 2000, ...(opts.preview === false ? { replayRows: false } : {}) })
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
  const stats: LiveViewStats = { records: 0, events: 0, flows: 0, filteredFlows: 0, ended: 0, streamErrors: 0, liveFlows: 0 }

  // Headers carry the capture time the flow started (its first record), not the wall clock.
  const emit = (ops: RenderOp[]): void => {
    if (ops.length === 0) return
    if (captureTime) {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as RenderOp
        if (op.op !== 'header') continue
        const start = views.get(op.flow_id)?.startTs ?? ended.get(op.flow_id)
        const t = (start !== undefined ? tsMs(start) : undefined) ?? recordTime()
        if (t > 0) ops[i] = { ...op, ts: t }
      }
    }
    opts.onOps(ops)
  }

  function remember(v: FlowView): void {
    ended.set(v.flow_id, v.startTs)
    if (ended.size > MAX_ENDED_REMEMBERED) {
      const first = ended.keys().next()
      if (!first.done) ended.delete(first.value)
    }
  }

  function decide(v: FlowView): void {
    if (v.included !== undefined) return
    if (sessions && !sessions.some((s) => v.session_id.startsWith(s))) v.included = false
    else if (clients && v.client === undefined) return // wait for the flow record or the first data
    else v.included = !clients || clients.has(v.client ?? 'unknown')
    if (!v.included) {
      stats.filteredFlows++
      views.delete(v.flow_id)
      pendingEnds.delete(v)
      calls.forget(v.flow_id)
      remember(v)
      return
    }
    const meta: { flow_id: string; session_id: string; client?: string } = { flow_id: v.flow_id, session_id: v.session_id }
    if (v.client !== undefined) meta.client = v.client
    screen.open(meta)
  }

  function view(r: CaptureRecord): FlowView | undefined {
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
      shownCalls: 0,
      streamedSinceCall: false,
      startTs: typeof r.ts === 'string' ? r.ts : undefined,
      clientFrames: 0,
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

  /**
   * End lines of the flow's calls not shown yet: the finished ones; at the flow's end (`final`)
   * the one still open too, as ended by the view (`ending`).
   */
  function callLines(v: FlowView, ops: RenderOp[], all: readonly ModelCall[], final: boolean, ending?: ViewEnding): void {
    const line = (call: EndLineCall, end?: ViewEnding): void => {
      closeLine(v, ops)
      const l = endLine(call, end)
      ops.push({ op: 'text', text: l.text, style: l.failed ? 'error' : 'meta' }, { op: 'newline' })
      const key = (call as Partial<ModelCall>).key
      const alerts = key === undefined ? undefined : alertLines.get(key)
      if (alerts !== undefined) {
        alertLines.delete(key!)
        for (const a of alerts) pushText(ops, `⚠ ${a.message}`, 'error').push({ op: 'newline' })
      }
    }
    let open = false
    for (let i = v.shownCalls; i < all.length; i++) {
      const call = all[i] as ModelCall
      if (call.outcome === 'open' && !final) break
      open ||= call.outcome === 'open'
      line(call, call.outcome === 'open' ? (ending ?? 'input ended') : undefined)
      v.shownCalls = i + 1
    }
    // No call to show for what streamed (the view gave up on a response that never ended, or the
    // ledger still waits for the flow's flow record): what the stream said, in the same line.
    const info = registry.get(v.flow_id)
    if (final && !open && info !== undefined && (v.streamedSinceCall || (all.length === 0 && info.counts.events > 0))) {
      const call: EndLineCall = {
        outcome: ending !== undefined ? 'open' : info.state === 'DONE' ? (info.error !== undefined || (info.status ?? 0) >= 400 ? 'error' : 'completed') : info.deadReason === 'aborted' ? 'aborted' : 'truncated',
      }
      if (info.stop_reason !== undefined && info.stop_reason !== 'end') call.stop_reason = info.stop_reason
      if (info.model !== undefined) call.model = info.model
      if (Object.keys(info.usage).length > 0) call.usage = normalizeUsage(info.usage, (info.provider ?? 'unknown') as StreamProvider)
      if (info.status !== undefined) call.http_status = info.status
      if (info.duration_ms !== undefined) call.duration_ms = info.duration_ms
      if (info.error !== undefined) call.error = { message: info.error }
      line(call, ending)
    }
  }

  function onEvent(v: FlowView, e: AgentEvent): void {
    stats.events++
    registry.feedEvent(e)
    v.streamedSinceCall = e.type !== 'message_end'
    const streaming = e.type === 'message_end' && registry.get(v.flow_id)?.state === 'STREAMING'
    if (onJson) {
      if (e.type === 'message_end' && !streaming) markEnd(v)
      if (functionOnly && e.type !== 'tool_call_start' && e.type !== 'tool_args_delta' && e.type !== 'tool_call_end') return
      const j = { ...e, session_id: v.session_id } as LiveJsonEvent
      if (v.client !== undefined) j.client = v.client
      onJson(j)
      return
    }
    const r = (v.renderer ??= newRenderer())
    eventOpts.lineOpen = v.lineOpen
    const ops = flowEventOps(r, e, v.kind, eventOpts)
    if (ops === undefined) return
    v.kind = eventViewKind(e.type)
    if (e.type === 'message_end') {
      if (streaming) {
        // A WebSocket flow carries one response after another: each ends with its call's line.
        // (The calls were fed the record before this view's normalizer saw it.)
        if (!functionOnly) callLines(v, ops, calls.calls(v.flow_id), false)
      } else markEnd(v)
    }
    show(v, ops)
  }

  function markEnd(v: FlowView): void {
    if (v.endPendingSince === undefined) {
      v.endPendingSince = now()
      pendingEnds.add(v)
    }
  }

  function finishFlow(v: FlowView, ending?: ViewEnding): void {
    pendingEnds.delete(v)
    views.delete(v.flow_id)
    remember(v)
    const info = registry.get(v.flow_id)
    stats.ended++
    if (!onJson) {
      const ops: RenderOp[] = []
      if (v.renderer) ops.push(...v.renderer.end())
      if (!functionOnly) callLines(v, ops, calls.calls(v.flow_id), true, ending)
      closeLine(v, ops)
      if (ops.length > 0) show(v, ops)
      emit(screen.finish(v.flow_id, info?.state === 'DONE' ? 'DONE' : 'DEAD'))
    }
    registry.remove(v.flow_id)
    calls.forget(v.flow_id)
  }

  function normalizerOf(v: FlowView, firstData: string): StreamNormalizer {
    if (v.normalizer) return v.normalizer
    const handlers = {
      onEvent: (e: AgentEvent) => onEvent(v, e),
      onError: (e: NormalizerError) => {
        stats.streamErrors++
        opts.onDiagnostic?.(e)
      },
    }
    // One decode per record: the calls' ledger takes the events this view renders.
    // (Not for a flow filtered out: the calls never see its records.)
    const n = calls.normalizer !== undefined && v.included !== false
      ? calls.normalizer(v.flow_id, { flow: v.flowHint, ...handlers })
      : createStreamNormalizer({ flow_id: v.flow_id, flow: v.flowHint, ...handlers })
    v.normalizer = n
    if (v.client === undefined) v.client = clientFromProvider(detectStreamProvider(v.flowHint, firstData))
    return n
  }

  function flowRecord(v: FlowView, r: CaptureRecord & { type: 'flow' }): void {
    const hint: { url?: string; provider?: string; client?: string } = {}
    if (typeof r.url === 'string') hint.url = r.url
    if (typeof r.provider === 'string') hint.provider = r.provider
    if (typeof r.client === 'string' && r.client !== 'unknown') {
      hint.client = r.client
      v.client = r.client
    }
    v.flowHint = hint
    if (v.included === true && v.client !== undefined) {
      // The flow record came after the first lines (live, separate files): the card's header
      // should name the real client, not the one inferred from the stream.
      screen.open({ flow_id: v.flow_id, session_id: v.session_id, client: v.client })
    }
    decide(v)
    if (!v.included) return
    registry.feed(r)
    // The answers to the previous response's tool calls open this flow's card.
    requestResults(v, r.request_body)
  }

  /** The tool results a request (a flow's body or a WebSocket client frame) carries: `↳` lines, or JSON events. */
  function requestResults(v: FlowView, body: unknown): void {
    if (onJson ? functionOnly : !toolResults) return
    const results = requestToolResults(body)
    if (results.length === 0) return
    if (onJson) {
      for (const res of results) {
        const j: LiveJsonEvent = { type: 'tool_result', flow_id: v.flow_id, call_id: res.call_id, output: res.text, is_error: res.error, session_id: v.session_id }
        if (res.name !== undefined) j.name = res.name
        if (res.exitCode !== undefined) j.exit_code = res.exitCode
        if (v.client !== undefined) j.client = v.client
        onJson(j)
      }
      return
    }
    const ops: RenderOp[] = []
    for (const res of results) ops.push({ op: 'text', text: sanitizeText(toolResultLine(res)), style: res.error ? 'error' : 'dim' }, { op: 'newline' })
    show(v, ops)
  }

  /** A WebSocket client frame: after the first (the flow's request body), each may carry tool outputs. */
  function clientFrameRecord(v: FlowView, r: CaptureRecord): void {
    if (!v.included) return
    if (v.clientFrames++ === 0) return
    const data = (r as { data?: unknown }).data
    if (typeof data !== 'string' || data === '') return
    let body: unknown
    try {
      body = JSON.parse(data)
    } catch {
      return
    }
    requestResults(v, body)
  }

  function sseRecord(v: FlowView, r: CaptureRecord & { type: 'sse' }): void {
    const data = typeof r.data === 'string' ? r.data : ''
    const n = normalizerOf(v, data)
    decide(v)
    if (!v.included) return
    registry.feed(r)
    if (typeof r.data === 'string' && (r.seq === undefined || typeof r.seq === 'number') && (r.event === undefined || typeof r.event === 'string')) {
      // A validated canonical sse record already has the normalizer's shape: no copy per record.
      n.feedRecord(r as unknown as StreamRecord)
      return
    }
    const rec: StreamRecord = { data }
    if (typeof r.seq === 'number') rec.seq = r.seq
    if (typeof r.event === 'string') rec.event = r.event
    if (r.transport === 'ws' || r.transport === 'sse') rec.transport = r.transport
    n.feedRecord(rec)
  }

  let callsEnded = false
  function endFlows(max: number): number {
    // The calls still open are given first (outcome `open`), so their end lines carry their usage:
    // each flow's just before its end (its normalizer's last events are then rendered in turn),
    // or all at once with calls that cannot end one flow.
    const perFlow = calls.endFlow !== undefined
    if (!callsEnded && !perFlow) {
      callsEnded = true
      calls.end()
    }
    let n = 0
    // Deleting the entry being visited is safe in a Map iteration.
    for (const v of views.values()) {
      if (n >= max) break
      n++
      if (v.included === undefined) {
        v.client ??= 'unknown'
        decide(v)
      }
      if (!v.included) continue
      if (perFlow) calls.endFlow!(v.flow_id)
      v.normalizer?.end()
      finishFlow(v, 'input ended')
    }
    if (perFlow && views.size === 0 && !callsEnded) {
      callsEnded = true
      calls.end()
    }
    return views.size
  }

  return {
    feed(r) {
      if (!r || typeof r.flow_id !== 'string') return
      stats.records++
      if (typeof r.ts === 'string') lastTs = r.ts
      const v = view(r)
      if (!v) return
      if (v.session_id === '' && typeof r.session_id === 'string') v.session_id = r.session_id
      // The calls see every record of a flow still shown, before this view renders it. (A
      // shared normalizer is made first: the record must not reach the ledger's own decoder.)
      if (v.included !== false) {
        if (r.type === 'sse' && calls.normalizer !== undefined && !v.normalizer) normalizerOf(v, typeof r.data === 'string' ? r.data : '')
        calls.feed(r)
      }
      switch (r.type) {
        case 'flow':
          return flowRecord(v, r as CaptureRecord & { type: 'flow' })
        case 'sse':
          return sseRecord(v, r as CaptureRecord & { type: 'sse' })
        case 'client_frame':
          return clientFrameRecord(v, r)
        case 'flow_end':
          if (v.included === undefined) {
            v.client ??= 'unknown'
            decide(v)
          }
          if (!v.included) return
          v.normalizer?.end()
          registry.feed(r)
          return finishFlow(v)
        default:
          return
      }
    },
    tick() {
      const t = now()
      for (const tr of registry.tick()) {
        if (tr.to !== 'DEAD' || tr.reason !== 'idle') continue
        const v = views.get(tr.flow_id)
        if (!v) continue
        if (tr.flow.counts.records === 0) {
          // A request that never streamed and whose end was never seen: nothing to show.
          views.delete(v.flow_id)
          pendingEnds.delete(v)
          remember(v)
          emit(screen.finish(v.flow_id, 'DEAD'))
          registry.remove(v.flow_id)
          calls.forget(v.flow_id)
        } else finishFlow(v, 'idle')
      }
      for (const v of pendingEnds) if (t - (v.endPendingSince ?? t) >= grace) finishFlow(v)
      emit(screen.tick())
    },
    end() {
      endFlows(Number.POSITIVE_INFINITY)
      emit(screen.drain())
    },
    endFlows,
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
