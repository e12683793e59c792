/**
 * A cache divergence as a short diff: the first divergent segment of two requests, the bytes
 * around where they first differ, what was removed and what was added. Pure.
 */
import type { CallSegment } from '@agenttap/ledger'
import { firstDivergence, toolsDiff } from './breaks.js'

/** Options of {@link explainDivergence}. */
export interface ExplainOptions {
  /** Characters of context shown on each side of a change. @defaultValue 60 */
  context?: number
  /** Characters of a removed or added run shown before it is cut. @defaultValue 240 */
  maxRun?: number
}

/** The explanation: where the requests diverge and a few diff lines. */
export interface Explanation {
  /** Index of the first divergent segment (in cache order), or the common length when one extends the other. */
  segment: number
  /** Byte offset of that segment in the later request. */
  offset: number
  /** Byte offset of the first differing byte in the later request, when both segments' texts are known. */
  byte?: number
  /** `@@`, `-` and `+` lines. */
  lines: string[]
}

const name = (s: CallSegment): string => (s.kind === 'message' ? `message ${s.index} (${s.label})` : s.kind === 'tool' ? `tool ${s.label}` : `system block ${s.index}`)

const oneLine = (s: string): string => s.replace(/\\n/g, '⏎').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max >> 1)}…(${s.length - max} more)…${s.slice(s.length - (max >> 1))}`
}

const utf8 = (s: string): number => Buffer.byteLength(s)

/**
 * Explains where two requests' caches diverge. `texts` gives each segment's JSON by hash (the
 * ledger's `segmentTexts` content); without a text, the lines name the segments only.
 *
 * @example
 * explainDivergence(prev.request.segments, next.request.segments, texts).lines
 * // ['@@ message 3 (user) at byte 18211 (+37)', '- …"text":"<system-reminder>todo: 2 open</system-reminder>…', '+ …"text":"<system-reminder>todo: 1 open</system-reminder>…']
 */
export function explainDivergence(prev: readonly CallSegment[], next: readonly CallSegment[], texts: ReadonlyMap<string, string> = new Map(), options: ExplainOptions = {}): Explanation {
  const ctx = options.context ?? 60
  const maxRun = options.maxRun ?? 240
  const i = firstDivergence(prev, next)
  let offset = 0
  for (let k = 0; k < i && k < next.length; k++) offset += next[k]!.bytes
  const a = prev[i]
  const b = next[i]
  const lines: string[] = []
  if (a === undefined && b === undefined) return { segment: i, offset, lines: ['(no divergence: the requests are the same)'] }
  if (a === undefined || b === undefined) {
    const s = (a ?? b)!
    lines.push(`@@ ${name(s)} at byte ${offset}`)
    const t = texts.get(s.hash)
    lines.push(`${a !== undefined ? '-' : '+'} ${name(s)}${t !== undefined ? `: ${oneLine(cut(t, maxRun))}` : ` (${s.bytes} bytes)`}`)
    return { segment: i, offset, lines }
  }
  if (a.kind === 'tool' || b.kind === 'tool') {
    const d = toolsDiff(prev, next)
    lines.push(`@@ tools at byte ${offset}`)
    for (const n of d.removed) lines.push(`- tool ${n}`)
    for (const n of d.added) lines.push(`+ tool ${n}`)
    for (const n of d.edited) lines.push(`~ tool ${n} (definition changed)`)
    if (d.reordered) lines.push('~ tools reordered')
  }
  const ta = texts.get(a.hash)
  const tb = texts.get(b.hash)
  if (ta === undefined || tb === undefined) {
    if (lines.length === 0) lines.push(`@@ ${name(a)} at byte ${offset}`, `- ${name(a)} (${a.bytes} bytes, ${a.hash})`, `+ ${name(b)} (${b.bytes} bytes, ${b.hash})`)
    return { segment: i, offset, lines }
  }
  let p = 0
  const n = Math.min(ta.length, tb.length)
  while (p < n && ta.charCodeAt(p) === tb.charCodeAt(p)) p++
  let s = 0
  while (s < n - p && ta.charCodeAt(ta.length - 1 - s) === tb.charCodeAt(tb.length - 1 - s)) s++
  const byte = offset + utf8(tb.slice(0, p))
  const before = ta.slice(Math.max(0, p - ctx), p)
  const after = ta.slice(ta.length - s, Math.min(ta.length, ta.length - s + ctx))
  const lead = p > ctx ? '…' : ''
  const trail = s > ctx ? '…' : ''
  lines.push(`@@ ${name(b)} at byte ${byte} (segment at ${offset}, +${p} chars)`)
  lines.push(`- ${lead}${oneLine(before)}[${oneLine(cut(ta.slice(p, ta.length - s), maxRun))}]${oneLine(after)}${trail}`)
  lines.push(`+ ${lead}${oneLine(before)}[${oneLine(cut(tb.slice(p, tb.length - s), maxRun))}]${oneLine(after)}${trail}`)
  return { segment: i, offset, byte, lines }
}
