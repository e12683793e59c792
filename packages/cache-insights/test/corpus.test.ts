/**
 * The planted-break corpus (test/corpus.ts) through the real ledger and the analysis: every
 * planted break is found with its cause, first divergent offset and wasted dollars exactly, and
 * nothing else is flagged (idle-but-hit sequences, interleaved subagent lanes, a model switch back).
 * Prints precision and recall, and what the naive rule would have flagged.
 */
import { createLedger, type ModelCall } from '@agenttap/ledger'
import { describe, expect, it } from 'vitest'
import { findCacheBreaks } from '../src/index.js'
import { buildCorpus, naiveBreaks } from '../../../test-support/cache-corpus.js'

function ledgerCalls(records: Record<string, unknown>[]): ModelCall[] {
  const calls: ModelCall[] = []
  const errors: string[] = []
  const l = createLedger({ onCall: (c) => calls.push(c), onError: (e) => errors.push(e.message) })
  for (const r of records) l.feed(r)
  l.end()
  expect(errors).toEqual([])
  return calls
}

describe('planted-break corpus', () => {
  const corpus = buildCorpus()
  const calls = ledgerCalls(corpus.records)
  const breaks = findCacheBreaks(calls)
  const byFlow = new Map(breaks.map((b) => [b.flow_id, b]))
  const truth = new Map(corpus.truths.map((t) => [t.flow_id, t]))

  it('has every cause, several lanes and enough calls', () => {
    expect(calls).toHaveLength(corpus.calls)
    expect(new Set(corpus.truths.map((t) => t.cause))).toEqual(new Set(['ttl_expiry', 'model_switch', 'tools_changed', 'system_changed', 'message_changed', 'provider', 'cache_key_changed']))
    expect(new Set(corpus.truths.filter((t) => t.change).map((t) => t.change))).toEqual(new Set(['reminder', 'thinking_stripped', 'removed', 'edited', 'compaction']))
    expect(new Set(calls.map((c) => c.agent ?? 'main'))).toEqual(new Set(['main', 'agent-a', 'agent-b']))
  })

  it('names each planted cause, offset and wasted dollars exactly; no false positive', () => {
    let tp = 0
    const wrong: string[] = []
    for (const b of breaks) {
      const t = truth.get(b.flow_id)
      if (t === undefined) {
        wrong.push(`false positive ${b.flow_id}: ${b.cause} ${b.detail}`)
        continue
      }
      const got = { cause: b.cause, change: b.change, offset: b.offset, wasted_usd: b.wasted_usd }
      const want = { cause: t.cause, change: t.change, offset: t.offset, wasted_usd: t.wasted_usd }
      if (JSON.stringify(got) === JSON.stringify(want)) tp++
      else wrong.push(`${b.flow_id}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)} (${b.detail})`)
    }
    for (const t of corpus.truths) if (!byFlow.has(t.flow_id)) wrong.push(`missed ${t.flow_id}: ${t.cause}`)
    const precision = breaks.length === 0 ? 1 : tp / breaks.length
    const recall = tp / corpus.truths.length
    const naive = naiveBreaks(calls)
    const naiveTp = naive.filter((f) => truth.has(f)).length
    // The figures the README and the report quote.
    console.log(`cache corpus: ${corpus.scenarios.length} scenarios, ${calls.length} calls, ${corpus.truths.length} planted breaks; flagged ${breaks.length}, exact ${tp}: precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}; naive rule flags ${naive.length} (${naiveTp} planted): precision ${(naiveTp / Math.max(1, naive.length)).toFixed(3)}`)
    expect(wrong).toEqual([])
    expect(precision).toBe(1)
    expect(recall).toBe(1)
  })

  it('details name the tool, the system block and the message', () => {
    expect(byFlow.get('tool-added-3')?.tools).toEqual({ added: ['mcp__github__create_issue'], removed: [], edited: [], reordered: false })
    expect(byFlow.get('tool-removed-2')?.tools?.removed).toEqual(['Edit'])
    expect(byFlow.get('tool-edited-2')?.detail).toBe('tools: edited Glob')
    expect(byFlow.get('system-edited-3')?.segment).toEqual({ kind: 'system', index: 1, label: 'system' })
    expect(byFlow.get('message-removed-4')?.segment).toEqual({ kind: 'message', index: 3, label: 'assistant' })
    expect(byFlow.get('ttl-5m-3')?.detail).toBe('idle 7.0 min > 5 min TTL')
    expect(byFlow.get('model-switch-3')?.detail).toContain('claude-sonnet-4-5-20250929 to claude-opus-4-5-20251101')
    expect(byFlow.get('agent-b-2')?.lane).toBe('sess-main-with-agents · agent-b · claude-haiku-4-5')
  })
})
