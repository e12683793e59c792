/**
 * An SDK retrying a one-message request after HTTP errors (found by e2e/clients with the real
 * @anthropic-ai/sdk): the 429, the 529 and the answered retry are one conversation.
 */
import { expect, it } from 'vitest'
import { ledgerFromRecords } from '../src/index.js'

const body = { model: 'claude-opus-4-5', stream: true, max_tokens: 100, tools: [{ name: 'bash', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'list /tmp' }] }
const at = (s: number): string => `2026-03-01T00:00:${String(s).padStart(2, '0')}.000Z`
const flow = (id: string, s: number, session: string): Record<string, unknown> => ({ v: 1, type: 'flow', ts: at(s), flow_id: id, session_id: session, client: 'unknown', provider: 'anthropic', session_source: 'derived', method: 'POST', url: 'https://api.anthropic.com/v1/messages', request_body: body })
const httpError = (id: string, s: number, session: string, status: number, type: string): Record<string, unknown> => ({ v: 1, type: 'flow_end', ts: at(s), flow_id: id, session_id: session, outcome: 'error', status, events: 0, body: { type: 'error', error: { type, message: type } } })
const sse = (id: string, s: number, session: string, seq: number, data: object): Record<string, unknown> => ({ v: 1, type: 'sse', ts: at(s), flow_id: id, session_id: session, seq, t_ms: seq, event: (data as { type: string }).type, data: JSON.stringify(data) })

function records(answeredTwice: boolean): Array<Record<string, unknown>> {
  const answer = (id: string, s: number, session: string): Array<Record<string, unknown>> => [
    flow(id, s, session),
    sse(id, s, session, 0, { type: 'message_start', message: { id: `msg_${id}`, model: 'claude-opus-4-5', usage: { input_tokens: 5, output_tokens: 1 } } }),
    sse(id, s, session, 1, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    sse(id, s, session, 2, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'done' } }),
    sse(id, s, session, 3, { type: 'content_block_stop', index: 0 }),
    sse(id, s, session, 4, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }),
    sse(id, s, session, 5, { type: 'message_stop' }),
    { v: 1, type: 'flow_end', ts: at(s + 1), flow_id: id, session_id: session, outcome: 'completed', status: 200, events: 6 },
  ]
  // Derived ids differ per request (they hash the body length and the client port).
  return [
    flow('r429', 1, 'd1'),
    httpError('r429', 2, 'd1', 429, 'rate_limit_error'),
    flow('r529', 3, 'd2'),
    httpError('r529', 4, 'd2', 529, 'overloaded_error'),
    ...answer('ok', 5, 'd3'),
    ...(answeredTwice ? answer('again', 10, 'd4') : []),
  ]
}

it('a one-message request retried after a 429 and a 529 stays in one session; sent again after its answer it is a new run', () => {
  const r = ledgerFromRecords(records(true))
  const session = new Map(r.calls.map((c) => [c.flow_id, c.session_id]))
  expect(r.calls.map((c) => [c.flow_id, c.outcome])).toEqual([
    ['r429', 'error'],
    ['r529', 'error'],
    ['ok', 'completed'],
    ['again', 'completed'],
  ])
  expect(session.get('r529')).toBe(session.get('r429'))
  expect(session.get('ok')).toBe(session.get('r429'))
  expect(session.get('again')).not.toBe(session.get('ok'))
})
