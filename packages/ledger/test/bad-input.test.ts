/**
 * Bad input is reported with its location (file, line, byte offset, flow, seq) and the rest of
 * the capture is assembled: malformed and truncated lines, unknown event types, a flow with no
 * end, records of a newer schema, records without their flow, bodies left out of line, caps.
 */
import { createJsonlParser, type JsonlError } from '@agenttap/jsonl-io'
import { describe, expect, it } from 'vitest'
import { createLedger, ledgerFromRecords, LedgerError, type LedgerError as LedgerErrorT, type ModelCall } from '../src/index.js'
import { fixture } from './helpers.js'

const CODEX = fixture('codex-turn.jsonl')
const reference = ledgerFromRecords(CODEX)

/** Feeds JSONL text through the jsonl-io parser into a ledger, as an index would. */
function readText(text: string, file = 'sse_lines.jsonl') {
  const calls: ModelCall[] = []
  const errors: LedgerErrorT[] = []
  const parseErrors: JsonlError[] = []
  const ledger = createLedger({ onCall: (c) => calls.push(c), onError: (e) => errors.push(e) })
  const p = createJsonlParser({ file, onRecord: (v, info) => ledger.feed(v, { file, ...info }), onError: (e) => parseErrors.push(e) })
  p.feed(text)
  p.end()
  ledger.end()
  return { calls, errors, parseErrors }
}

describe('malformed and truncated lines', () => {
  it('are reported by the reader with file, line and offset; a lost event is reported by flow and the calls are assembled', () => {
    const lines = CODEX.map((r) => JSON.stringify(r))
    // The second argument delta of cx-turn-1's shell call is torn in half, and junk is inserted after it.
    const at = CODEX.findIndex((r, i) => String(r['data']).includes('"response.function_call_arguments.delta"') && CODEX.slice(0, i).some((x) => String(x['data']).includes('"response.function_call_arguments.delta"')))
    lines[at] = (lines[at] as string).slice(0, 40)
    lines.splice(at + 5, 0, '{"v":1,"type":"sse","flow_id":"cx-turn-1",\u0000\u0001garbage')
    const r = readText(`${lines.join('\n')}\n`)
    expect(r.parseErrors.map((e) => [e.code, e.line, e.file])).toEqual([['MALFORMED_JSON', at + 1, 'sse_lines.jsonl'], ['MALFORMED_JSON', at + 6, 'sse_lines.jsonl']])
    expect(r.parseErrors[0]?.offset).toBe(lines.slice(0, at).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0))
    // The argument deltas lost a piece; the item's final arguments (output_item.done) are used.
    expect(r.calls.map((c) => c.key)).toEqual(reference.calls.map((c) => c.key))
    expect(r.calls[0]?.tool_calls.map((t) => t.arguments)).toEqual(reference.calls[0]?.tool_calls.map((t) => t.arguments))
    const codes = r.errors.map((e) => [e.code, e.flow_id])
    expect(codes).toContainEqual(['MISSING_EVENTS', 'cx-turn-1'])
    // The joined deltas disagree with the final arguments: said, with the flow and the seq.
    expect(r.errors.find((e) => e.code === 'STREAM')).toMatchObject({ flow_id: 'cx-turn-1', seq: expect.any(Number) })
  })
})

describe('unknown event types', () => {
  it('are kept out of the calls without an error: the calls equal those of the clean capture', () => {
    const recs = CODEX.flatMap((r) => (r['type'] === 'sse' && r['seq'] === 3 ? [r, { ...r, seq: 3.5, event: 'response.future_thing', data: '{"type":"response.future_thing","sequence_number":99,"payload":{"x":1}}' }] : [r]))
    const r = ledgerFromRecords(recs)
    expect(r.errors).toEqual([])
    expect(r.calls).toEqual(reference.calls)
  })
})

describe('a flow with no end', () => {
  it('a finished response is still a completed call; the flow is open', () => {
    const r = ledgerFromRecords(CODEX.filter((x) => !(x['type'] === 'flow_end' && x['flow_id'] === 'cx-turn-3')))
    expect(r.calls.find((c) => c.flow_id === 'cx-turn-3')?.outcome).toBe('completed')
    expect(r.flows.find((f) => f.flow_id === 'cx-turn-3')).toMatchObject({ outcome: 'open', calls: 1 })
    expect(r.flows.find((f) => f.flow_id === 'cx-turn-3')?.ended_at).toBeUndefined()
  })
  it('a response cut mid-stream is an open call, reported nowhere as broken', () => {
    const cut = fixture('claude-code-turn.jsonl').filter((x) => x['flow_id'] === 'cc-turn-1' && (x['type'] === 'flow' || (x['type'] === 'sse' && (x['seq'] as number) < 20)))
    const r = ledgerFromRecords(cut)
    expect(r.calls).toMatchObject([{ key: 'cc-turn-1#0', outcome: 'open', tool_calls: [{ name: 'Bash', complete: false }] }])
    expect(r.errors).toEqual([])
  })
})

