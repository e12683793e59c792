/**
 * `callText: false` (a live view's end-line calls): the responses' text, reasoning and tool calls
 * are not kept; everything else a call says is what the ledger says with them.
 */
import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ledgerFromRecords } from '../src/index.js'
import { FIXTURES, fixture } from './helpers.js'

const scenarios = [...readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl')), 'standalone/codex-rate-limits.jsonl']

describe('callText: false', () => {
  it.each(scenarios)('%s: the same calls, without text, reasoning and tool calls', (name) => {
    const recs = fixture(name)
    const full = ledgerFromRecords(recs, { sessionChain: false }).calls
    const light = ledgerFromRecords(recs, { sessionChain: false, callText: false }).calls
    expect(light).toEqual(full.map((c) => ({ ...c, text: '', reasoning: '', tool_calls: [] })))
  })

  it('the fixtures do carry text, reasoning and tool calls (so the comparison above drops something)', () => {
    const all = scenarios.flatMap((name) => ledgerFromRecords(fixture(name), { sessionChain: false }).calls)
    expect(all.some((c) => c.text !== '')).toBe(true)
    expect(all.some((c) => c.reasoning !== '')).toBe(true)
    expect(all.some((c) => c.tool_calls.length > 0)).toBe(true)
  })

  it('no text kept, none too large: maxCallChars is not reported', () => {
    const recs = fixture('claude-code-turn.jsonl')
    expect(ledgerFromRecords(recs, { sessionChain: false, maxCallChars: 1 }).errors.some((e) => e.code === 'CALL_TOO_LARGE')).toBe(true)
    expect(ledgerFromRecords(recs, { sessionChain: false, maxCallChars: 1, callText: false }).errors.some((e) => e.code === 'CALL_TOO_LARGE')).toBe(false)
  })
})
