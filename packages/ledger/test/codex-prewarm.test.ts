/**
 * Codex over WebSocket opens with a prewarm frame (`generate: false`) that the server answers
 * with an empty response (found by e2e/clients with the real Codex 0.171): that response is an
 * aux call; the flow, which holds the real responses too, stays a model flow.
 */
import { expect, it } from 'vitest'
import { ledgerFromRecords } from '../src/index.js'

const base = { v: 1, flow_id: 'ws1', session_id: '019a-codex' }
const ts = (ms: number): string => new Date(Date.UTC(2026, 2, 1, 0, 0, 0, ms)).toISOString()
const tools = [{ type: 'function', name: 'exec_command', parameters: { type: 'object' } }]
const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list /tmp' }] }]
const prewarm = { type: 'response.create', model: 'gpt-5.1-codex', generate: false, input, tools }
const real = { type: 'response.create', model: 'gpt-5.1-codex', previous_response_id: 'resp_1', input, tools }
let seq = 0
const frame = (ms: number, body: object) => ({ ...base, type: 'client_frame', ts: ts(ms), seq: seq++, t_ms: ms, transport: 'ws', data: JSON.stringify(body) })
const server = (ms: number, body: object) => ({ ...base, type: 'sse', ts: ts(ms), seq: seq++, t_ms: ms, transport: 'ws', data: JSON.stringify(body) })
const usage = { input_tokens: 1200, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 1209 }

it('the prewarm response is an aux call (no turn, no usage row); the flow is a model flow', () => {
  const records = [
    { ...base, type: 'flow', ts: ts(0), client: 'codex', provider: 'openai', session_source: 'header:session_id', method: 'GET', url: 'https://api.openai.com/v1/responses', status: 101, request_body: prewarm },
    frame(1, prewarm),
    server(2, { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', status: 'in_progress', output: [] } }),
    server(3, { type: 'response.completed', sequence_number: 1, response: { id: 'resp_1', status: 'completed', output: [], usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 } } }),
    frame(4, real),
    server(5, { type: 'response.created', sequence_number: 0, response: { id: 'resp_2', status: 'in_progress', output: [] } }),
    server(6, { type: 'response.output_text.delta', sequence_number: 1, item_id: 'm', output_index: 0, content_index: 0, delta: 'done' }),
    server(7, { type: 'response.completed', sequence_number: 2, response: { id: 'resp_2', status: 'completed', output: [], usage } }),
    { ...base, type: 'flow_end', ts: ts(8), outcome: 'completed', status: 101, events: 5 },
  ]
  const r = ledgerFromRecords(records)
  expect(r.calls.map((c) => [c.index, c.kind, c.prompt ?? null, c.text])).toEqual([
    [0, 'aux', 'list /tmp', ''],
    [1, 'model', 'list /tmp', 'done'],
  ])
  expect(r.flows.map((f) => [f.kind, f.calls])).toEqual([['model', 2]])
})