describe('records of a newer schema', () => {
  it('are reported once per flow with where they were read, and read as v1', () => {
    const text = CODEX.map((r) => JSON.stringify(r['flow_id'] === 'cx-turn-2' ? { ...r, v: 2, new_field: { x: 1 } } : r)).join('\n')
    const r = readText(text, 'all.jsonl')
    const newer = r.errors.filter((e) => e.code === 'NEWER_SCHEMA')
    expect(newer).toHaveLength(1)
    expect(newer[0]).toMatchObject({ flow_id: 'cx-turn-2', file: 'all.jsonl', line: CODEX.findIndex((x) => x['flow_id'] === 'cx-turn-2') + 1 })
    expect(newer[0]?.message).toMatch(/^all\.jsonl:\d+ \(byte \d+\): flow cx-turn-2: record of schema v2/)
    expect(r.calls).toEqual(reference.calls)
    expect(LedgerError.isInstance(newer[0])).toBe(true)
  })
})

describe('invalid records', () => {
  it('are skipped and reported with their location; other record types are ignored', () => {
    const errors: LedgerErrorT[] = []
    const l = createLedger({ onCall: () => undefined, onError: (e) => errors.push(e) })
    l.feed(null, { file: 'f', line: 1, offset: 0 })
    l.feed([1, 2], { file: 'f', line: 2, offset: 5 })
    l.feed({ type: 'sse', seq: 4, data: '{}' }, { file: 'f', line: 3, offset: 11 })
    l.feed({ flow_id: 'x' }, { file: 'f', line: 4, offset: 40 })
    l.feed({ v: 1, type: 'sink_gap', flow_id: '-', sink: 'redis', dropped: 3 })
    l.end()
    expect(errors.map((e) => [e.code, e.line, e.seq])).toEqual([['INVALID_RECORD', 1, undefined], ['INVALID_RECORD', 2, undefined], ['INVALID_RECORD', 3, 4], ['INVALID_RECORD', 4, undefined]])
    expect(errors[2]?.message).toBe('f:3 (byte 11): sse record without a flow_id; skipped')
  })

  it('API misuse throws', () => {
    expect(() => createLedger({} as never)).toThrow(LedgerError)
    expect(() => createLedger({ onCall: () => undefined, maxOpenFlows: 0 })).toThrow(/maxOpenFlows must be a positive integer/)
  })
})

