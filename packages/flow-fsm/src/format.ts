import type { CallError, CallUsage, ModelCall } from '@agenttap/ledger'
import { sanitizeText } from './render-ops.js'

/**
 * The one set of formatters every live view (terminal monitor, proxy-attached monitor, web view)
 * uses for durations, token counts, error lines and the end line of a model call, so the same
 * call reads the same everywhere.
 */

/**
 * A token count, short: `999`, `1.3k`, `14k`, `2.5M`.
 *
 * @example formatTokens(14210) // '14k'
 */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n)
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`
  return `${(n / 1_000_000).toFixed(1)}M`
}

/**
 * A duration: `497 ms`, `12.3 s`, `2m05s`.
 *
 * @example formatDuration(30432) // '30.4 s'
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/**
 * Token usage of a call, in the ledger's terms: `in` is the prompt billed at the base price
 * (cache reads and writes apart), `out` includes reasoning.
 *
 * @example usageText({ input: 9, cache_read: 14210, cache_write_5m: 1320, cache_write_1h: 0, output: 187 })
 * // 'in 9 (cache read 14k, cache write 1.3k) · out 187'
 */
export function usageText(u: CallUsage): string {
  let tin = `in ${formatTokens(u.input)}`
  const cache: string[] = []
  if (u.cache_read) cache.push(`cache read ${formatTokens(u.cache_read)}`)
  const write = u.cache_write_5m + u.cache_write_1h
  if (write) cache.push(`cache write ${formatTokens(write)}`)
  if (cache.length > 0) tin += ` (${cache.join(', ')})`
  let tout = `out ${formatTokens(u.output)}`
  if (u.reasoning) tout += ` (reasoning ${formatTokens(u.reasoning)})`
  return `${tin} · ${tout}`
}

/**
 * The error as one line: its type (else its code, else `error`), the code in parentheses when
 * both are known, then the message with line breaks folded. Control characters made visible.
 *
 * @example errorText({ type: 'overloaded_error', message: 'Overloaded' }) // 'overloaded_error: Overloaded'
 */
export function errorText(e: { type?: string | undefined; code?: string | undefined; message: string }): string {
  const head = `${e.type ?? e.code ?? 'error'}${e.type !== undefined && e.code !== undefined ? ` (${e.code})` : ''}`
  return sanitizeText(`${head}: ${e.message}`.replace(/\s*\n\s*/g, ' '))
}

/** The error line shown where a provider error arrives in a stream: `✗ ` + {@link errorText}. */
export function errorLine(e: { type?: string | undefined; code?: string | undefined; message: string }): string {
  return `✗ ${errorText(e)}`
}

/** Why a live view ended a call itself (no terminal event, no flow end). */
export type ViewEnding =
  /** Nothing arrived for the idle timeout. */
  | 'idle'
  /** The input ended (end of a replayed file, stdin closed) with the call still open. */
  | 'input ended'

/** What an end line needs of a call (a {@link ModelCall} has all of it). */
export type EndLineCall = Pick<ModelCall, 'outcome' | 'stop_reason' | 'model' | 'usage' | 'duration_ms' | 'http_status' | 'error'>

/**
 * The end line of a model call, the same in every view:
 * `■ completed · tool_use · claude-sonnet-4-5 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 497 ms`,
 * `✗ error · HTTP 529 · overloaded_error: Overloaded`, `✗ dead (idle) · …` when the view gave up
 * on a call that never ended. `failed` tells the view to show it as an error.
 *
 * @example endLine(call).text
 */
export function endLine(call: EndLineCall, ending?: ViewEnding): { text: string; failed: boolean } {
  const open = call.outcome === 'open'
  const failed =
    ending !== undefined ||
    open ||
    call.outcome !== 'completed' ||
    (call.http_status !== undefined && call.http_status >= 400) ||
    call.error !== undefined
  const parts: string[] = []
  const outcome = open ? 'dead' : call.outcome
  parts.push(ending !== undefined ? `${outcome} (${ending})` : outcome)
  if (call.stop_reason !== undefined && call.stop_reason !== call.outcome) parts.push(call.stop_reason)
  if (call.model !== undefined) parts.push(call.model)
  if (call.usage !== undefined) parts.push(usageText(call.usage))
  if (call.duration_ms !== undefined) parts.push(formatDuration(call.duration_ms))
  if (call.http_status !== undefined && call.http_status !== 200 && call.http_status !== 101) parts.push(`HTTP ${call.http_status}`)
  if (call.error !== undefined) parts.push(errorText(call.error as CallError).slice(0, 200))
  // Every part comes from captured data: control characters must not reach a terminal.
  return { text: sanitizeText(`${failed ? '✗' : '■'} ${parts.join(' · ')}`), failed }
}
