import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// The real ledger through an on-disk index, over the shared fixtures cut into several updates:
// what must hold across incremental runs and for input the proxy should not write but may
// (a lost flow record, OpenAI's 503 overload).
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures')
const tmp = mkdtempSync(join(tmpdir(), 'extractors-gaps-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

type Rec = Record<string, unknown>
const fixture = (name: string): Rec[] => readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec)
let n = 0
function captureDir(): string {
  const root = join(tmp, `cap${n++}`)
  mkdirSync(join(root, 'all-mitm-sse'), { recursive: true })
  for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) appendFileSync(join(root, 'all-mitm-sse', f), '')
  return root
}
/** Appends records to the capture files a proxy would write them to. */
function append(root: string, recs: Rec[]): void {
  const file = (r: Rec) => (r['type'] === 'flow' ? 'sse_flows.jsonl' : r['type'] === 'flow_end' ? 'sse_flow_ends.jsonl' : 'sse_lines.jsonl')
  for (const r of recs) appendFileSync(join(root, 'all-mitm-sse', file(r)), JSON.stringify(r) + '\n')
}
async function run(root: string, mode: 'usage' | 'errors' | 'sessions' | 'flows' = 'usage') {
  const x = await createExtractor({ logDir: root, threads: 1 })
  try {
    const update = await x.refresh()
    return { update, rows: (await x.run(mode)).rows, problems: await x.problems(10) }
  } finally {
    x.close()
  }
}

describe('the session chain across incremental updates', () => {
  it('an SDK conversation appended turn by turn ends in one session, as when indexed at once', async () => {
    const recs = fixture('sdk-conversation.jsonl')
    const of = (...ids: string[]) => recs.filter((r) => ids.includes(r['flow_id'] as string))
    const root = captureDir()
    append(root, of('sdk-turn-1', 'sdk-other-1'))
    const first = await run(root)
    append(root, of('sdk-turn-2'))
    expect((await run(root)).update.records).toBeGreaterThan(0)
    append(root, of('sdk-turn-3'))
    const last = await run(root)
    expect(last.update.rebuilt).toBeUndefined()
    const session = (rows: typeof last.rows, id: string) => rows.find((r) => r.flow_id === id)?.session_id
    const s1 = session(first.rows, 'sdk-turn-1')
    expect(['sdk-turn-1', 'sdk-turn-2', 'sdk-turn-3'].map((id) => session(last.rows, id))).toEqual([s1, s1, s1])
    expect(session(last.rows, 'sdk-other-1')).not.toBe(s1)

    const once = captureDir()
    append(once, recs)
    expect((await run(once)).rows.map((r) => [r.flow_id, r.session_id])).toEqual(last.rows.map((r) => [r.flow_id, r.session_id]))
    // Two sessions, the conversation's three turns counted as one session's.
    expect((await run(root, 'sessions')).rows.map((r) => [r.session_id, r.flows])).toEqual([[s1, 3], [session(last.rows, 'sdk-other-1'), 1]])
  })
})

describe('a flow whose flow record is missing', () => {
  it('is still indexed, starting at its earliest record, and reported where its first record is', async () => {
    const recs = fixture('codex-turn.jsonl')
    const root = captureDir()
    append(root, recs.filter((r) => !(r['type'] === 'flow' && r['flow_id'] === 'cx-turn-2')))
    const r = await run(root)
    const earliest = recs.filter((x) => x['flow_id'] === 'cx-turn-2' && x['type'] !== 'flow').map((x) => x['ts'] as string).sort()[0]
    expect(r.rows.map((x) => x.flow_id)).toEqual(['cx-turn-1', 'cx-turn-2', 'cx-turn-3'])
    const call = r.rows.find((x) => x.flow_id === 'cx-turn-2')!
    expect(call.ts).toBe(earliest)
    expect(Number(call.output_tokens)).toBeGreaterThan(0)
    expect(r.problems.byCode).toEqual({ NO_FLOW_RECORD: 1 })
    expect(r.problems.first[0]).toMatchObject({ flow_id: 'cx-turn-2', file: join(root, 'all-mitm-sse', 'sse_lines.jsonl'), line: expect.any(Number), offset: expect.any(Number) })
    // The first sse line of cx-turn-2 is where it is reported.
    const lines = readFileSync(join(root, 'all-mitm-sse', 'sse_lines.jsonl'), 'utf8').split('\n')
    const at = lines.findIndex((l) => l.includes('"flow_id":"cx-turn-2"'))
    expect(r.problems.first[0]).toMatchObject({ line: at + 1, offset: Buffer.byteLength(lines.slice(0, at).map((l) => l + '\n').join('')) })
  })
})

describe('OpenAI overload', () => {
  it('a 503 with code server_is_overloaded (body or stream error) is kind overloaded', async () => {
    const recs = fixture('http-errors.jsonl').filter((r) => r['flow_id'] === 'err-http-openai-429')
    const body = { error: { message: 'The server is overloaded or not ready yet.', type: 'server_error', param: null, code: 'server_is_overloaded' } }
    const root = captureDir()
    append(root, recs.map((r) => (r['type'] === 'flow' ? { ...r, status: 503 } : r['type'] === 'flow_end' ? { ...r, status: 503, body } : r)))
    const stream = fixture('api-error-in-200.jsonl').filter((r) => r['flow_id'] === 'err-responses-1')
      .map((r) => (r['type'] === 'sse' ? { ...r, data: String(r['data']).replace(/rate_limit_exceeded/g, 'server_is_overloaded') } : r))
    append(root, stream)
    const e = (await run(root, 'errors')).rows.map((r) => [r.flow_id, r.kind, r.status, r.error_type])
    expect(e).toEqual(expect.arrayContaining([['err-responses-1', 'overloaded', 200, 'server_is_overloaded'], ['err-http-openai-429', 'overloaded', 503, 'server_error']]))
    expect(e).toHaveLength(2)
  })
})
