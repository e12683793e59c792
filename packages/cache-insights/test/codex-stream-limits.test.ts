/**
 * Codex's codex.rate_limits stream event (fixture standalone/codex-rate-limits, through the real
 * ledger) on the quota timeline and the live quota alert: the readings are the events', each
 * change attributed to the session whose response reported it, the alert fires once per crossing.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ledgerFromRecords, type ModelCall } from '@agenttap/ledger'
import { describe, expect, it } from 'vitest'
import { createAlertMonitor, quotaTimeline, type Alert } from '../src/index.js'

const records = readFileSync(join(import.meta.dirname, '..', '..', '..', 'fixtures', 'standalone', 'codex-rate-limits.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown>)
const S1 = '019b1c2d-3e4f-7a5b-8c6d-7e8f9a0b1c2d'
const S2 = '019b1c2d-3e4f-7a5b-8c6d-7e8f9a0b1c3e'

function calls(recs = records): ModelCall[] {
  const r = ledgerFromRecords(recs, { sessionChain: false })
  expect(r.errors).toEqual([])
  return r.calls
}

describe('quota from the codex.rate_limits stream event', () => {
  it('the timeline reads each call\'s event, and shares each window\'s change by session', () => {
    const { points, shares } = quotaTimeline(calls())
    expect(points.filter((p) => p.window === '5h').map((p) => [p.key, p.session_id === S1 ? 'S1' : 'S2', p.used, p.delta, p.reset])).toEqual([
      ['cx-rl-1#0', 'S1', 0.78, 0, '2026-11-20T15:00:00.000Z'],
      ['cx-rl-2#0', 'S1', 0.82, 0.04, '2026-11-20T15:00:00.000Z'],
      ['cx-rl-ws#0', 'S2', 0.84, 0.02, '2026-11-20T15:00:00.000Z'],
      ['cx-rl-ws#1', 'S2', 0.86, 0.02, '2026-11-20T15:00:00.000Z'],
      ['cx-rl-ws#2', 'S2', 0.86, 0, '2026-11-20T15:00:00.000Z'],
    ])
    const share = (w: string, s: string): number | undefined => shares.find((x) => x.window === w && x.session_id === s)?.used
    expect([share('5h', S1), share('5h', S2), share('7d', S1), share('7d', S2)]).toEqual([0.04, 0.04, 0.01, 0.02])
  })

  it('the live quota alert fires once when the 5-hour window crosses 80 % (the event of flow 2), not again while it stays above', () => {
    const alerts: Alert[] = []
    const m = createAlertMonitor({ onAlert: (a) => alerts.push(a) })
    for (const c of calls()) m.feed(c)
    expect(alerts.filter((a) => a.kind === 'quota').map((a) => [a.key, a.quota])).toEqual([['cx-rl-2#0', { account: 'openai · codex', window: '5h', used: 0.82, reset: '2026-11-20T15:00:00.000Z' }]])
  })

  it('it fires again after the window fell back under 80 % (an event of a new window) and crossed it once more', () => {
    // The second WebSocket response's event reports a fresh window at 10 %, the third one 81 %.
    const data = (primary: number): string => JSON.stringify({ type: 'codex.rate_limits', rate_limits: { primary: { used_percent: primary, window_minutes: 300, reset_at: 1795204800 } } })
    let n = 0
    const recs = records.map((r) => {
      if (r['flow_id'] !== 'cx-rl-ws' || r['type'] !== 'sse' || !String(r['data']).includes('codex.rate_limits')) return r
      n++
      return n === 2 ? { ...r, data: data(10) } : r
    })
    // The third response had no event: give it one right before its response.created.
    const third = recs.filter((r) => r['flow_id'] === 'cx-rl-ws' && r['type'] === 'sse' && String(r['data']).includes('"response.created"'))[2] as Record<string, unknown>
    const at = recs.indexOf(third)
    const withThird = [...recs.slice(0, at), { ...third, data: data(81) }, ...recs.slice(at)]
    // seq numbers stay the proxy's: the inserted event takes the response.created's, which moves up by one.
    let seq = 0
    const renumbered = withThird.map((r) => (r['flow_id'] === 'cx-rl-ws' && (r['type'] === 'sse' || r['type'] === 'client_frame') ? { ...r, seq: seq++ } : r))
    const ends = renumbered.map((r) => (r['type'] === 'flow_end' && r['flow_id'] === 'cx-rl-ws' ? { ...r, events: Number(r['events']) + 1 } : r))
    const alerts: Alert[] = []
    const m = createAlertMonitor({ onAlert: (a) => alerts.push(a) })
    for (const c of calls(ends)) m.feed(c)
    expect(alerts.filter((a) => a.kind === 'quota' && a.quota?.window === '5h').map((a) => [a.key, a.quota?.used])).toEqual([['cx-rl-2#0', 0.82], ['cx-rl-ws#2', 0.81]])
  })
})
