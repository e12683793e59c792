/**
 * A block's text is the same however finely its stream is cut: the ledger joins a long block's
 * fragments in runs while it streams (so the event data they slice can be collected).
 */
import { describe, expect, it } from 'vitest'
import { ledgerFromRecords } from '../src/index.js'
import { fixture } from './helpers.js'

/** Every text and thinking delta cut into one-character deltas; seqs and the flow_end's event count follow. */
function finelyCut(records: Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  const seq = new Map<string, number>()
  for (const r of records) {
    const flow = String(r['flow_id'])
    if (r['type'] === 'flow_end') {
      out.push({ ...r, events: seq.get(flow) ?? 0 })
      continue
    }
    if (r['type'] !== 'sse') {
      out.push(r)
      continue
    }
    const d = JSON.parse(String(r['data'])) as { type?: string; index?: number; delta?: { type?: string; text?: string; thinking?: string } }
    const field = d.delta?.type === 'text_delta' ? 'text' : d.delta?.type === 'thinking_delta' ? 'thinking' : undefined
    const text = field === undefined ? undefined : d.delta?.[field]
    const pieces = text === undefined || field === undefined ? [undefined] : [...text]
    for (const p of pieces) {
      const n = seq.get(flow) ?? 0
      seq.set(flow, n + 1)
      const data = p === undefined ? r['data'] : JSON.stringify({ ...d, delta: { ...d.delta, [field as string]: p } })
      out.push({ ...r, seq: n, data })
    }
  }
  return out
}

describe('long blocks', () => {
  it('one-character deltas (hundreds per block) give the same calls as the recorded ones', () => {
    const records = [...fixture('claude-code-turn.jsonl'), ...fixture('claude-code-2x.jsonl')]
    const cut = finelyCut(records)
    expect(cut.length).toBeGreaterThan(records.length + 200)
    const before = ledgerFromRecords(records)
    const after = ledgerFromRecords(cut)
    expect(after.errors).toEqual(before.errors)
    const strip = (c: Record<string, unknown>): Record<string, unknown> => ({ ...c, seq: undefined })
    expect(after.calls.map((c) => strip(c as unknown as Record<string, unknown>))).toEqual(before.calls.map((c) => strip(c as unknown as Record<string, unknown>)))
    expect(before.calls.some((c) => (c.text ?? '').length > 64)).toBe(true)
  })
})
