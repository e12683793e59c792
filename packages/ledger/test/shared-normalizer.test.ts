/**
 * A caller that decodes the stream anyway (a live view) shares its normalizer with the ledger:
 * each sse record is decoded once, and the calls are the same as the ledger's own decoding gives.
 */
import { readdirSync } from 'node:fs'
import type { AgentEvent, StreamNormalizer } from '@agenttap/stream-normalizer'
import { describe, expect, it } from 'vitest'
import { createLedger, ledgerFromRecords, type ModelCall } from '../src/index.js'
import { FIXTURES, fixture } from './helpers.js'

/** Feeds records as a live view does: each sse record to the ledger, then to the shared normalizer. */
function viewLike(records: Record<string, unknown>[], opts: { endEach?: boolean; blankForLedger?: boolean } = {}) {
  const calls: ModelCall[] = []
  const seen: AgentEvent[] = []
  const order: string[] = []
  let decoded = 0
  const ledger = createLedger({ onCall: (c) => { calls.push(c); order.push(`call ${c.key}`) }, sessionChain: false })
  const normalizers = new Map<string, StreamNormalizer>()
  for (const r of records) {
    const id = r['flow_id'] as string
    if (r['type'] === 'sse') {
      let n = normalizers.get(id)
      if (n === undefined) {
        n = ledger.normalizer(id, { onEvent: (e) => { seen.push(e); if (e.type === 'message_end') order.push(`end ${id}`) } })
        normalizers.set(id, n)
        // Asked again: the same one.
        expect(ledger.normalizer(id, { onEvent: () => undefined })).toBe(n)
      }
      ledger.feed(opts.blankForLedger ? { ...r, data: '' } : r)
      decoded++
      n.feedRecord(r as { data: string; seq?: number; event?: string })
    } else ledger.feed(r)
  }
  if (opts.endEach) for (const id of new Set(records.map((r) => r['flow_id'] as string))) ledger.endFlow(id)
  ledger.end()
  return { calls, seen, order, decoded }
}

const scenarios = [...readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl')), 'standalone/codex-rate-limits.jsonl']

describe('a normalizer shared with the caller', () => {
  it.each(scenarios)('%s: the same calls as the ledger decoding on its own', (name) => {
    const recs = fixture(name)
    const own = ledgerFromRecords(recs, { sessionChain: false }).calls
    const shared = viewLike(recs)
    expect(shared.calls).toEqual(own)
    expect(shared.decoded).toBe(recs.filter((r) => r['type'] === 'sse').length)
  })

  it('the ledger does not decode a shared flow\'s sse records itself: their data can be left out', () => {
    const recs = fixture('claude-code-turn.jsonl')
    expect(viewLike(recs, { blankForLedger: true }).calls).toEqual(ledgerFromRecords(recs, { sessionChain: false }).calls)
  })

  it('each call is emitted before the caller sees the message_end that completes it', () => {
    const r = viewLike(fixture('codex-websocket.jsonl'))
    expect(r.order.filter((o) => o.includes('cx-ws-1'))).toEqual(['call cx-ws-1#0', 'end cx-ws-1', 'call cx-ws-1#1', 'end cx-ws-1', 'call cx-ws-1#2', 'end cx-ws-1'])
  })

  it('lines read before their flow record (a view of sse_lines.jsonl alone): events wait with their records', () => {
    const recs = fixture('claude-code-turn.jsonl')
    const flows = recs.filter((r) => r['type'] === 'flow')
    const late = [...recs.filter((r) => r['type'] !== 'flow' && r['type'] !== 'flow_end'), ...flows, ...recs.filter((r) => r['type'] === 'flow_end')]
    expect(viewLike(late).calls).toEqual(ledgerFromRecords(late, { sessionChain: false }).calls)
  })

  it('a stream cut at the end of the input: endFlow gives the open calls end() gives, its flushed events reach the caller', () => {
    const recs = [...fixture('codex-turn.jsonl'), ...fixture('truncated-stream.jsonl')].filter((r) => r['type'] !== 'flow_end')
    const own = ledgerFromRecords(recs, { sessionChain: false }).calls
    const r = viewLike(recs, { endEach: true })
    expect(r.calls).toEqual(own)
    expect(r.calls.map((c) => c.outcome)).toContain('open')
    expect(r.seen.filter((e) => e.type === 'message_end').length).toBe(own.length)
  })
})
