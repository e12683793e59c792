import { describe, expect, it } from 'vitest'
import { createAlertMonitor, type Alert } from './alerts.js'
import type { InsightCall } from './types.js'

let n = 0
const call = (min: number, tokens: number, util: string, extra: Partial<InsightCall> = {}): InsightCall => ({
  key: `k${++n}`, flow_id: `f${n}`, session_id: 's', started_at: new Date(Date.UTC(2026, 10, 20, 10, min)).toISOString(), ended_at: new Date(Date.UTC(2026, 10, 20, 10, min, 10)).toISOString(),
  model: 'claude-sonnet-4-5-20250929', provider: 'anthropic', client: 'claude-code', rate_limits: { 'anthropic-ratelimit-unified-5h-utilization': util },
  usage: { input: 0, cache_read: tokens - 100, cache_write_5m: 100, cache_write_1h: 0, output: 5 }, request: {}, ...extra,
})

describe('createAlertMonitor', () => {
  it('context and quota fire once per crossing and re-arm after falling back; a model switch and a cache break raise one line each', () => {
    const alerts: Alert[] = []
    const m = createAlertMonitor({ onAlert: (a) => alerts.push(a) })
    m.feed(call(0, 100_000, '0.5'))
    m.feed(call(1, 165_000, '0.79'))
    m.feed(call(2, 170_000, '0.81'))
    m.feed(call(3, 175_000, '0.85'))
    m.feed(call(4, 20_000, '0.9'))
    m.feed(call(5, 30_000, '0.05'))
    m.feed(call(6, 170_000, '0.82'))
    const kinds = alerts.map((a) => `${a.kind}@${a.key}`)
    expect(kinds.filter((k) => k.startsWith('context'))).toEqual(['context@k2', 'context@k7'])
    expect(kinds.filter((k) => k.startsWith('quota'))).toEqual(['quota@k3', 'quota@k7'])
    // The drop to 20k tokens read less than the 175k cached: a cache break (no segments: cause unknown).
    expect(kinds.filter((k) => k.startsWith('cache_break'))).toEqual(['cache_break@k5'])
    alerts.length = 0
    m.feed(call(7, 171_000, '0.82', { model: 'claude-opus-4-5', usage: { input: 0, cache_read: 0, cache_write_5m: 171_000, cache_write_1h: 0, output: 5 } }))
    expect(alerts.map((a) => a.kind)).toEqual(['model_switch', 'cache_break'])
    expect(alerts[0]!.message).toBe('model switch in session s: claude-sonnet-4-5-20250929 → claude-opus-4-5')
    expect(JSON.parse(JSON.stringify(alerts[1]))).toMatchObject({ kind: 'cache_break', break: { cause: 'model_switch' } })
  })
})
