/**
 * The session timeline and alert badges of the web view, from the planted-break corpus
 * (test-support/cache-corpus.ts) fed in capture order as a proxy hands records over: the
 * planted breaks show as alerts on their flows' rows, the session view carries the plot.
 */
import { describe, expect, it } from 'vitest'
import { buildCorpus } from '../../../test-support/cache-corpus.js'
import { createFlowIndex } from '../src/flow-index.js'
import { timelineSvg } from '../src/timeline-svg.js'
import { fixtureRecords } from './helpers.js'

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

  it('a session compacted twice: both compactions marked (the second summary replaced the first)', () => {
    const pts = idx.timeline('sess-recompaction')
    expect(pts).toHaveLength(9)
    expect(pts.flatMap((p, i) => (p.compaction ? [i] : []))).toEqual([3, 7])
  })
})

describe('Codex quota from the codex.rate_limits stream event (fixture standalone/codex-rate-limits)', () => {
  const recs = fixtureRecords('standalone/codex-rate-limits')
  const idx = createFlowIndex({ now: () => Date.parse('2026-11-20T12:00:00Z') })
  for (const r of recs) idx.feed(r)
  const sid = (flow: string): string => String(recs.find((r) => r['flow_id'] === flow)?.['session_id'])

  it('each session\'s points carry the quota the stream event reported, not the older headers', () => {
    expect(idx.timeline(sid('cx-rl-1')).map((p) => p.quota)).toEqual([{ '5h': 0.78, '7d': 0.39 }, { '5h': 0.82, '7d': 0.4 }])
    expect(idx.timeline(sid('cx-rl-ws')).map((p) => p.quota)).toEqual([{ '5h': 0.84, '7d': 0.41 }, { '5h': 0.86, '7d': 0.42 }, { '5h': 0.86, '7d': 0.42 }])
  })

  it('the quota alert fires once, at the crossing of 80 % (flow 2\'s event; the headers said 78 %)', () => {
    const quota = idx.list().flatMap((f) => (f.alerts ?? []).filter((a) => a.startsWith('quota')).map((a) => [f.flow_id, a]))
    expect(quota).toEqual([['cx-rl-2', expect.stringMatching(/^quota 5h of openai · codex at 82 % \(resets 2026-11-20T15:00:00.000Z\), reported by session 019b1c2d-3e4f-7a5b-8c6d-7e8f9a0b1c2d$/)]])
  })
})
