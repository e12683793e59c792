import { createStreamNormalizer, type StreamNormalizer } from '@agenttap/stream-normalizer'
import { FlowFsmError } from './errors.js'
import { createEventRenderer, type EventRenderer, type EventRendererOptions } from './event-renderer.js'
import { createFlowRegistry, type FlowRegistry, type FlowRegistryOptions } from './flow-registry.js'
import type { AgentEvent } from './normalizer-contract.js'
import { createScreenController, type ScreenController } from './screen-controller.js'
import type { CanonicalRecord, FlowInfo, FlowRecordLike, FlowTransition, RenderOp, SseRecordLike } from './types.js'

/** Options of {@link createFlowMonitor}. */
export interface FlowMonitorOptions extends EventRendererOptions, Omit<FlowRegistryOptions, 'now' | 'onTransition'> {
  /** Clock in ms. @defaultValue Date.now */
  now?: () => number
  /** See {@link ScreenControllerOptions.sessionGuardMs}. @defaultValue 2000 */
  sessionGuardMs?: number
  /** See {@link ScreenControllerOptions.maxBufferedChars}. */
  maxBufferedChars?: number
  /**
   * The output goes to a terminal that honours `backtrack` (`\r\x1b[2K`). `false` (pipes, logs):
   * no raw-argument previews, no row replays, so no op ever needs erasing. @defaultValue true
   */
  tty?: boolean
  /** Print a one-line summary (stop reason, tokens, timings) when a flow finishes. @defaultValue true */
  summaries?: boolean
  /** Every flow state change. */
  onTransition?: (t: FlowTransition) => void
  /** Every unified event, after the registry saw it (for status bars, stats). */
  onEvent?: (e: AgentEvent) => void
}

/** The whole live pipeline for one screen. See {@link createFlowMonitor}. */
export interface FlowMonitor {
  /** Feeds one canonical record; returns the ops to write to the screen now. */
  addRecord(record: CanonicalRecord): RenderOp[]
  /** Applies the clock (idle flows, session guard, retention); call it from a timer. */
  tick(): RenderOp[]
  /** End of input: ends every open flow (as cut off) and shows everything buffered. */
  end(): RenderOp[]
  readonly registry: FlowRegistry
  readonly screen: ScreenController
}

interface FlowPipe {
  normalizer: StreamNormalizer
  renderer: EventRenderer
}

