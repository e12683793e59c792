/**
 * A session's context and quota over time as an SVG plot (the web view's session tab): context
 * tokens as a share of the model's window, the 5-hour and 7-day quota windows, the 80 % alert
 * line, compactions and alerts as markers. Server-side: every text is escaped.
 */

/** One point of a session's timeline. */
export interface TimelinePoint {
  /** ms since the epoch (the call's start). */
  t: number
  /** Context tokens / window, when the window is known. */
  context?: number
  context_tokens?: number
  /** Quota windows' used fractions, as the call's response reported them. */
  quota?: Record<string, number>
  compaction?: boolean
  /** Alert messages the call raised. */
  alerts?: string[]
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const W = 720
const H = 200
const L = 44
const R = 12
const T = 14
const B = 28
const SERIES: [string, string][] = [['5h', '#e08a00'], ['7d', '#8a8a8a']]

/**
 * The plot of a session's timeline, or a short SVG that says there is nothing to plot.
 * @example
 * timelineSvg([{ t: 0, context: 0.4, quota: { '5h': 0.1 } }, { t: 60_000, context: 0.82, quota: { '5h': 0.14 } }])
 */
export function timelineSvg(points: readonly TimelinePoint[]): string {
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="context and quota over time">`
  if (points.length === 0) return `${head}<text x="${L}" y="${H / 2}" fill="#888" font-size="12">no model call with usage in this session yet</text></svg>`
  const t0 = points[0]!.t
  const t1 = Math.max(t0 + 1, points[points.length - 1]!.t)
  const maxY = Math.max(1, ...points.map((p) => p.context ?? 0), ...points.flatMap((p) => Object.values(p.quota ?? {})))
  const x = (t: number): number => L + ((t - t0) / (t1 - t0)) * (W - L - R)
  const y = (v: number): number => T + (1 - v / maxY) * (H - T - B)
  const parts: string[] = [head, `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#ccc"/>`]
  for (const v of [0, 0.5, 1]) parts.push(`<text x="${L - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end" fill="#888">${Math.round(v * 100)} %</text>`)
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(0.8)}" y2="${y(0.8)}" stroke="#c33" stroke-dasharray="4 3"><title>80 %: alert threshold</title></line>`)
  const fmtT = (t: number): string => new Date(t).toISOString().slice(11, 16)
  parts.push(`<text x="${L}" y="${H - 8}" font-size="10" fill="#888">${fmtT(t0)} UTC</text><text x="${W - R}" y="${H - 8}" font-size="10" text-anchor="end" fill="#888">${fmtT(t1)} UTC</text>`)
  const path = (vals: [number, number][]): string => vals.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
  const ctx = points.filter((p) => p.context !== undefined).map((p) => [p.t, p.context!] as [number, number])
  if (ctx.length > 0) parts.push(`<path class="context" d="${path(ctx)}" fill="none" stroke="#2b6cb0" stroke-width="2"><title>context / window</title></path>`)
  for (const [w, color] of SERIES) {
    const q = points.filter((p) => p.quota?.[w] !== undefined).map((p) => [p.t, p.quota![w]!] as [number, number])
    if (q.length > 0) parts.push(`<path class="quota-${w}" d="${path(q)}" fill="none" stroke="${color}" stroke-width="1.5"><title>quota ${w}</title></path>`)
  }
  for (const p of points) {
    if (p.compaction) parts.push(`<line class="compaction" x1="${x(p.t).toFixed(1)}" x2="${x(p.t).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#6b46c1" stroke-dasharray="2 2"><title>compaction at ${esc(new Date(p.t).toISOString())}</title></line>`)
    if (p.alerts && p.alerts.length > 0) parts.push(`<circle class="alert" cx="${x(p.t).toFixed(1)}" cy="${(T + 6).toFixed(1)}" r="4" fill="#c33"><title>${esc(p.alerts.join('\n'))}</title></circle>`)
  }
  const legend = [['context', '#2b6cb0'], ['quota 5h', '#e08a00'], ['quota 7d', '#8a8a8a']]
  legend.forEach(([name, color], i) => parts.push(`<text x="${L + 8 + i * 90}" y="${T + 12}" font-size="10" fill="${color}">■ ${name}</text>`))
  parts.push('</svg>')
  return parts.join('')
}
