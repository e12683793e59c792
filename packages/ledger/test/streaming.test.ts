/**
 * Calls come out as soon as their response ends: a WebSocket flow gives one per response while
 * it is still open. Older captures keep the client's later frames in a file of their own
 * (`flow_end.client_frames`); fed as loose client_frame records, they still give each response
 * its request.
 */
import { describe, expect, it } from 'vitest'
import { createLedger, ledgerFromRecords, type FlowFacts, type ModelCall } from '../src/index.js'
import { fixture } from './helpers.js'

const WS = fixture('codex-websocket.jsonl')

describe('a WebSocket flow while it is open', () => {
  it('emits each call at its response.completed, the flow facts only at the flow end', () => {
    const calls: ModelCall[] = []
    const flows: FlowFacts[] = []
    const ledger = createLedger({ onCall: (c) => calls.push(c), onFlow: (f) => flows.push(f) })
    const seen: number[] = []
    for (const r of WS) {
      ledger.feed(r)
      if (r['type'] === 'sse' && String(r['data']).startsWith('{"type":"response.completed"')) seen.push(calls.length)
    }
    expect(seen).toEqual([1, 2, 3])
    expect(flows).toHaveLength(1)
  })

  it('two responses in, no flow_end yet: two completed calls; end() leaves the flow open', () => {
    const secondDone = WS.findIndex((r, i) => i > 0 && String(r['data']).startsWith('{"type":"response.completed"') && WS.slice(0, i).filter((x) => String(x['data']).startsWith('{"type":"response.completed"')).length === 1)
    const calls: ModelCall[] = []
    const flows: FlowFacts[] = []
    const ledger = createLedger({ onCall: (c) => calls.push(c), onFlow: (f) => flows.push(f) })
    for (const r of WS.slice(0, secondDone + 1)) ledger.feed(r)
    expect(calls.map((c) => [c.key, c.outcome])).toEqual([['cx-ws-1#0', 'completed'], ['cx-ws-1#1', 'completed']])
    expect(ledger.openFlows).toBe(1)
    ledger.end()
    expect(calls).toHaveLength(2)
    expect(flows).toMatchObject([{ flow_id: 'cx-ws-1', outcome: 'open', calls: 2 }])
    expect(flows[0]?.ended_at).toBeUndefined()
  })

  it('a response cut by the end of the input is an open call with its unfinished tool call', () => {
    const cut = WS.findIndex((r) => String(r['data']).includes('"response.custom_tool_call_input.delta"'))
    const r = ledgerFromRecords(WS.slice(0, cut + 1))
    expect(r.calls.map((c) => c.outcome)).toEqual(['completed', 'open'])
    expect(r.calls[1]?.tool_calls).toMatchObject([{ name: 'apply_patch', kind: 'custom', complete: false }])
    expect(r.calls[1]?.ended_at).toBeUndefined()
    expect(r.errors).toEqual([]) // the input ended, the stream is not broken
  })
})

describe('older captures: the client frames in a file of their own', () => {
  // What an older proxy wrote: no client_frame records; the first frame is the flow's request_body,
  // the later ones are lines of the `flow_end.client_frames` file.
  const frames = WS.filter((r) => r['type'] === 'client_frame').map((r) => r['data'] as string)
  const old = WS.filter((r) => r['type'] !== 'client_frame').map((r, i) => {
    if (r['type'] === 'sse') return { ...r, seq: i - 1 }
    if (r['type'] === 'flow_end') return { ...r, events: 32, client_frames: 'sse_logs/cx-ws-1.ws-client.jsonl' }
    return r
  })
  const loose = frames.slice(1).map((data) => ({ v: 1, type: 'client_frame', ts: '2026-11-20T10:07:03.300Z', flow_id: 'cx-ws-1', session_id: 'x', data }))

  it('loose frames fed before the flow_end give responses 2 and 3 their requests', () => {
    const end = old.length - 1
    const r = ledgerFromRecords([...old.slice(0, end), ...loose, old[end]])
    expect(r.errors).toEqual([])
    expect(r.calls.map((c) => [c.key, c.prompt ?? null, c.tool_results.map((t) => t.call_id)])).toEqual([
      ['cx-ws-1#0', 'Why is the CRLF test failing? Fix it.', []],
      ['cx-ws-1#1', null, ['call_WsExec0001']],
      ['cx-ws-1#2', null, ['call_WsPatch0002']],
    ])
    expect(r.calls.map((c) => c.request.message_count)).toEqual([2, 5, 7])
  })

  it('loose frames fed first (before the flow record) work the same', () => {
    const r = ledgerFromRecords([...loose, ...old])
    expect(r.calls.map((c) => c.tool_results.map((t) => t.call_id))).toEqual([[], ['call_WsExec0001'], ['call_WsPatch0002']])
  })

  it('without the frames, later responses wait for the flow end and come without a request', () => {
    const calls: ModelCall[] = []
    const ledger = createLedger({ onCall: (c) => calls.push(c) })
    for (const r of old.slice(0, -1)) ledger.feed(r)
    expect(calls.map((c) => c.key)).toEqual(['cx-ws-1#0'])
    ledger.feed(old[old.length - 1])
    expect(calls.map((c) => [c.key, c.outcome, c.request.message_count])).toEqual([['cx-ws-1#0', 'completed', 2], ['cx-ws-1#1', 'completed', 0], ['cx-ws-1#2', 'completed', 0]])
  })
})