function fmtMs(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`
}

/** The dim line printed when a flow finishes. */
export function flowSummary(f: FlowInfo): string {
  const parts: string[] = []
  if (f.state === 'DEAD') {
    parts.push(
      f.deadReason === 'idle' ? 'no data (idle), flow marked dead' : f.deadReason === 'aborted' ? 'aborted' : 'stream ended without its terminal event',
    )
  } else parts.push(f.stop_reason ?? f.outcome ?? 'done')
  if (f.model) parts.push(f.model)
  const u = f.usage
  const tok: string[] = []
  if (u.input_tokens !== undefined) tok.push(`in ${u.input_tokens}`)
  if (u.cache_read_input_tokens) tok.push(`cached ${u.cache_read_input_tokens}`)
  if (u.output_tokens !== undefined) tok.push(`out ${u.output_tokens}`)
  if (u.reasoning_tokens) tok.push(`reasoning ${u.reasoning_tokens}`)
  if (tok.length > 0) parts.push(tok.join(' '))
  const ttfb = fmtMs(f.ttfb_ms)
  const dur = fmtMs(f.duration_ms)
  if (ttfb) parts.push(`ttfb ${ttfb}`)
  if (dur) parts.push(dur)
  if (f.error && f.state === 'DONE') parts.push(`error: ${f.error}`)
  return `— ${parts.join(' · ')}`
}

/**
 * The live pipeline a monitor app needs, in one object: for each canonical record it runs the
 * flow's stream normalizer, the lifecycle registry, the event renderer (shell commands with
 * backtrack, formatted tool arguments) and the card-based screen controller, and returns the
 * render ops to write. The app only reads records, calls `addRecord` / `tick`, and turns ops into
 * terminal bytes (colors, `\r\x1b[2K` for backtrack). Per-flow state is dropped when the flow
 * finishes (idle-dead flows keep it until evicted, in case they resume).
 *
 * @example
 * ```ts
 * const mon = createFlowMonitor()
 * for await (const { value } of follow(file)) out.write(toAnsi(mon.addRecord(value as CaptureRecord)))
 * setInterval(() => out.write(toAnsi(mon.tick())), 250)
 * ```
 */
export function createFlowMonitor(opts: FlowMonitorOptions = {}): FlowMonitor {
  const now = opts.now ?? Date.now
  const summaries = opts.summaries ?? true
  const pipes = new Map<string, FlowPipe>()
  const transitions: FlowTransition[] = []
  const regOpts: FlowRegistryOptions = {
    now,
    onTransition: (t) => {
      transitions.push(t)
      opts.onTransition?.(t)
    },
  }
  if (opts.idleMs !== undefined) regOpts.idleMs = opts.idleMs
  if (opts.retentionMs !== undefined) regOpts.retentionMs = opts.retentionMs
  if (opts.maxRetained !== undefined) regOpts.maxRetained = opts.maxRetained
  if (opts.onError !== undefined) regOpts.onError = opts.onError
  const registry = createFlowRegistry(regOpts)
  const tty = opts.tty ?? true
  const rendererOpts: EventRendererOptions = tty ? opts : { ...opts, preview: false }
  const scOpts: { now: () => number; sessionGuardMs?: number; maxBufferedChars?: number; replayRows?: boolean } = { now, replayRows: tty }
  if (opts.sessionGuardMs !== undefined) scOpts.sessionGuardMs = opts.sessionGuardMs
  if (opts.maxBufferedChars !== undefined) scOpts.maxBufferedChars = opts.maxBufferedChars
  const screen = createScreenController(scOpts)
  let pendingOps: RenderOp[] = []

  function pipe(flow_id: string, meta: { url?: string; provider?: string; client?: string }): FlowPipe {
    let p = pipes.get(flow_id)
    if (!p) {
      const renderer = createEventRenderer(rendererOpts)
      const normalizer = createStreamNormalizer({
        flow_id,
        flow: meta,
        onEvent: (e) => {
          registry.addEvent(e)
          opts.onEvent?.(e)
          const ops = renderer.event(e)
          if (ops.length > 0) pendingOps.push(...ops)
        },
        onError: (err) => opts.onError?.(new FlowFsmError('STREAM_ERROR', err.message, { flow_id, cause: err })),
      })
      p = { normalizer, renderer }
      pipes.set(flow_id, p)
    }
    return p
  }

  function flushFlow(out: RenderOp[], flow_id: string): void {
    if (pendingOps.length === 0) return
    const ops = pendingOps
    pendingOps = []
    out.push(...screen.write(flow_id, ops))
  }

  function handleTransitions(out: RenderOp[]): void {
    while (transitions.length > 0) {
      const t = transitions.shift() as FlowTransition
      if (t.to === 'STREAMING') {
        // Resumed after an idle death: its pipe is still there, its card streams again.
        const card: { flow_id: string; session_id: string; client?: string } = { flow_id: t.flow_id, session_id: t.flow.session_id }
        if (t.flow.client !== undefined) card.client = t.flow.client
        screen.open(card)
        continue
      }
      const p = pipes.get(t.flow_id)
      const ops: RenderOp[] = []
      if (p) {
        ops.push(...p.renderer.end())
        if (t.reason !== 'idle') pipes.delete(t.flow_id)
      }
      if (summaries) {
        ops.push({ op: 'text', text: flowSummary(t.flow), style: t.to === 'DEAD' ? 'error' : 'dim' }, { op: 'newline' })
      }
      if (ops.length > 0) out.push(...screen.write(t.flow_id, ops))
      out.push(...screen.finish(t.flow_id, t.to))
    }
  }

  function metaOf(r: CanonicalRecord): { url?: string; provider?: string; client?: string } {
    const m: { url?: string; provider?: string; client?: string } = {}
    if (typeof r.url === 'string') m.url = r.url
    if (typeof r.provider === 'string') m.provider = r.provider
    if (typeof r.client === 'string') m.client = r.client
    return m
  }

  return {
    addRecord(record) {
      const out: RenderOp[] = []
      if (record?.type === 'flow_end' && typeof record.flow_id === 'string') {
        // The normalizer must see the end (open calls, missing terminal event) before the
        // registry decides DONE vs DEAD from the flow_end.
        pipes.get(record.flow_id)?.normalizer.end()
        flushFlow(out, record.flow_id)
        handleTransitions(out)
      }
      const info = registry.addRecord(record)
      if (!info) return out
      const flow_id = record.flow_id
      if (info.state !== 'STREAMING') {
        // A duplicate flow record or late data of a finished flow: the registry reported it.
      } else if (record.type === 'flow') {
        const card: { flow_id: string; session_id: string; client?: string } = { flow_id, session_id: info.session_id }
        if (info.client !== undefined) card.client = info.client
        screen.open(card)
        pipe(flow_id, metaOf(record as FlowRecordLike))
      } else if (record.type === 'sse') {
        const r = record as SseRecordLike
        if (!pipes.has(flow_id)) {
          const card: { flow_id: string; session_id: string; client?: string } = { flow_id, session_id: info.session_id }
          if (info.client !== undefined) card.client = info.client
          screen.open(card)
        }
        if (typeof r.data === 'string') {
          const rec: { seq?: number; event?: string; data: string; transport?: 'sse' | 'ws' } = { data: r.data }
          if (typeof r.seq === 'number') rec.seq = r.seq
          if (typeof r.event === 'string') rec.event = r.event
          if (r.transport === 'ws' || r.transport === 'sse') rec.transport = r.transport
          pipe(flow_id, { ...(info.url ? { url: info.url } : {}), ...(typeof info.provider === 'string' ? { provider: info.provider } : {}) }).normalizer.feedRecord(rec)
        }
      }
      flushFlow(out, flow_id)
      handleTransitions(out)
      return out
    },
    tick() {
      const out: RenderOp[] = []
      registry.tick()
      handleTransitions(out)
      out.push(...screen.tick())
      // Idle-dead flows keep their pipe (they may resume) until the registry evicts them.
      if (pipes.size > 0) for (const id of pipes.keys()) if (!registry.get(id)) pipes.delete(id)
      return out
    },
    end() {
      const out: RenderOp[] = []
      for (const [id, p] of pipes) {
        if (registry.get(id)?.state !== 'STREAMING') continue
        p.normalizer.end()
        flushFlow(out, id)
        registry.kill(id, 'incomplete')
        handleTransitions(out)
      }
      out.push(...screen.drain())
      return out
    },
    registry,
    screen,
  }
}