describe('records without their flow', () => {
  it('are assembled at end() from what they say (session, provider from the events), reported MISSING_FLOW', () => {
    const r = ledgerFromRecords(CODEX.filter((x) => !(x['type'] === 'flow' && x['flow_id'] === 'cx-turn-1')))
    expect(r.errors.map((e) => [e.code, e.flow_id])).toEqual([['MISSING_FLOW', 'cx-turn-1']])
    const c = r.calls.find((x) => x.flow_id === 'cx-turn-1')
    expect(c).toMatchObject({ session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', api: 'openai-responses', outcome: 'completed', usage: reference.calls[0]?.usage, tool_calls: reference.calls[0]?.tool_calls })
    expect(c?.prompt).toBeUndefined()
  })

  it('start at their earliest record, and MISSING_FLOW says where the first of them was read', () => {
    const recs = CODEX.filter((x) => !(x['type'] === 'flow' && x['flow_id'] === 'cx-turn-1'))
    const first = recs.findIndex((x) => x['flow_id'] === 'cx-turn-1')
    const earliest = recs.filter((x) => x['flow_id'] === 'cx-turn-1').map((x) => x['ts'] as string).sort()[0]
    const calls: ModelCall[] = []
    const errors: LedgerErrorT[] = []
    const flows: string[] = []
    const ledger = createLedger({ onCall: (c) => calls.push(c), onFlow: (f) => flows.push(`${f.flow_id} ${f.started_at}`), onError: (e) => errors.push(e) })
    recs.forEach((r, i) => ledger.feed(r, { file: 'sse_lines.jsonl', line: i + 1, offset: i * 1000 }))
    ledger.end()
    expect(errors.map((e) => [e.code, e.flow_id, e.file, e.line, e.offset])).toEqual([['MISSING_FLOW', 'cx-turn-1', 'sse_lines.jsonl', first + 1, first * 1000]])
    expect(errors[0]?.message).toMatch(new RegExp(`^sse_lines.jsonl:${first + 1} \\(byte ${first * 1000}\\): flow cx-turn-1`))
    const c = calls.find((x) => x.flow_id === 'cx-turn-1')
    // Not the first token's time (later) and not empty: the earliest record's.
    expect(c?.started_at).toBe(earliest)
    expect(c!.started_at < c!.first_token_at!).toBe(true)
    expect(c?.duration_ms).toBeGreaterThan(0)
    expect(flows).toContain(`cx-turn-1 ${earliest}`)
  })

  it('started without a flow record after maxPendingRecords, later records can still move the start earlier', () => {
    const recs = CODEX.filter((x) => x['flow_id'] === 'cx-turn-1' && x['type'] !== 'flow')
    // The third record comes first, the first after the flow started without its flow record (the
    // stream then reports the order): the start is the earliest of all, whatever the order.
    const swapped = [recs[2]!, recs[1]!, recs[0]!, ...recs.slice(3)]
    const r = ledgerFromRecords(swapped, { maxPendingRecords: 1 })
    expect(r.errors.map((e) => e.code)).toContain('PENDING_LIMIT')
    expect(r.flows[0]?.started_at).toBe(recs.map((x) => x['ts'] as string).sort()[0])
  })

  it('over maxPendingRecords, the flow waiting longest is assembled without its flow record', () => {
    const noFlows = CODEX.filter((x) => x['type'] !== 'flow')
    const r = ledgerFromRecords(noFlows, { maxPendingRecords: 50 })
    expect(r.errors.filter((e) => e.code === 'PENDING_LIMIT').map((e) => e.flow_id)).toEqual(['cx-turn-1', 'cx-turn-2'])
    expect(r.calls).toHaveLength(3)
  })

  it('over maxOpenFlows, the oldest flow is closed open', () => {
    const flowsOnly = [1, 2, 3].map((i) => ({ ...(CODEX[0] as object), flow_id: `f${i}` }))
    const r = ledgerFromRecords(flowsOnly, { maxOpenFlows: 2 })
    expect(r.errors.map((e) => [e.code, e.flow_id])).toEqual([['OPEN_FLOWS_LIMIT', 'f1']])
    expect(r.flows.map((f) => [f.flow_id, f.outcome])).toEqual([['f1', 'open'], ['f2', 'open'], ['f3', 'open']])
  })
})

describe('bodies stored out of line, duplicates, caps', () => {
  it('a {"$ref"} request body is reported; the call keeps its endpoint and response', () => {
    const recs = CODEX.map((x) => (x['type'] === 'flow' && x['flow_id'] === 'cx-turn-3' ? { ...x, request_body: { $ref: 'sse_logs/cx-turn-3.request.json' } } : x))
    const r = ledgerFromRecords(recs)
    expect(r.errors.map((e) => [e.code, e.flow_id])).toEqual([['BODY_REF', 'cx-turn-3']])
    expect(r.calls.find((c) => c.flow_id === 'cx-turn-3')).toMatchObject({ kind: 'model', api: 'openai-responses', outcome: 'completed', tool_results: [], request: { message_count: 0 } })
  })

  it('a {"$ref"} response body is reported; the call says what the status says', () => {
    const recs = fixture('http-errors.jsonl').map((x) => (x['type'] === 'flow_end' && x['flow_id'] === 'err-http-529' ? { ...x, body: { $ref: 'sse_logs/err-http-529.response.redacted.txt', bytes: 2000000 } } : x))
    const r = ledgerFromRecords(recs)
    expect(r.errors.map((e) => [e.code, e.flow_id])).toEqual([['BODY_REF', 'err-http-529']])
    expect(r.calls.find((c) => c.flow_id === 'err-http-529')).toMatchObject({ outcome: 'error', error: { type: 'http_529', message: 'HTTP 529' } })
  })

  it('a client frame stored out of line (data_ref) is reported; its response comes without a request', () => {
    const ws = fixture('codex-websocket.jsonl')
    let n = 0
    const recs = ws.map((x) => (x['type'] === 'client_frame' && n++ === 1 ? { ...x, data: '', data_ref: { $ref: 'sse_logs/cx-ws-1.client-frame-13.json', bytes: 2000000 } } : x))
    const r = ledgerFromRecords(recs)
    expect(r.errors.map((e) => [e.code, e.flow_id])).toEqual([['BODY_REF', 'cx-ws-1']])
    expect(r.calls.map((c) => c.tool_results.length)).toEqual([0, 0, 1])
    expect(r.calls[1]?.request.message_count).toBe(0)
  })

  it('records of a flow already ended (an at-least-once bus) are ignored', () => {
    const r = ledgerFromRecords([...CODEX, ...CODEX.filter((x) => x['flow_id'] === 'cx-turn-1')])
    expect(r.calls.map((c) => c.key)).toEqual(reference.calls.map((c) => c.key))
  })

  it('text past maxCallChars is dropped and reported once', () => {
    const r = ledgerFromRecords(fixture('claude-code-turn.jsonl'), { maxCallChars: 40 })
    const big = r.errors.filter((e) => e.code === 'CALL_TOO_LARGE')
    expect(big.map((e) => e.flow_id)).toEqual(['cc-turn-1', 'cc-turn-2'])
    expect(r.calls[0]!.text.length + r.calls[0]!.reasoning.length).toBeLessThanOrEqual(40)
  })

  it('an upstream that never answered gives an upstream_error call', () => {
    const flow = CODEX[0] as Record<string, unknown>
    const r = ledgerFromRecords([flow, { v: 1, type: 'flow_end', ts: '2026-11-20T10:01:30.000Z', flow_id: flow['flow_id'], session_id: flow['session_id'], outcome: 'upstream_error', events: 0, error: 'connect ECONNREFUSED 127.0.0.1:443' }])
    expect(r.calls).toMatchObject([{ outcome: 'upstream_error', error: { message: 'connect ECONNREFUSED 127.0.0.1:443' }, prompt: 'Fix the failing test in tests/parse.test.ts' }])
    expect(r.flows[0]?.outcome).toBe('upstream_error')
  })
})
