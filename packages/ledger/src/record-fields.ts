/**
 * Reading the fields of canonical records (unknown extras kept, wrong types ignored) and of the
 * flow's response headers.
 */
import { rateLimitHeaders, type RateLimitsEvent, type StreamProvider } from '@agenttap/stream-normalizer'
import type { CallApi } from './types.js'

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
export const isRef = (v: unknown): v is { $ref: string } => isObj(v) && typeof v['$ref'] === 'string'

export function apiOf(provider: StreamProvider): CallApi {
  return provider === 'anthropic' ? 'anthropic-messages' : provider === 'openai-responses' ? 'openai-responses' : provider === 'openai-chat' ? 'openai-chat' : 'unknown'
}
export function providerOfApi(api: CallApi): StreamProvider | undefined {
  return api === 'anthropic-messages' ? 'anthropic' : api === 'openai-responses' ? 'openai-responses' : api === 'openai-chat' ? 'openai-chat' : undefined
}

/** Header names of a response that say something about rate limits (lower-cased). */
export const RATE_LIMIT_HEADER = /ratelimit|rate-limit|^retry-after$|^x-should-retry$|^x-codex-.*(?:percent|window|reset)|^x-codex-credits-|^x-codex-plan-type$/

export function headerValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string').join(', ')
  return undefined
}

export function rateLimits(headers: unknown): Record<string, string> | undefined {
  if (!isObj(headers)) return undefined
  let out: Record<string, string> | undefined
  for (const k of Object.keys(headers)) {
    const name = k.toLowerCase()
    if (!RATE_LIMIT_HEADER.test(name)) continue
    const v = headerValue(headers[k])
    if (v === undefined) continue
    ;(out ??= {})[name] = v
  }
  return out
}

/**
 * A flow's rate-limit state after a `rate_limits` stream event (Codex's `codex.rate_limits`): the
 * event is later than the response headers (and than an earlier event), so each window, the plan
 * and the credits it reports replace what `limits` said of them; what it does not report stays.
 * A new object: calls already emitted keep theirs.
 */
export function withStreamLimits(limits: Readonly<Record<string, string>> | undefined, e: RateLimitsEvent): Record<string, string> {
  const fresh = rateLimitHeaders(e)
  const names = Object.keys(fresh)
  // The families the event replaces whole: `x-codex-primary-`, `x-codex-credits-`, …
  const families = new Set(names.map((n) => n.replace(/-(?:used-percent|window-minutes|reset-at|reset-after-seconds|has-credits|unlimited|balance)$/, '-')))
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(limits ?? {})) {
    let replaced = false
    for (const f of families) if (k.startsWith(f)) replaced = true
    if (!replaced) out[k] = v
  }
  return Object.assign(out, fresh)
}

export function header(headers: unknown, name: string): string | undefined {
  if (!isObj(headers)) return undefined
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return headerValue(headers[k])
  return undefined
}

export function urlParts(url: string | undefined): { host?: string; path?: string } {
  if (url === undefined) return {}
  const scheme = url.indexOf('://')
  if (scheme === -1) return { path: url.split(/[?#]/)[0] ?? url }
  const rest = url.slice(scheme + 3)
  const slash = rest.search(/[/?#]/)
  const host = (slash === -1 ? rest : rest.slice(0, slash)).replace(/^.*@/, '')
  const path = slash === -1 ? '/' : (rest.slice(slash).split(/[?#]/)[0] || '/')
  return { host, path }
}

export const msBetween = (a: string | undefined, b: string | undefined): number | undefined => {
  if (a === undefined || b === undefined) return undefined
  const d = Date.parse(b) - Date.parse(a)
  return Number.isFinite(d) ? d : undefined
}
