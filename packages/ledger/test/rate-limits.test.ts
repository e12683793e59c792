/**
 * Codex's `codex.rate_limits` stream event on the calls: the same rate-limit fact as the
 * `x-codex-*` headers, the later of the two winning (the event comes after the headers).
 */
import { describe, expect, it } from 'vitest'
import { ledgerFromRecords } from '../src/index.js'
import { fixture } from './helpers.js'

const recs = fixture('standalone/codex-rate-limits.jsonl')
const W5 = { 'x-codex-primary-window-minutes': '300', 'x-codex-primary-reset-at': '1795186800' }
const W7 = { 'x-codex-secondary-window-minutes': '10080', 'x-codex-secondary-reset-at': '1795600000' }
const PLAN = { 'x-codex-plan-type': 'plus', 'x-codex-credits-has-credits': 'false', 'x-codex-credits-unlimited': 'false' }
const limits = (primary: number, secondary: number): Record<string, string> => ({ 'x-codex-primary-used-percent': String(primary), ...W5, 'x-codex-secondary-used-percent': String(secondary), ...W7, ...PLAN })

describe('codex.rate_limits on the ledger calls', () => {
  it('each call carries the event sent before its response over the headers; a WebSocket response without one keeps the connection\'s latest', () => {
    const { calls, errors } = ledgerFromRecords(recs, { sessionChain: false })
    expect(errors).toEqual([])
    expect(Object.fromEntries(calls.map((c) => [c.key, c.rate_limits]))).toEqual({
      // headers 70 % / 38 %, event 78 % / 39 %
      'cx-rl-1#0': limits(78, 39),
      // headers 78 % (primary only), event 82 % / 40 %
      'cx-rl-2#0': limits(82, 40),
      // upgrade headers 82 % / 40 %; events 84 / 41, then 86 / 42, then none
      'cx-rl-ws#0': limits(84, 41),
      'cx-rl-ws#1': limits(86, 42),
      'cx-rl-ws#2': limits(86, 42),
    })
    // The events are no calls of their own.
    expect(calls.map((c) => c.outcome)).toEqual(['completed', 'completed', 'completed', 'completed', 'completed'])
  })

  it('without the events the calls keep the headers (what the ledger gave before it read them)', () => {
    const noEvents = recs.filter((r) => !(r['type'] === 'sse' && String(r['data']).includes('"codex.rate_limits"')))
    const byKey = Object.fromEntries(ledgerFromRecords(noEvents, { sessionChain: false }).calls.map((c) => [c.key, c.rate_limits]))
    expect(byKey['cx-rl-1#0']).toEqual({ 'x-codex-primary-used-percent': '70', ...W5, 'x-codex-secondary-used-percent': '38', ...W7 })
    expect(byKey['cx-rl-ws#2']?.['x-codex-primary-used-percent']).toBe('82')
  })

  it('an event reporting only the primary window replaces that window whole and keeps the rest of the headers', () => {
    const partial = recs.map((r) =>
      r['type'] === 'sse' && r['flow_id'] === 'cx-rl-1' && r['seq'] === 0
        ? { ...r, data: JSON.stringify({ type: 'codex.rate_limits', rate_limits: { primary: { used_percent: 79, resets_in_seconds: 120 } } }) }
        : r,
    )
    const c = ledgerFromRecords(partial, { sessionChain: false }).calls.find((x) => x.key === 'cx-rl-1#0')
    expect(c?.rate_limits).toEqual({ 'x-codex-primary-used-percent': '79', 'x-codex-primary-reset-after-seconds': '120', 'x-codex-secondary-used-percent': '38', ...W7 })
  })

  it('the same calls when the lines are read before their flow records (a follow of the three files)', () => {
    const order = (r: Record<string, unknown>): number => (r['type'] === 'flow' ? 1 : r['type'] === 'flow_end' ? 2 : 0)
    const linesFirst = [...recs].sort((a, b) => order(a) - order(b))
    expect(ledgerFromRecords(linesFirst, { sessionChain: false }).calls).toEqual(ledgerFromRecords(recs, { sessionChain: false }).calls)
  })
})
