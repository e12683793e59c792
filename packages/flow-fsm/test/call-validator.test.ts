import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createCallValidator } from '../src/call-validator.js'
import type { CallFinding, CanonicalRecord } from '../src/types.js'
import type { FlowFsmError } from '../src/errors.js'

const load = (path: string): CanonicalRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CanonicalRecord)
const local = (name: string) => load(join(import.meta.dirname, 'fixtures', name))
const shared = (name: string) => load(join(import.meta.dirname, '..', '..', '..', 'fixtures', name))

function run(records: CanonicalRecord[], opts: Parameters<typeof createCallValidator>[0] = {}) {
  const errors: FlowFsmError[] = []
  const v = createCallValidator({ ...opts, onError: (e) => errors.push(e) })
  for (const r of records) v.feed(r)
  return { ...v.end(), errors }
}
const brief = (fs: CallFinding[]) => fs.map((f) => [f.kind, f.flow_id, f.call_id, f.position])

const ANTHROPIC_FINDINGS = [
  ['invalid_args', 'a1', 'toolu_B', 'response seq 9 (block 1)'],
  ['orphan_result', 'a2', 'toolu_ORPHAN', 'request_body.messages[5].content[2]'],
  ['duplicate_call', 'a2', 'toolu_A', 'response seq 4 (block 1)'],
  ['incomplete_args', 'a2', 'toolu_D', 'response seq 7 (block 2)'],
  ['result_before_call', 'a3', 'toolu_E', 'request_body.messages[7].content[1]'],
]
const RESPONSES_FINDINGS = [
  ['unanswered_call', 'r1', 'call_2', 'response seq 6 (block 1)'],
  ['orphan_result', 'r2', 'call_X', 'request_body.input[4]'],
]

describe('createCallValidator', () => {
  it('reports every defect of the Anthropic fixture with flow and position, and exact counts', () => {
    const { findings, sessions } = run(local('call-defects-anthropic.jsonl'))
    expect(brief(findings)).toEqual(ANTHROPIC_FINDINGS)
    expect(sessions['sess-anthropic-defects']).toEqual({
      flows: 5,
      calls: 5,
      answered: 3,
      unanswered: 0, // D never completed: reported as incomplete_args only
      results: 6,
      orphanResults: 1,
      duplicateCalls: 1,
      resultsBeforeCall: 1,
      incompleteArgs: 1,
      invalidArgs: 1,
      preCaptureResults: 1,
      uncheckedRequests: 0,
    })
    const dup = findings.find((f) => f.kind === 'duplicate_call')
    expect(dup).toMatchObject({ related_flow_id: 'a1', name: 'Bash', seq: 4 })
    expect(findings.find((f) => f.kind === 'result_before_call')).toMatchObject({ related_flow_id: 'a4' })
    expect(findings.find((f) => f.kind === 'invalid_args')?.message).toMatch(/not valid JSON/)
  })

  it('reports the Responses (Codex) defects: unanswered call and a result with no call', () => {
    const { findings, sessions } = run(local('call-defects-responses.jsonl'))
    expect(brief(findings)).toEqual(RESPONSES_FINDINGS)
    expect(sessions['sess-responses-defects']).toMatchObject({ flows: 3, calls: 3, answered: 2, unanswered: 1, results: 3, orphanResults: 1, duplicateCalls: 0, invalidArgs: 0 })
  })

  it('keeps interleaved sessions apart and gives the same result in any file order', () => {
    const inter = local('call-defects-interleaved.jsonl')
    const a = run(inter)
    expect(brief(a.findings)).toEqual([...ANTHROPIC_FINDINGS, ...RESPONSES_FINDINGS])
    // the order analyze reads a capture directory: sse_flows, then sse_lines, then sse_flow_ends
    const byFile = [...inter.filter((r) => r.type === 'flow'), ...inter.filter((r) => r.type === 'sse'), ...inter.filter((r) => r.type === 'flow_end')]
    const b = run(byFile)
    expect(b.findings).toEqual(a.findings)
    expect(b.sessions).toEqual(a.sessions)
    // sessions finalized early when idle (capture order) give the same answer
    const c = run(inter, { sessionIdleMs: 60_000 })
    expect(brief(c.findings)).toEqual(brief(a.findings))
    expect(c.sessions).toEqual(a.sessions)
  })

  it('finds nothing wrong in the clean shared fixtures', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl', 'interleaved-sessions.jsonl']) {
      const { findings, sessions } = run(shared(name))
      expect(findings.filter((f) => f.kind !== 'unanswered_call'), name).toEqual([])
      for (const s of Object.values(sessions)) expect(s.calls, name).toBeGreaterThanOrEqual(s.answered)
    }
    const cc = run(shared('claude-code-turn.jsonl'))
    expect(Object.values(cc.sessions)[0]).toMatchObject({ calls: 1, answered: 1, unanswered: 0 })
    const cx = run(shared('codex-turn.jsonl'))
    expect(cx.findings).toEqual([])
    expect(Object.values(cx.sessions)[0]?.answered).toBeGreaterThanOrEqual(3)
  })

  it('reports a truncated stream\u2019s open call and skips bad records with an error', () => {
    const recs = local('call-defects-anthropic.jsonl').filter((r) => r.flow_id === 'a2')
    const { findings, errors } = run([{ type: 'sse' } as never, ...recs, { ...recs[1]!, seq: 99 } as CanonicalRecord])
    expect(findings.map((f) => f.kind)).toContain('incomplete_args')
    expect(errors.filter((e) => e.code !== 'STREAM_ERROR').map((e) => e.code)).toEqual(['INVALID_RECORD', 'ILLEGAL_TRANSITION'])
    // the normalizer's own report of the truncation is passed on with its cause
    const stream = errors.filter((e) => e.code === 'STREAM_ERROR')
    expect(stream.length).toBeGreaterThan(0)
    expect(stream.every((e) => e.flow_id === 'a2' && e.cause instanceof Error)).toBe(true)
  })

  it('caps open normalizers: a flow evicted mid-stream has its open call reported incomplete', () => {
    const recs = local('call-defects-anthropic.jsonl')
    const { sessions } = run(recs, { maxOpenFlows: 1 })
    // Flows are fed one after another, so a cap of 1 changes nothing.
    expect(sessions['sess-anthropic-defects']?.calls).toBe(5)
  })
})

