import { describe, expect, it } from 'vitest'
import { quotaTimeline, readQuota } from './quota.js'
import type { InsightCall } from './types.js'

const call = (key: string, session: string, min: number, h: Record<string, string>): InsightCall => ({
  key, flow_id: key, session_id: session, started_at: new Date(Date.UTC(2026, 10, 20, 10, min)).toISOString(), ended_at: new Date(Date.UTC(2026, 10, 20, 10, min, 30)).toISOString(),
  provider: 'anthropic', client: 'claude-code', rate_limits: h, request: {},
})
const u5 = (x: string, reset = '1763640000'): Record<string, string> => ({ 'anthropic-ratelimit-unified-5h-utilization': x, 'anthropic-ratelimit-unified-5h-reset': reset, 'anthropic-ratelimit-unified-status': 'allowed' })

describe('readQuota', () => {
  it('Anthropic unified windows, per-token-type limits and Codex primary/secondary windows', () => {
    expect(readQuota({ ...u5('0.42'), 'anthropic-ratelimit-unified-7d-utilization': '0.1' })).toEqual([
      { window: '5h', used: 0.42, reset: '2025-11-20T12:00:00.000Z', status: 'allowed' },
      { window: '7d', used: 0.1, status: 'allowed' },
    ])
    expect(readQuota({ 'anthropic-ratelimit-input-tokens-limit': '400000', 'anthropic-ratelimit-input-tokens-remaining': '100000' })).toEqual([{ window: 'input-tokens', used: 0.75 }])
    expect(readQuota({ 'x-codex-primary-used-percent': '81', 'x-codex-primary-window-minutes': '300', 'x-codex-primary-reset-after-seconds': '60', 'x-codex-secondary-used-percent': '12.5', 'x-codex-secondary-window-minutes': '10080' }, '2026-11-20T10:00:00.000Z')).toEqual([
      { window: '5h', used: 0.81, reset: '2026-11-20T10:01:00.000Z' },
      { window: '7d', used: 0.125 },
    ])
    expect(readQuota(undefined)).toEqual([])
    expect(readQuota({ 'anthropic-ratelimit-unified-5h-utilization': 'junk' })).toEqual([])
  })
})

describe('quotaTimeline', () => {
  it('interleaved sessions: each change goes to the session whose response reported it; shares sum to the observed change', () => {
    const calls = [call('a1', 'A', 0, u5('0.10')), call('b1', 'B', 1, u5('0.13')), call('a2', 'A', 2, u5('0.20')), call('b2', 'B', 3, u5('0.21')), call('a3', 'A', 4, u5('0.35'))]
    const { points, shares } = quotaTimeline(calls)
    expect(points.map((p) => p.delta)).toEqual([0, 0.03, 0.07, 0.01, 0.14])
    const a = shares.find((s) => s.session_id === 'A')!.used
    const b = shares.find((s) => s.session_id === 'B')!.used
    expect(a).toBeCloseTo(0.21, 9)
    expect(b).toBeCloseTo(0.04, 9)
    expect(a + b).toBeCloseTo(0.35 - 0.1, 9)
  })

  it('after a reset the new window’s usage counts from zero', () => {
    const { points, shares } = quotaTimeline([call('a1', 'A', 0, u5('0.90')), call('a2', 'A', 1, u5('0.95')), call('b1', 'B', 2, u5('0.02', '1763658000')), call('b2', 'B', 3, u5('0.05', '1763658000'))])
    expect(points.map((p) => [p.delta, p.reset_seen ?? false])).toEqual([[0, false], [0.05, false], [0.02, true], [0.03, false]])
    expect(shares.map((s) => [s.session_id, s.used])).toEqual([['A', 0.05], ['B', 0.05]])
  })
})

describe('quotaTimeline: order', () => {
  it('a small fall (responses reported out of order) is no change; the higher reading stays', () => {
    const { points, shares } = quotaTimeline([call('a1', 'A', 0, u5('0.30')), call('b1', 'B', 1, u5('0.34')), call('a2', 'A', 2, u5('0.33')), call('b2', 'B', 3, u5('0.36'))])
    expect(points.map((p) => p.delta)).toEqual([0, 0.04, 0, 0.02])
    expect(shares.reduce((a, s) => a + s.used, 0)).toBeCloseTo(0.06, 9)
  })
})
