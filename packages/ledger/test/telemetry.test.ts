import { describe, expect, it } from 'vitest'
import { createLedger, ledgerFromRecords, type TelemetryFact } from '../src/index.js'
import { fixture } from './helpers.js'

/** A `telemetry` record as the OTLP receiver writes it (Claude Code's event names and attributes). */
function tel(name: string, attributes: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, type: 'telemetry', ts: '2026-11-20T10:00:09.000Z', flow_id: '-', session_id: '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912', signal: 'log', client: 'claude-code', name, time: '2026-11-20T10:00:00.600Z', attributes, ...extra }
}

describe('telemetry facts joined to the wire calls', () => {
  const wire = fixture('claude-code-turn.jsonl')
  const apiRequest = tel('claude_code.api_request', { model: 'claude-sonnet-4-5-20250929', cost_usd: 0.0123, duration_ms: 512, input_tokens: 9, output_tokens: 187, cache_read_tokens: 14210, cache_creation_tokens: 1320, request_id: 'req_011CVfixture0001', query_source: 'repl_main_thread', 'prompt.id': 'p-1' }, { request_id: 'req_011CVfixture0001', prompt_id: 'p-1' })
  const toolResult = tel('claude_code.tool_result', { tool_name: 'Bash', success: 'true', duration_ms: 1480, decision: 'accept', source: 'config', tool_use_id: 'toolu_01FixtureBash000000001' }, { tool_call_id: 'toolu_01FixtureBash000000001' })
  const prompt = tel('claude_code.user_prompt', { prompt_length: 63, 'prompt.id': 'p-1' }, { prompt_id: 'p-1' })
  const orphan = tel('claude_code.api_request', { request_id: 'req_never_on_the_wire', cost_usd: 0.5 }, { request_id: 'req_never_on_the_wire' })

  it('joins api_request by request id and tool_result by tool call id, after or before the calls', () => {
    for (const order of ['after', 'before'] as const) {
      const records = order === 'after' ? [...wire, apiRequest, toolResult, prompt, orphan] : [apiRequest, toolResult, prompt, orphan, ...wire]
      const r = ledgerFromRecords(records)
      const byName = (n: string): TelemetryFact[] => r.telemetry.filter((f) => f.name === n)
      expect(r.telemetry).toHaveLength(4)
      const [api, lost] = byName('claude_code.api_request').sort((a) => (a.request_id === 'req_never_on_the_wire' ? 1 : -1))
      expect(api).toMatchObject({ join: 'request_id', call_key: 'cc-turn-1#0', flow_id: 'cc-turn-1', event: 'api_request', cost_usd: 0.0123, duration_ms: 512, input_tokens: 9, cache_read_tokens: 14210, cache_creation_tokens: 1320, output_tokens: 187, query_source: 'repl_main_thread', prompt_id: 'p-1', model: 'claude-sonnet-4-5-20250929' })
      expect(lost).toMatchObject({ join: 'session', cost_usd: 0.5 })
      expect(lost?.call_key).toBeUndefined()
      expect(byName('claude_code.tool_result')[0]).toMatchObject({ join: 'tool_call_id', call_key: 'cc-turn-1#0', tool_name: 'Bash', success: true, duration_ms: 1480, decision: 'accept', decision_source: 'config' })
      expect(byName('claude_code.user_prompt')[0]).toMatchObject({ join: 'session', prompt_id: 'p-1' })
      // The calls themselves are what they are without telemetry.
      expect(r.calls).toEqual(ledgerFromRecords(wire).calls)
    }
  })

  it('ignores telemetry records without onTelemetry, and metric or span items', () => {
    const calls: unknown[] = []
    const ledger = createLedger({ onCall: (c) => calls.push(c) })
    for (const rec of [...wire, apiRequest]) ledger.feed(rec)
    ledger.end()
    expect(calls).toHaveLength(2)
    const facts = ledgerFromRecords([...wire, { ...apiRequest, signal: 'metric' }, { ...toolResult, signal: 'span' }]).telemetry
    expect(facts).toEqual([])
  })
})
