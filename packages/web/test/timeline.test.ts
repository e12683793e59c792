/**
 * The session timeline and alert badges of the web view, from the planted-break corpus
 * (test-support/cache-corpus.ts) fed in capture order as a proxy hands records over: the
 * planted breaks show as alerts on their flows' rows, the session view carries the plot.
 */
import { describe, expect, it } from 'vitest'
import { buildCorpus } from '../../../test-support/cache-corpus.js'
import { createFlowIndex } from '../src/flow-index.js'
import { timelineSvg } from '../src/timeline-svg.js'

describe('web timeline and alerts', () => {
  const corpus = buildCorpus()
  const idx = createFlowIndex({ now: () => Date.parse('2026-11-20T12:00:00Z') })
  for (const r of [...corpus.records].sort((a, b) => String(a['ts']).localeCompare(String(b['ts'])))) idx.feed(r)

  it('each planted break is an alert on its flow (the row badge); flows without one have none', () => {
    const withBreak = idx.list().filter((f) => (f.alerts ?? []).some((a) => a.startsWith('cache break')))
    expect(withBreak.map((f) => f.flow_id).sort()).toEqual(corpus.truths.map((t) => t.flow_id).sort())
    expect(idx.get('reminder-3')?.summary.alerts?.[0]).toMatch(/^cache break in sess-reminder · main · claude-sonnet-4-5-20250929: message_changed \(reminder\)/)
  })

  it('a session’s context and quota points, the compaction marked, plotted as an SVG path', () => {
    const pts = idx.timeline('sess-compaction')
    expect(pts).toHaveLength(8)
    expect(pts.every((p) => p.context !== undefined && p.quota?.['5h'] !== undefined)).toBe(true)
    expect(pts.flatMap((p, i) => (p.compaction ? [i] : []))).toEqual([5])
    expect(pts[5]!.alerts?.length).toBe(1)
    const svg = timelineSvg(pts)
    expect(svg).toContain('<path class="context"')
    expect(svg).toContain('class="compaction"')
    expect(svg).toContain('class="alert"')
    // Subagents are not the session's context: the main lane only.
    expect(idx.timeline('sess-main-with-agents')).toHaveLength(8)
  })
})
