import { describe, expect, it } from 'vitest'
import { analyzeRequest } from './request-anatomy.js'
import { createSessionChain } from './session-chain.js'
import { SessionExtractorError } from './errors.js'

const URL = 'https://api.anthropic.com/v1/messages'
const u = (text: string) => ({ role: 'user', content: text })
const a = (text: string) => ({ role: 'assistant', content: [{ type: 'text', text }] })
const hist = (...messages: unknown[]) => analyzeRequest({ url: URL, body: { model: 'm', messages } }).history

describe('createSessionChain', () => {
  it('a 3-turn conversation stays one session; an unrelated run gets its own', () => {
    const chain = createSessionChain()
    const t1 = chain.assign(hist(u('Plan a trip to Lyon')), 'flow-1')
    const other = chain.assign(hist(u('Summarize RFC 9110')), 'flow-x')
    const t2 = chain.assign(hist(u('Plan a trip to Lyon'), a('Day 1: …'), u('Add a museum')), 'flow-2')
    const t3 = chain.assign(hist(u('Plan a trip to Lyon'), a('Day 1: …'), u('Add a museum'), a('Musée des Confluences'), u('Budget?')), 'flow-3')
    expect(t1).toEqual({ session_id: expect.stringMatching(/^h[0-9a-f]{16}$/), matched: false })
    expect(t2).toEqual({ session_id: t1.session_id, matched: true })
    expect(t3).toEqual({ session_id: t1.session_id, matched: true })
    expect(other.session_id).not.toBe(t1.session_id)
    expect(other.matched).toBe(false)
  })

  it('new ids depend only on the seed: rebuilding gives the same sessions', () => {
    const run = () => {
      const chain = createSessionChain()
      return [chain.assign(hist(u('x')), 'f1').session_id, chain.assign(hist(u('x'), a('y'), u('z')), 'f2').session_id]
    }
    expect(run()).toEqual(run())
  })

  it('the same one-message history again is a new run; its next turn follows the latest run, or exactly the run whose answer it carries', () => {
    const chain = createSessionChain()
    const run1 = chain.assign(hist(u('hello')), 'f1')
    const run2 = chain.assign(hist(u('hello')), 'f2')
    expect(run2.session_id).not.toBe(run1.session_id)
    // Without responses: the latest run with that first message.
    expect(chain.assign(hist(u('hello'), a('Hi! (2)'), u('next')), 'f3').session_id).toBe(run2.session_id)
    // With responses recorded, the answer decides.
    const h = hist(u('hello'))
    chain.respond(h[0]!, run1.session_id, { texts: ['Hi! (1)'], tool_calls: [] })
    chain.respond(h[0]!, run2.session_id, { texts: ['Hi! (2)'], tool_calls: [] })
    expect(chain.assign(hist(u('hello'), a('Hi! (1)'), u('next')), 'f4').session_id).toBe(run1.session_id)
  })

  it('a one-message request sent again after it failed (HTTP 429, 529) is its retry, in its session', () => {
    const chain = createSessionChain()
    const h = hist(u('list /tmp'))
    const first = chain.assign(h, 'f1')
    chain.failed(h[0]!, first.session_id)
    const retry = chain.assign(h, 'f2')
    expect(retry).toEqual({ session_id: first.session_id, matched: true })
    chain.failed(h[0]!, retry.session_id)
    const answered = chain.assign(h, 'f3')
    expect(answered.session_id).toBe(first.session_id)
    chain.respond(h[0]!, answered.session_id, { texts: ['done'], tool_calls: [] })
    // Answered (not failed) this time: the same message again is a new run.
    expect(chain.assign(h, 'f4').session_id).not.toBe(first.session_id)
  })

  it('a retry of a longer history (same messages again) stays in its session', () => {
    const chain = createSessionChain()
    const s = chain.assign(hist(u('q'), a('r'), u('q2')), 'f1')
    expect(chain.assign(hist(u('q'), a('r'), u('q2')), 'f2')).toEqual({ session_id: s.session_id, matched: true })
  })

  it('is bounded: the least recently used histories are forgotten', () => {
    const chain = createSessionChain({ maxEntries: 2 })
    const s1 = chain.assign(hist(u('one')), 'f1')
    chain.assign(hist(u('two')), 'f2')
    chain.assign(hist(u('three')), 'f3')
    expect(chain.size).toBe(2)
    expect(chain.assign(hist(u('one'), a('.'), u('more')), 'f4').session_id).not.toBe(s1.session_id)
    chain.reset()
    expect(chain.size).toBe(0)
  })

  it('an empty history gets a new session and is not remembered; misuse throws', () => {
    const chain = createSessionChain()
    expect(chain.assign([], 'f').matched).toBe(false)
    expect(chain.size).toBe(0)
    expect(() => createSessionChain({ maxEntries: 0 })).toThrow(SessionExtractorError)
    expect(() => chain.assign('abc' as unknown as string[], 'f')).toThrow(/expected the request's history hashes/)
  })
})
