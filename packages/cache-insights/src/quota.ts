/**
 * Quota over time: the rate-limit state each response reported in its headers (Anthropic's
 * unified 5-hour and 7-day utilization, per-token-type limits; Codex's primary and secondary
 * windows), and each change attributed to the session whose response reported it. Pure.
 */
import type { InsightCall } from './types.js'

/** One quota window's state as one response reported it. */
export interface QuotaReading {
  /** `5h`, `7d` (Anthropic unified; Codex primary/secondary by their window length), `requests`, `tokens`, `input-tokens`, `output-tokens` (per-minute limits). */
  window: string
  /** Fraction of the window used (0–1; may pass 1 when over). */
  used: number
  /** When the window resets (ISO), when reported. */
  reset?: string
  /** `allowed`, `allowed_warning`, `rejected`, when reported. */
  status?: string
}

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v.trim() === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

/** An epoch (seconds) or ISO time as ISO; a relative "seconds from now" when `base` is given. */
function isoOf(v: string | undefined, baseMs?: number): string | undefined {
  if (v === undefined) return undefined
  const n = num(v)
  if (n !== undefined) {
    if (baseMs !== undefined) return new Date(baseMs + n * 1000).toISOString()
    return new Date(n > 1e12 ? n : n * 1000).toISOString()
  }
  const t = Date.parse(v)
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined
}

const windowName = (minutes: number | undefined, fallback: string): string => {
  if (minutes === undefined) return fallback
  if (minutes % 1440 === 0) return `${minutes / 1440}d`
  if (minutes % 60 === 0) return `${minutes / 60}h`
  return `${minutes}m`
}

/**
 * The quota windows a response's rate-limit headers report (names lower-cased, as the ledger keeps them).
 * @param headers - `ModelCall.rate_limits`
 * @param at - when the response came (ISO), for Codex's relative reset times
 * @example
 * readQuota({ 'anthropic-ratelimit-unified-5h-utilization': '0.42', 'anthropic-ratelimit-unified-5h-reset': '1764871200' })
 * // [{ window: '5h', used: 0.42, reset: '2025-12-04T18:00:00.000Z' }]
 */
export function readQuota(headers: Readonly<Record<string, string>> | undefined, at?: string): QuotaReading[] {
  if (headers === undefined) return []
  const out: QuotaReading[] = []
  const h = (k: string): string | undefined => headers[k]
  const status = h('anthropic-ratelimit-unified-status')
  for (const w of ['5h', '7d', '7d_opus', '7d_sonnet']) {
    const used = num(h(`anthropic-ratelimit-unified-${w}-utilization`))
    if (used === undefined) continue
    const r: QuotaReading = { window: w, used }
    const reset = isoOf(h(`anthropic-ratelimit-unified-${w}-reset`))
    if (reset !== undefined) r.reset = reset
    const st = h(`anthropic-ratelimit-unified-${w}-status`) ?? status
    if (st !== undefined) r.status = st
    out.push(r)
  }
  for (const t of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    const limit = num(h(`anthropic-ratelimit-${t}-limit`) ?? h(`x-ratelimit-limit-${t}`))
    const remaining = num(h(`anthropic-ratelimit-${t}-remaining`) ?? h(`x-ratelimit-remaining-${t}`))
    if (limit === undefined || remaining === undefined || limit <= 0) continue
    const r: QuotaReading = { window: t, used: Math.round((1 - remaining / limit) * 1e6) / 1e6 }
    const reset = isoOf(h(`anthropic-ratelimit-${t}-reset`))
    if (reset !== undefined) r.reset = reset
    out.push(r)
  }
  const base = at !== undefined && Number.isFinite(Date.parse(at)) ? Date.parse(at) : undefined
  for (const [which, fallback] of [['primary', '5h'], ['secondary', '7d']] as const) {
    const pct = num(h(`x-codex-${which}-used-percent`))
    if (pct === undefined) continue
    const r: QuotaReading = { window: windowName(num(h(`x-codex-${which}-window-minutes`)), fallback), used: Math.round(pct * 1e4) / 1e6 }
    const reset = isoOf(h(`x-codex-${which}-reset-at`)) ?? (base !== undefined ? isoOf(h(`x-codex-${which}-reset-after-seconds`), base) : undefined)
    if (reset !== undefined) r.reset = reset
    out.push(r)
  }
  return out
}

/** A fall in usage larger than this (a fraction of the window) is a new window even when no reset time says so. */
const RESET_DROP = 0.1

/** One reading on the quota timeline, with the change since the account's previous reading. */
export interface QuotaPoint extends QuotaReading {
  key: string
  flow_id: string
  session_id: string
  /** When the response reported it (the call's end, else its start). */
  at: string
  /** `provider · client`: the quota is the account's, shared by its sessions. */
  account: string
  /** Change since the previous reading of this account and window (after a reset: the new window's usage); 0 for the first. */
  delta: number
  /** The window was reset since the previous reading. */
  reset_seen?: boolean
}

/** A session's part of the observed quota change of one window. */
export interface QuotaShare {
  account: string
  window: string
  session_id: string
  /** Sum of the changes its responses reported. */
  used: number
}

/**
 * The quota timeline: every reading of every response, in the order the responses came, with each
 * change attributed to the session whose response reported it. Interleaved sessions of one account
 * share its windows; their shares of a window sum to the observed change (the highest reading minus
 * the first, plus each new window's usage after a reset). A window is new when its reset time moved
 * on or usage fell by more than 10 points; a smaller fall (responses reported out of order) counts
 * as no change.
 * @example
 * const { points, shares } = quotaTimeline(calls)
 * shares.filter((s) => s.window === '5h') // [{ session_id: 'a', used: 0.07 }, { session_id: 'b', used: 0.02 }]
 */
export function quotaTimeline(calls: Iterable<InsightCall>): { points: QuotaPoint[]; shares: QuotaShare[] } {
  const at = (c: InsightCall): string => c.ended_at ?? c.started_at
  const sorted = [...calls].filter((c) => c.rate_limits !== undefined).sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : a.key < b.key ? -1 : 1))
  const last = new Map<string, QuotaReading>()
  const shares = new Map<string, QuotaShare>()
  const points: QuotaPoint[] = []
  for (const c of sorted) {
    const account = `${c.provider ?? 'unknown'} · ${c.client ?? 'unknown'}`
    for (const r of readQuota(c.rate_limits, at(c))) {
      const k = `${account}\u0000${r.window}`
      const prev = last.get(k)
      let delta = 0
      let reset = false
      let keep = r
      if (prev !== undefined) {
        // A new window: its reset time moved on, or usage fell by more than RESET_DROP. A smaller
        // fall is two responses reported out of order: no change, the higher reading stays.
        reset = (prev.reset !== undefined && r.reset !== undefined && r.reset > prev.reset) || r.used < prev.used - RESET_DROP
        if (reset) delta = r.used
        else if (r.used >= prev.used) delta = r.used - prev.used
        else keep = prev
      }
      delta = Math.round(delta * 1e9) / 1e9
      last.set(k, keep)
      const p: QuotaPoint = { ...r, key: c.key, flow_id: c.flow_id, session_id: c.session_id, at: at(c), account, delta }
      if (reset) p.reset_seen = true
      points.push(p)
      const sk = `${k}\u0000${c.session_id}`
      const s = shares.get(sk) ?? { account, window: r.window, session_id: c.session_id, used: 0 }
      s.used = Math.round((s.used + delta) * 1e9) / 1e9
      shares.set(sk, s)
    }
  }
  return { points, shares: [...shares.values()] }
}
