import { describe, expect, it } from 'vitest'
import type { AgentEvent } from '@agenttap/stream-normalizer'
import { createCaptureSessions } from './session-chaining.js'
import { ProxyCaptureError } from './errors.js'

const URL = 'https://api.anthropic.com/v1/messages'
const u = (content: string) => ({ role: 'user', content })
const a = (text: string) => ({ role: 'assistant', content: [{ type: 'text', text }] })
const req = (messages: unknown[], clientIp = '127.0.0.1') => ({ url: URL, body: { model: 'm', messages }, clientIp, client: 'unknown', provider: 'anthropic' })
const answer = (text: string): AgentEvent[] => [
  { type: 'message_start', flow_id: 'f', provider: 'anthropic' },
  { type: 'text_delta', flow_id: 'f', provider: 'anthropic', index: 0, text },
  { type: 'message_end', flow_id: 'f', provider: 'anthropic', stop_reason: 'end_turn' },
]

describe('createCaptureSessions', () => {
  it('chains per client address: the same conversation from another address is another session', () => {
    const s = createCaptureSessions()
    const here = s.assign('f1', req([u('q')]))!
    const there = s.assign('f2', req([u('q')], '10.0.0.7'))!
    expect(s.assign('f3', req([u('q'), a('x'), u('more')]))!.sessionId).toBe(here.sessionId)
    expect(s.assign('f4', req([u('q'), a('x'), u('more')], '10.0.0.7'))!.sessionId).toBe(there.sessionId)
    expect(there.sessionId).not.toBe(here.sessionId)
    expect(s.clients).toBe(2)
  })

  it('keeps at most maxClients chains, forgetting the one seen least recently', () => {
    const s = createCaptureSessions({ maxClients: 2 })
    const first = s.assign('f1', req([u('q')], '10.0.0.1'))!
    s.assign('f2', req([u('q')], '10.0.0.2'))
    s.assign('f3', req([u('q')], '10.0.0.3'))
    expect(s.clients).toBe(2)
    expect(s.assign('f4', req([u('q'), a('x'), u('more')], '10.0.0.1'))!.sessionId).not.toBe(first.sessionId)
  })

  it('remembers the answer a flow streamed, unless it is longer than maxTurnChars', () => {
    for (const [maxTurnChars, joinsOwnRun] of [[100, true], [5, false]] as const) {
      const s = createCaptureSessions({ maxTurnChars })
      const run1 = s.assign('f1', req([u('q')]))!
      for (const e of answer('first answer')) run1.event(e)
      const run2 = s.assign('f2', req([u('q')]))!
      for (const e of answer('second answer')) run2.event(e)
      // Without the answer remembered, the turn follows the latest run.
      expect(s.assign('f3', req([u('q'), a('first answer'), u('more')]))!.sessionId).toBe(joinsOwnRun ? run1.sessionId : run2.sessionId)
    }
  })

  it('a failed request (HTTP error, error event) is retried in its session; no answer is remembered after it', () => {
    const s = createCaptureSessions()
    const first = s.assign('f1', req([u('q')]))!
    first.fail()
    const retry = s.assign('f2', req([u('q')]))!
    expect(retry.sessionId).toBe(first.sessionId)
    retry.event({ type: 'error', flow_id: 'f2', provider: 'anthropic', message: 'overloaded' })
    expect(s.assign('f3', req([u('q')]))!.sessionId).toBe(first.sessionId)
  })

  it('no history, no chain: aux endpoints, bodies that are no model request; limits must be positive integers', () => {
    const s = createCaptureSessions()
    expect(s.assign('f1', { ...req([u('q')]), url: 'https://api.anthropic.com/v1/models' })).toBeUndefined()
    expect(s.assign('f2', { ...req([]), body: undefined })).toBeUndefined()
    expect(s.assign('f3', { ...req([]), body: 'plain text' })).toBeUndefined()
    expect(s.assign('f4', req([]))).toBeUndefined()
    expect(() => createCaptureSessions({ maxEntries: 1.5 })).toThrow(ProxyCaptureError)
    expect(() => createCaptureSessions({ maxClients: 0 })).toThrow(/sessionChain.maxClients must be a positive integer, received 0/)
  })
})
