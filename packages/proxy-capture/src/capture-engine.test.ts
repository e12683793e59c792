import { describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureEngine, type CaptureOp } from './capture-engine.js'
import type { RawWriter } from './types.js'

/** An engine whose raw bodies are kept in memory, and its output. */
function engine(maxInlineBodyBytes?: number) {
  const records: CaptureRecord[] = []
  const bodies = new Map<string, string>()
  const e = createCaptureEngine(maxInlineBodyBytes === undefined ? {} : { maxInlineBodyBytes }, {
    emit: (r) => records.push(r),
    raw(name): RawWriter {
      let text = ''
      return {
        ref: `sse_logs/${name}`,
        write: (c) => void (text += typeof c === 'string' ? c : Buffer.from(c).toString()),
        end: () => void bodies.set(`sse_logs/${name}`, text),
      }
    },
    log: () => {},
  })
  return { e, records, bodies }
}

const t0 = 1_767_000_000_000
const ws = (id: string): CaptureOp => ['open', id, { seq: 0, t: t0, method: 'GET', url: 'wss://chatgpt.com/backend-api/codex/responses', host: 'chatgpt.com', transport: 'ws', headers: { session_id: 's-1', originator: 'codex_cli_rs' }, captured: true }]
const frame = (id: string, t: number, fromServer: boolean, v: unknown): CaptureOp => ['ws', id, t0 + t, fromServer, Buffer.from(JSON.stringify(v)), false]

describe('createCaptureEngine', () => {
  it('a client frame over the inline limit points at a body of its own', async () => {
    const { e, records, bodies } = engine(1024)
    const big = { type: 'response.create', input: [{ type: 'function_call_output', call_id: 'c1', output: 'y'.repeat(4096) }] }
    e.apply([ws('w1'), frame('w1', 1, false, { type: 'response.create', model: 'm' }), frame('w1', 2, true, { type: 'response.completed', response: {} }), frame('w1', 3, false, big), ['end', 'w1', t0 + 4, 'completed', undefined, undefined, false]])
    await e.drain()
    const frames = records.filter((r) => r.type === 'client_frame')
    expect(frames.map((f) => [f['seq'], f['data'] === '' ? 'ref' : 'inline'])).toEqual([
      [0, 'inline'],
      [2, 'ref'],
    ])
    const ref = frames[1]!['data_ref'] as { $ref: string; bytes: number }
    expect(ref.$ref).toBe('sse_logs/w1.client-frame-2.json')
    expect(JSON.parse(bodies.get(ref.$ref)!)).toEqual(big)
    expect(ref.bytes).toBe(Buffer.byteLength(bodies.get(ref.$ref)!))
  })

  it('a WebSocket flow that closes abnormally in the middle of its second response stays aborted', async () => {
    const { e, records } = engine()
    e.apply([
      ws('w2'),
      frame('w2', 1, false, { type: 'response.create' }),
      frame('w2', 2, true, { type: 'response.created', sequence_number: 0, response: { id: 'r1' } }),
      frame('w2', 3, true, { type: 'response.completed', sequence_number: 1, response: { id: 'r1' } }),
      frame('w2', 4, false, { type: 'response.create' }),
      frame('w2', 5, true, { type: 'response.created', sequence_number: 0, response: { id: 'r2' } }),
      ['end', 'w2', t0 + 6, 'aborted', 'client closed the WebSocket with code 1006', undefined, false],
    ])
    await e.drain()
    expect(records.find((r) => r.type === 'flow_end')).toMatchObject({ outcome: 'aborted', error: 'client closed the WebSocket with code 1006' })
  })

  it('a record op is written as it is, in order', () => {
    const { e, records } = engine()
    const gap: CaptureRecord = { v: 1, type: 'sink_gap', ts: new Date(t0).toISOString(), flow_id: '-', session_id: '-', sink: 'redis', dropped: 3 }
    e.apply([['record', gap]])
    expect(records).toEqual([gap])
  })
})
