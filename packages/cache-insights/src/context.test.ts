import { describe, expect, it } from 'vitest'
import { contextTimeline, contextWindowOf } from './context.js'
import type { InsightCall } from './types.js'

const call = (key: string, min: number, tokens: number, extra: Partial<InsightCall> = {}): InsightCall => ({
  key, flow_id: key, session_id: 's', started_at: new Date(Date.UTC(2026, 10, 20, 10, min)).toISOString(), model: 'claude-sonnet-4-5-20250929',
  usage: { input: 10, cache_read: tokens - 110, cache_write_5m: 100, cache_write_1h: 0, output: 5 }, request: {}, ...extra,
})

describe('context', () => {
  it('windows by the longest model prefix', () => {
    expect(contextWindowOf('claude-opus-4-5')).toBe(200_000)
    expect(contextWindowOf('gpt-5-codex')).toBe(272_000)
    expect(contextWindowOf('llama')).toBeUndefined()
  })

  it('main lane only, ratio of the window, compaction by summary and by a drop', () => {
    const summary = { segments: [{ kind: 'message' as const, index: 0, label: 'user', hash: 'h', bytes: 10, summary: true }] }
    const pts = contextTimeline([
      call('c1', 0, 100_000),
      call('sub', 1, 150_000, { agent: 'x' }),
      call('c2', 2, 170_000),
      call('c3', 3, 30_000, { request: summary }),
      call('c4', 4, 40_000, { request: summary }),
      call('c5', 5, 15_000),
    ])
    expect(pts.map((p) => [p.key, p.context_tokens, p.ratio, p.compaction ?? null])).toEqual([
      ['c1', 100_000, 0.5, null], ['c2', 170_000, 0.85, null], ['c3', 30_000, 0.15, 'summary'], ['c4', 40_000, 0.2, null], ['c5', 15_000, 0.075, 'drop'],
    ])
  })

  it('compacted again: a new summary where the history began with an earlier one', () => {
    const summary = (hash: string) => ({ segments: [{ kind: 'message' as const, index: 0, label: 'user', hash, bytes: 10, summary: true }] })
    const pts = contextTimeline([
      call('c1', 0, 120_000),
      call('c2', 1, 30_000, { request: summary('a') }),
      call('c3', 2, 90_000, { request: summary('a') }),
      // Not halved: only the summary's hash tells.
      call('c4', 3, 50_000, { request: summary('b') }),
      call('c5', 4, 60_000, { request: summary('b') }),
      // Without segments (only the has_summary flag), a summary after a summary is not told apart.
      call('c6', 5, 40_000, { request: { has_summary: true } }),
    ])
    expect(pts.map((p) => [p.key, p.compaction ?? null])).toEqual([['c1', null], ['c2', 'summary'], ['c3', null], ['c4', 'summary'], ['c5', null], ['c6', null]])
  })
})