describe('createCallValidator: Chat Completions and memory', () => {
  const T0 = Date.parse('2026-11-20T12:00:00.000Z')
  const iso = (ms: number) => new Date(T0 + ms).toISOString()
  function chatFlow(flow_id: string, session_id: string, at: number, messages: unknown[], calls: Array<[string, string, string[]]>) {
    const recs: CanonicalRecord[] = [
      { v: 1, type: 'flow', ts: iso(at), flow_id, session_id, flow_seq: at, client: 'unknown', provider: 'openai', url: 'https://api.openai.com/v1/chat/completions', request_body: { model: 'gpt-4.1', stream: true, messages } },
    ]
    let seq = 0
    const sse = (data: unknown) => recs.push({ v: 1, type: 'sse', ts: iso(at + 10 + seq), flow_id, session_id, seq: seq++, data: typeof data === 'string' ? data : JSON.stringify(data) })
    calls.forEach(([id, name, frags], index) => {
      sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ index, id, type: 'function', function: { name, arguments: '' } }] } }] })
      for (const f of frags) sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: f } }] } }] })
    })
    sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: calls.length ? 'tool_calls' : 'stop' }] })
    sse('[DONE]')
    recs.push({ v: 1, type: 'flow_end', ts: iso(at + 100), flow_id, session_id, outcome: 'completed' })
    return recs
  }

  it('follows Chat Completions tool_calls ids and role:"tool" results', () => {
    const sys = { role: 'system', content: 'x' }
    const recs = [
      ...chatFlow('c1', 'chat', 0, [sys], [['call_a', 'get_weather', ['{"city":', '"Paris"}']], ['call_b', 'lookup', ['{"q":']]]),
      ...chatFlow('c2', 'chat', 1000, [sys, { role: 'assistant', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_a', content: 'sunny' }, { role: 'tool', tool_call_id: 'call_zz', content: '?' }], []),
    ]
    const { findings, sessions } = run(recs)
    expect(brief(findings)).toEqual([
      ['unanswered_call', 'c1', 'call_b', 'response seq 3 (block 1)'],
      ['invalid_args', 'c1', 'call_b', 'response seq 5 (block 1)'],
      ['orphan_result', 'c2', 'call_zz', 'request_body.messages[3]'],
    ])
    expect(sessions['chat']).toMatchObject({ calls: 2, answered: 1, unanswered: 1, orphanResults: 1, invalidArgs: 1, flows: 2 })
  })

  it('finds exactly the generated defects in random sessions, in any feeding order', () => {
    const kinds = new Set<string>()
    let total = 0
    for (let seed = 1; seed <= 12; seed++) {
      let x = seed * 7919
      const rand = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32)
      const recs: CanonicalRecord[] = []
      const expected: string[] = []
      let n = 0
      for (let si = 0; si < 3; si++) {
        const session = `rs${seed}-${si}`
        const announced: string[] = []
        const answered = new Set<string>()
        let early: string | undefined // a result sent before its call is announced
        const flows = 3 + Math.floor(rand() * 5)
        for (let f = 0; f < flows; f++) {
          const flow_id = `${session}-f${f}`
          const messages: unknown[] = []
          // answer some earlier calls (the history replays earlier answers too)
          for (const id of announced) {
            if (answered.has(id) || rand() < 0.7) {
              messages.push({ role: 'tool', tool_call_id: id, content: 'ok' })
              answered.add(id)
            }
          }
          if (rand() < 0.2) {
            const id = `orphan_${n++}`
            messages.push({ role: 'tool', tool_call_id: id, content: '?' })
            expected.push(`orphan_result ${flow_id} ${id}`)
          }
          if (early === undefined && f < flows - 1 && rand() < 0.3) {
            early = `early_${n++}`
            messages.push({ role: 'tool', tool_call_id: early, content: 'too soon' })
            expected.push(`result_before_call ${flow_id} ${early}`)
          }
          const calls: Array<[string, string, string[]]> = []
          const k = Math.floor(rand() * 3)
          for (let c = 0; c < k; c++) calls.push([`call_${n++}`, 'f', ['{"a":', '1}']])
          if (early !== undefined && !announced.includes(early) && !messages.some((m) => (m as { tool_call_id?: string }).tool_call_id === early)) {
            calls.push([early, 'f', ['{}']])
          }
          if (announced.length > 0 && rand() < 0.15) {
            const dup = announced[Math.floor(rand() * announced.length)] as string
            calls.push([dup, 'f', ['{}']])
            expected.push(`duplicate_call ${flow_id} ${dup}`)
          }
          recs.push(...chatFlow(flow_id, session, si * 1_000_000 + f * 10_000, messages, calls))
          for (const [id] of calls) if (!announced.includes(id)) announced.push(id)
        }
        for (const id of announced) if (!answered.has(id) && !id.startsWith('early_')) expected.push(`unanswered_call ${id}`)
      }
      const key = (f: CallFinding) => (f.kind === 'unanswered_call' ? `${f.kind} ${f.call_id}` : `${f.kind} ${f.flow_id} ${f.call_id}`)
      const inTime = run(recs)
      expect(inTime.findings.map(key).sort(), `seed ${seed}`).toEqual([...expected].sort())
      const byFile = [...recs.filter((r) => r.type === 'flow'), ...recs.filter((r) => r.type === 'sse'), ...recs.filter((r) => r.type === 'flow_end')]
      expect(run(byFile).findings.map(key).sort(), `seed ${seed} by file`).toEqual([...expected].sort())
      total += expected.length
      for (const e of expected) kinds.add(e.split(' ')[0] as string)
    }
    expect(total).toBeGreaterThan(30)
    expect([...kinds].sort()).toEqual(['duplicate_call', 'orphan_result', 'result_before_call', 'unanswered_call'])
  })

  it('stays bounded over many sessions when idle sessions are finalized (capture order)', () => {
    const v = createCallValidator({ sessionIdleMs: 60_000 })
    let maxOpen = 0
    let maxEntries = 0
    for (let s = 0; s < 1500; s++) {
      // sessions one after another, 30 s apart, each with a call answered in its second flow
      const at = s * 30_000
      const id = `s${s}`
      const recs = [
        ...chatFlow(`${id}-1`, id, at, [], [[`call_${s}`, 'f', ['{}']]]),
        ...chatFlow(`${id}-2`, id, at + 5_000, [{ role: 'tool', tool_call_id: `call_${s}`, content: 'ok' }], []),
      ]
      for (const r of recs) v.feed(r)
      const st = v.stats()
      maxOpen = Math.max(maxOpen, st.openSessions)
      maxEntries = Math.max(maxEntries, st.entries)
    }
    const res = v.end()
    expect(res.findings).toEqual([])
    expect(Object.keys(res.sessions)).toHaveLength(1500)
    expect(Object.values(res.sessions).every((c) => c.answered === 1 && c.calls === 1)).toBe(true)
    // idle 60 s, sessions 30 s apart, sweeps every 15 s of capture time: a handful open at once
    expect(maxOpen).toBeLessThanOrEqual(4)
    expect(maxEntries).toBeLessThanOrEqual(8)
    // without early finalization everything stays open until end
    const keep = createCallValidator()
    for (const r of chatFlow('x-1', 'x', 0, [], [['call_x', 'f', ['{}']]])) keep.feed(r)
    for (const r of chatFlow('y-1', 'y', 10_000_000, [], [])) keep.feed(r)
    expect(keep.stats().openSessions).toBe(2)
  })
})

