import { formatDuration, formatTokens } from '@agenttap/flow-fsm/format'
import type { FlowSummary } from '../types.js'

/** A flow's time in the list: time of day with ms today, else the date. */
export function fmtTime(ts: string): string {
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ts
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
  // Older than today: the date matters more than the milliseconds.
  return d.toDateString() === new Date().toDateString() ? time : `${p(d.getMonth() + 1)}-${p(d.getDate())} ${time.slice(0, 8)}`
}
// The formatters every view uses (flow-fsm's), so the page reads like the terminal.
/** A duration (`497 ms`, `12.3 s`), '' when unknown. */
export function fmtMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : formatDuration(ms)
}
/** A token count (`14k`), '–' when unknown. */
export function fmtN(n: number | undefined): string {
  return n === undefined ? '–' : formatTokens(n)
}
/** A short id for the list: the first 8 characters of a long one. */
export function short(id: string): string {
  return id.length > 10 ? id.slice(0, 8) : id
}
/** What the list's outcome column says: `streaming`, the calls' outcome, or `dead` / `done`. */
export function outcomeOf(f: FlowSummary): string {
  return f.state === 'STREAMING' ? 'streaming' : (f.outcome ?? (f.state === 'DEAD' ? 'dead' : 'done'))
}

