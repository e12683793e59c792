/**
 * Codex's rate-limit state sent inside the stream (`codex.rate_limits`), and the one naming it
 * shares with the `x-codex-*` response headers, so a reader of either sees the same fact.
 */
import type { RateLimitsEvent, RateLimitWindow, StreamProvider } from './types.js'

/** The JSON `type` (and SSE event name) of Codex's in-stream rate-limit event. */
export const CODEX_RATE_LIMITS_EVENT = 'codex.rate_limits'

const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)

function windowOf(v: unknown): RateLimitWindow | undefined {
  const w = obj(v)
  const used = num(w?.['used_percent'])
  if (w === undefined || used === undefined) return undefined
  const out: RateLimitWindow = { used_percent: used }
  const minutes = num(w['window_minutes'])
  if (minutes !== undefined) out.window_minutes = minutes
  // The server writes `reset_at`; Codex's own snapshots (rollout files, app events) `resets_at`.
  const at = num(w['reset_at']) ?? num(w['resets_at'])
  if (at !== undefined) out.resets_at = at
  const after = num(w['resets_in_seconds']) ?? num(w['reset_after_seconds'])
  if (after !== undefined) out.resets_in_seconds = after
  return out
}

/** `codex-other` → `codex_other`: the limit id as Codex normalises it. */
const limitId = (name: string): string => name.toLowerCase().replace(/-/g, '_')

/**
 * A parsed `codex.rate_limits` event → a {@link RateLimitsEvent}, or undefined when it carries no
 * window, plan or credits. Reads the windows under `rate_limits` (the server's shape) or at the top
 * level (older servers).
 */
export function readCodexRateLimits(v: Record<string, unknown>, flow_id: string, provider: StreamProvider): RateLimitsEvent | undefined {
  const details = obj(v['rate_limits']) ?? v
  const e: RateLimitsEvent = { type: 'rate_limits', flow_id, provider, limit_id: limitId(str(v['metered_limit_name']) ?? str(v['limit_name']) ?? 'codex') }
  const primary = windowOf(details['primary'])
  if (primary !== undefined) e.primary = primary
  const secondary = windowOf(details['secondary'])
  if (secondary !== undefined) e.secondary = secondary
  const plan = str(v['plan_type'])
  if (plan !== undefined) e.plan_type = plan
  const c = obj(v['credits'])
  if (c !== undefined && typeof c['has_credits'] === 'boolean' && typeof c['unlimited'] === 'boolean') {
    e.credits = { has_credits: c['has_credits'], unlimited: c['unlimited'] }
    const balance = str(c['balance'])
    if (balance !== undefined) e.credits.balance = balance
  }
  return e.primary === undefined && e.secondary === undefined && e.plan_type === undefined && e.credits === undefined ? undefined : e
}

/**
 * The header-name prefix of a limit: `x-codex` for the default `codex` limit, `x-codex-other` for
 * `codex_other` (the family Codex reads from `x-<limit>-primary-used-percent`).
 */
export function rateLimitPrefix(limit_id: string): string {
  return `x-${limit_id.toLowerCase().replace(/_/g, '-')}`
}

/**
 * A {@link RateLimitsEvent} written with the names of the `x-codex-*` response headers that carry
 * the same fact (`x-codex-primary-used-percent`, `-window-minutes`, `-reset-at`,
 * `-reset-after-seconds`, `x-codex-plan-type`, `x-codex-credits-has-credits` / `-unlimited` /
 * `-balance`), values as strings, as a header map holds them.
 *
 * @example
 * rateLimitHeaders({ type: 'rate_limits', flow_id: 'f', provider: 'openai-responses', limit_id: 'codex', primary: { used_percent: 81, window_minutes: 300 } })
 * // { 'x-codex-primary-used-percent': '81', 'x-codex-primary-window-minutes': '300' }
 */
export function rateLimitHeaders(e: Pick<RateLimitsEvent, 'limit_id' | 'primary' | 'secondary' | 'plan_type' | 'credits'>): Record<string, string> {
  const p = rateLimitPrefix(e.limit_id)
  const out: Record<string, string> = {}
  for (const [which, w] of [['primary', e.primary], ['secondary', e.secondary]] as const) {
    if (w === undefined) continue
    out[`${p}-${which}-used-percent`] = String(w.used_percent)
    if (w.window_minutes !== undefined) out[`${p}-${which}-window-minutes`] = String(w.window_minutes)
    if (w.resets_at !== undefined) out[`${p}-${which}-reset-at`] = String(w.resets_at)
    if (w.resets_in_seconds !== undefined) out[`${p}-${which}-reset-after-seconds`] = String(w.resets_in_seconds)
  }
  if (e.plan_type !== undefined) out['x-codex-plan-type'] = e.plan_type
  if (e.credits !== undefined) {
    out['x-codex-credits-has-credits'] = String(e.credits.has_credits)
    out['x-codex-credits-unlimited'] = String(e.credits.unlimited)
    if (e.credits.balance !== undefined) out['x-codex-credits-balance'] = e.credits.balance
  }
  return out
}
