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

  it('a snapshot restored into a new chain (a later index run) continues the sessions, answers included', () => {
    const first = createSessionChain()
    const t1 = first.assign(hist(u('Plan a trip to Lyon')), 'flow-1')
    const run2 = first.assign(hist(u('Plan a trip to Lyon')), 'flow-2')
    first.respond(hist(u('Plan a trip to Lyon'))[0]!, t1.session_id, { texts: ['Day 1: …'], tool_calls: [] })
    const saved = JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<typeof first.snapshot>
    expect(saved.map((e) => e.response)).toEqual([false, true])
    const later = createSessionChain()
    later.restore(saved)
    // The answer recorded for run 1 decides, though run 2 came later.
    expect(later.assign(hist(u('Plan a trip to Lyon'), a('Day 1: …'), u('Add a museum')), 'flow-3')).toEqual({ session_id: t1.session_id, matched: true })
    expect(run2.session_id).not.toBe(t1.session_id)
    // Without the snapshot the same request starts a session of its own.
    expect(createSessionChain().assign(hist(u('Plan a trip to Lyon'), a('Day 1: …'), u('Add a museum')), 'flow-3').matched).toBe(false)
    expect(() => later.restore([{ key: 1 } as never])).toThrow(SessionExtractorError)
    // A failed request is remembered as such: its retry after the restore stays in its session.
    const h = hist(u('list /tmp'))
    const s = first.assign(h, 'f9')
    first.failed(h[0]!, s.session_id)
    const again = createSessionChain()
    again.restore(JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<typeof first.snapshot>)
    expect(again.assign(h, 'f10')).toEqual({ session_id: s.session_id, matched: true })
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

  it('two conversations of one client interleaved: each turn joins its own, whatever the order', () => {
    const chain = createSessionChain()
    const a1 = chain.assign(hist(u('refactor the parser')), 'a1')
    const b1 = chain.assign(hist(u('write the changelog')), 'b1')
    const b2 = chain.assign(hist(u('write the changelog'), a('Done: v2'), u('shorter')), 'b2')
    const a2 = chain.assign(hist(u('refactor the parser'), a('Split into lexer + parser'), u('go on')), 'a2')
    const a3 = chain.assign(hist(u('refactor the parser'), a('Split into lexer + parser'), u('go on'), a('Lexer done'), u('tests?')), 'a3')
    const b3 = chain.assign(hist(u('write the changelog'), a('Done: v2'), u('shorter'), a('v2: faster'), u('ok')), 'b3')
    expect([a2.session_id, a3.session_id]).toEqual([a1.session_id, a1.session_id])
    expect([b2.session_id, b3.session_id]).toEqual([b1.session_id, b1.session_id])
    expect(a1.session_id).not.toBe(b1.session_id)
  })

  it('an edited history joins the session of the longest prefix it still shares; an edited first message starts a new one', () => {
    const chain = createSessionChain()
    const s = chain.assign(hist(u('draft a README')), 'f1')
    chain.assign(hist(u('draft a README'), a('# Title'), u('add install steps')), 'f2')
    // The user rewrote the last question (a client's "edit and resend").
    expect(chain.assign(hist(u('draft a README'), a('# Title'), u('add usage instead')), 'f3')).toEqual({ session_id: s.session_id, matched: true })
    // The assistant's answer was edited: the first request's history is still shared.
    expect(chain.assign(hist(u('draft a README'), a('# Better title'), u('more')), 'f4')).toEqual({ session_id: s.session_id, matched: true })
    // The first message itself changed: nothing is shared, a new conversation.
    expect(chain.assign(hist(u('draft a LICENSE'), a('# Title'), u('add install steps')), 'f5').matched).toBe(false)
  })

  it('a history truncated by compaction (a summary in place of the old turns) starts a new session; turns after it follow the new one', () => {
    const chain = createSessionChain()
    const long = chain.assign(hist(u('port the app to Rust'), a('Plan: 1…'), u('step 1'), a('done'), u('step 2')), 'f1')
    const compacted = chain.assign(hist(u('Summary of the conversation so far: porting to Rust, steps 1–2 done.'), u('step 3')), 'f2')
    expect(compacted.matched).toBe(false)
    expect(compacted.session_id).not.toBe(long.session_id)
    expect(chain.assign(hist(u('Summary of the conversation so far: porting to Rust, steps 1–2 done.'), u('step 3'), a('ok'), u('step 4')), 'f3').session_id).toBe(compacted.session_id)
    // Only the newest messages kept (a sliding window): the kept tail is no prefix of anything.
    expect(chain.assign(hist(u('step 2'), a('done'), u('step 3')), 'f4').matched).toBe(false)
  })

  it('the bound holds however many conversations pass; the latest ones still chain', () => {
    const chain = createSessionChain({ maxEntries: 50 })
    let last = { session_id: '', matched: false }
    for (let i = 0; i < 500; i++) {
      last = chain.assign(hist(u(`task ${i}`)), `f${i}`)
      chain.respond(hist(u(`task ${i}`))[0]!, last.session_id, { texts: [`answer ${i}`], tool_calls: [] })
      expect(chain.size).toBeLessThanOrEqual(50)
    }
    expect(chain.size).toBe(50)
    expect(chain.assign(hist(u('task 499'), a('answer 499'), u('next')), 'g1')).toEqual({ session_id: last.session_id, matched: true })
    expect(chain.assign(hist(u('task 3'), a('answer 3'), u('next')), 'g2').matched).toBe(false)
  })

  it('an empty history gets a new session and is not remembered; misuse throws', () => {
    const chain = createSessionChain()
    expect(chain.assign([], 'f').matched).toBe(false)
    expect(chain.size).toBe(0)
    expect(() => createSessionChain({ maxEntries: 0 })).toThrow(SessionExtractorError)
    expect(() => chain.assign('abc' as unknown as string[], 'f')).toThrow(/expected the request's history hashes/)
  })
})