describe('createCallValidator: request bodies stored out of line', () => {
  it('resolves {$ref} bodies through resolveRequestBody, else counts them unchecked', () => {
    const recs = local('call-defects-responses.jsonl')
    const bodies = new Map<string, unknown>()
    const refd = recs.map((r) => {
      if (r.type !== 'flow') return r
      const ref = `sse_logs/${r.flow_id}.request.json`
      bodies.set(ref, r.request_body)
      return { ...r, request_body: { $ref: ref } }
    })
    const resolved = run(refd, { resolveRequestBody: (ref) => bodies.get(ref) })
    expect(brief(resolved.findings)).toEqual(RESPONSES_FINDINGS)
    const blind = run(refd)
    expect(blind.sessions['sess-responses-defects']).toMatchObject({ uncheckedRequests: 3, results: 0, answered: 0, unanswered: 3 })
    expect(blind.findings[0]?.message).toMatch(/3 request bodies of this session could not be checked/)
  })
})

describe('createCallValidator: provider-run tools', () => {
  it('does not expect a result for Anthropic server_tool_use (web search)', () => {
    const base = { v: 1, session_id: 'srv', flow_id: 'w1' }
    const ev = (seq: number, event: string, data: unknown): CanonicalRecord => ({ ...base, type: 'sse', ts: '2026-11-20T10:00:01.000Z', seq, event, data: JSON.stringify(data) })
    const recs: CanonicalRecord[] = [
      { ...base, type: 'flow', ts: '2026-11-20T10:00:00.000Z', url: 'https://api.anthropic.com/v1/messages', provider: 'anthropic', request_body: { messages: [{ role: 'user', content: 'news?' }] } },
      ev(0, 'message_start', { type: 'message_start', message: { id: 'm', model: 'claude', role: 'assistant', content: [], usage: { input_tokens: 1 } } }),
      ev(1, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }),
      ev(2, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query":"news"}' } }),
      ev(3, 'content_block_stop', { type: 'content_block_stop', index: 0 }),
      ev(4, 'content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] } }),
      ev(5, 'content_block_stop', { type: 'content_block_stop', index: 1 }),
      ev(6, 'message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }),
      ev(7, 'message_stop', { type: 'message_stop' }),
      { ...base, type: 'flow_end', ts: '2026-11-20T10:00:02.000Z', outcome: 'completed' },
    ]
    const { findings, sessions } = run(recs)
    expect(findings).toEqual([])
    expect(sessions['srv']).toMatchObject({ calls: 0, unanswered: 0, flows: 1 })
  })
})
