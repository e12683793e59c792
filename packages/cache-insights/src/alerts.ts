/**
 * Live alerts over model calls as they end: a cache break (cause and cost), the context window
 * ≥ 80 %, a quota window ≥ 80 %, a model switch mid-session. Each threshold alert fires once per
 * crossing and re-arms when the value falls back under it (a compaction, a quota reset).
 */
import type { PriceTable } from '@agenttap/ledger'
import { createCacheAnalyzer, laneOf } from './breaks.js'
import { CONTEXT_WINDOWS, contextWindowOf } from './context.js'
import { CacheInsightsError } from './errors.js'
import { readQuota } from './quota.js'
import type { CacheBreak, InsightCall } from './types.js'

/** What an alert is about. */
export type AlertKind = 'cache_break' | 'context' | 'quota' | 'model_switch'

/** One alert, as JSON for a hook and one line for a terminal. */
export interface Alert {
  kind: AlertKind
  /** When the call that raised it started. */
  at: string
  session_id: string
  agent?: string
  flow_id: string
  key: string
  /** One line for people. */
  message: string
  /** `cache_break`: the break. */
  break?: CacheBreak
  /** `context`: tokens, window and ratio. */
  context?: { tokens: number; window: number; ratio: number }
  /** `quota`: the window and its used fraction. */
  quota?: { account: string; window: string; used: number; reset?: string }
  /** `model_switch`: from → to. */
  models?: { from: string; to: string }
}

/** Options of {@link createAlertMonitor}. */
export interface AlertOptions {
  /** Receives each alert once. */
  onAlert(alert: Alert): void
  /** Context ratio that raises an alert. @defaultValue 0.8 */
  contextThreshold?: number
  /** Quota used fraction that raises an alert. @defaultValue 0.8 */
  quotaThreshold?: number
  /** Cache breaks cheaper than this (USD) raise none. @defaultValue 0 */
  minBreakUsd?: number
  prices?: PriceTable
  windows?: Readonly<Record<string, number>>
  /** Sessions (and quota windows) remembered. @defaultValue 10000 */
  maxSessions?: number
}

/** Feeds ended model calls; alerts leave through `onAlert`. */
export interface AlertMonitor {
  feed(call: InsightCall): void
  reset(): void
}

const pct = (r: number): string => `${Math.round(r * 100)} %`
const usd = (x: number): string => `$${x < 0.01 ? x.toFixed(4) : x.toFixed(2)}`

/**
 * Creates the live alert monitor. Feed each model call when it ends (any order between sessions).
 * @example
 * const m = createAlertMonitor({ onAlert: (a) => console.error(a.message) })
 * liveCalls.on('call', (c) => m.feed(c))
 */
export function createAlertMonitor(options: AlertOptions): AlertMonitor {
  if (typeof options?.onAlert !== 'function') throw new CacheInsightsError('INVALID_OPTION', 'createAlertMonitor: expected options with an onAlert function')
  const ctxT = options.contextThreshold ?? 0.8
  const quotaT = options.quotaThreshold ?? 0.8
  const maxSessions = options.maxSessions ?? 10_000
  const windows = options.windows ?? CONTEXT_WINDOWS
  const analyzer = createCacheAnalyzer({ ...(options.prices !== undefined ? { prices: options.prices } : {}), maxLanes: maxSessions * 4 })
  /** Armed state per session (context) and per account · window (quota): true once fired, until it falls back. */
  let fired = new Map<string, boolean>()
  let models = new Map<string, string>()
  const remember = <T>(m: Map<string, T>, k: string, v: T): void => {
    m.delete(k)
    m.set(k, v)
    if (m.size > maxSessions * 8) {
      const oldest = m.keys().next().value
      if (oldest !== undefined) m.delete(oldest)
    }
  }

  function emit(call: InsightCall, kind: AlertKind, message: string, extra: Partial<Alert>): void {
    const a: Alert = { kind, at: call.started_at, session_id: call.session_id, flow_id: call.flow_id, key: call.key, message, ...extra }
    if (call.agent !== undefined) a.agent = call.agent
    options.onAlert(a)
  }

  /** Fires once when `value` reaches `threshold`; re-arms when it falls back under. */
  function crossing(k: string, above: boolean): boolean {
    const was = fired.get(k) === true
    if (above === was) return false
    remember(fired, k, above)
    return above
  }

  return {
    feed(call) {
      if (call.kind === 'aux' || call.usage === undefined) return
      const model = call.model ?? call.request.model
      const agentKey = `${call.session_id} · ${call.agent ?? 'main'}`
      const prevModel = models.get(agentKey)
      if (model !== undefined) {
        if (prevModel !== undefined && prevModel !== model) emit(call, 'model_switch', `model switch in session ${call.session_id}${call.agent ? ` (${call.agent})` : ''}: ${prevModel} → ${model}`, { models: { from: prevModel, to: model } })
        remember(models, agentKey, model)
      }
      const b = analyzer.feed(call)
      if (b !== undefined && b.wasted_usd >= (options.minBreakUsd ?? 0)) {
        emit(call, 'cache_break', `cache break in ${laneOf(call)}: ${b.cause}${b.change ? ` (${b.change})` : ''} — ${b.detail}; ${b.lost_tokens} tokens rewritten, ${usd(b.wasted_usd)}`, { break: b })
      }
      if (call.agent === undefined) {
        const u = call.usage
        const tokens = u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h
        const w = contextWindowOf(model, windows)
        if (w !== undefined && crossing(`ctx\u0000${call.session_id}`, tokens / w >= ctxT)) {
          emit(call, 'context', `context of session ${call.session_id} at ${pct(tokens / w)} of ${model}'s ${w} tokens (${tokens})`, { context: { tokens, window: w, ratio: Math.round((tokens / w) * 1e4) / 1e4 } })
        }
      }
      const account = `${call.provider ?? 'unknown'} · ${call.client ?? 'unknown'}`
      for (const r of readQuota(call.rate_limits, call.ended_at ?? call.started_at)) {
        if (crossing(`q\u0000${account}\u0000${r.window}`, r.used >= quotaT)) {
          const q: NonNullable<Alert['quota']> = { account, window: r.window, used: r.used }
          if (r.reset !== undefined) q.reset = r.reset
          emit(call, 'quota', `quota ${r.window} of ${account} at ${pct(r.used)}${r.reset ? ` (resets ${r.reset})` : ''}, reported by session ${call.session_id}`, { quota: q })
        }
      }
    },
    reset() {
      analyzer.reset()
      fired = new Map()
      models = new Map()
    },
  }
}
