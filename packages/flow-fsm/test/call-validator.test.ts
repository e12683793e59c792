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
  for (const r of records) v.add(r)
  return { ...v.finish(), errors }
}
const brief = (fs: CallFinding[]) => fs.map((f) => [f.kind, f.flow_id, f.call_id, f.position])

const ANTHROPIC_FINDINGS = [
  ['invalid_args', 'a1', 'toolu_B', 'response seq 9 (block 1)'],
  ['orphan_result', 'a2', 'toolu_ORPHAN', 'request_body.messages[5].content[2]'],
  ['duplicate_call', 'a2', 'toolu_A', 'response seq 4 (block 1)'],
  ['incomplete_args', 'a2', 'toolu_D', 'response seq 7 (block 2)'],
  ['unanswered_call', 'a2', 'toolu_D', 'response seq 7 (block 2)'],
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
      unanswered: 1,
      results: 6,
      orphanResults: 1,
      duplicateCalls: 1,
      resultsBeforeCall: 1,
      incompleteArgs: 1,
      invalidArgs: 1,
      preCaptureResults: 1,
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
