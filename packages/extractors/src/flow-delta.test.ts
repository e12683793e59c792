import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createFlowDelta } from './flow-delta.js'
import { runShard, type ShardJob } from './shard-run.js'
// @ts-expect-error: plain ES module without types
import { writeSynthetic } from '../../../fixtures/generate.mjs'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-flow-delta-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
/** A small capture with real-size requests (whole histories resent). */
const capture = (() => {
  let made: string | undefined
  return () => (made ??= (writeSynthetic(join(dir, 'real'), { sessions: 6, flows: 60, seed: 9, targetMb: 16, mix: 'real-sizes' }), join(dir, 'real', 'all-mitm-sse')))
})()

/**
 * Feeds the lines to one decoder, in order, each within a buffer holding other lines around it
 * (as the line cursor's chunk does); every record it gives must be JSON.parse's, in value and in
 * key order. Returns the decoder's stats.
 */
function check(lines: string[], opts = { minLineBytes: 0, minSharedBytes: 0 }): { partial: number; whole: number; skippedBytes: number; left: number } {
  const d = createFlowDelta(opts)
  let left = 0
  for (const l of lines) {
    const buf = Buffer.from(`{"junk":"before"}\n${l}\n{"junk":"after \\" ]}"}\n`)
    const start = buf.indexOf('\n') + 1
    const end = start + Buffer.byteLength(l)
    const got = d.decode(buf, start, end)
    if (got === undefined) {
      left++
      continue
    }
    const want: unknown = JSON.parse(l)
    expect(isDeepStrictEqual(got, want)).toBe(true)
    expect(JSON.stringify(got)).toBe(JSON.stringify(want))
  }
  return { ...d.stats, left }
}

const rec = (session: string, body: unknown, extra = ''): string => `{"v":1,"type":"flow","ts":"2026-11-20T10:00:00.000Z","flow_id":"f","session_id":"${session}","request_headers":{"a":"b"},"request_body":${JSON.stringify(body)}${extra}}`
const msgs = (n: number, tag = 'x') => Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: [{ type: 'text', text: `${tag} ${i} "quoted" one " {[ \\" \\ back\\slash é ✓ ${'w'.repeat(i * 3)}` }] }))

describe('createFlowDelta: flow records decoded in part are JSON.parse’s records', () => {
  it('every flow line of a capture with real-size requests (most decoded in part)', () => {
    const lines = readFileSync(join(capture(), 'sse_flows.jsonl'), 'utf8').split('\n').filter((l) => l !== '')
    const s = check(lines, { minLineBytes: 32 * 1024, minSharedBytes: 16 * 1024 })
    expect(s.partial).toBeGreaterThan(lines.length * 0.6)
    expect(s.skippedBytes).toBeGreaterThan(statSync(join(capture(), 'sse_flows.jsonl')).size * 0.4)
  })

  it('every flow line of the fixtures', () => {
    const root = join(import.meta.dirname, '../../../fixtures')
    const lines = readdirSync(root).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(root, f), 'utf8').split('\n')).filter((l) => l.includes('"type":"flow"'))
    expect(lines.length).toBeGreaterThan(10)
    check(lines)
  })

  it('a conversation growing, with spaces, escapes and multi-byte text at the cuts', () => {
    const spaced = (s: string) => s.replace(/,"/g, ', "').replace(/":/g, '" : ')
    const lines: string[] = []
    for (let n = 1; n < 12; n++) lines.push(rec('s1', { model: 'm', messages: msgs(n) }))
    for (let n = 1; n < 6; n++) lines.push(spaced(rec('s2', { model: 'm', messages: msgs(n, 'y') })))
    // Responses input, and a compaction (history replaced) then growing again.
    for (let n = 1; n < 5; n++) lines.push(rec('s3', { model: 'gpt', input: msgs(n, 'z') }))
    lines.push(rec('s1', { model: 'm', messages: msgs(2, 'summary') }))
    lines.push(rec('s1', { model: 'm', messages: [...msgs(2, 'summary'), ...msgs(3, 'more')] }))
    const s = check(lines)
    expect(s.partial).toBeGreaterThan(12)
    expect(s.left).toBe(0)
  })

  it('an item the last record had, followed by more of it in this one, is not taken whole', () => {
    // The earlier record's last item is `{"role":"user","content":"ab"}`; this one's is longer text in the same place.
    const a = rec('s', { messages: [{ role: 'user', content: 'ab' }] })
    const b = rec('s', { messages: [{ role: 'user', content: 'abc' }, { role: 'assistant', content: 'x' }] })
    const c = rec('s', { messages: [{ role: 'user', content: 'abc' }, { role: 'assistant', content: 'x' }, 5] })
    const d = rec('s', { messages: [{ role: 'user', content: 'abc' }, { role: 'assistant', content: 'x' }, 56] })
    const s = check([a, b, c, d])
    expect(s.left).toBe(0)
    expect(s.partial).toBe(2) // b takes nothing of a; c takes b's two items; d takes c's first two, not its 5
  })

  it('what JSON.parse would take from a second key is left to it', () => {
    const base = rec('s', { messages: msgs(4) })
    const lines = [
      base,
      // A second history key in the body, a second request_body, a key spelled with an escape.
      base.replace(/}$/, '').replace(/}$/, ',"messages":[]}}'),
      base.replace(/}$/, ',"request_body":{"messages":[]}}'),
      base.replace(/}$/, '').replace(/}$/, ',"mess\\u0061ges":[]}}'),
      base.replace('"request_body"', '"request\\u005fbody"'),
    ]
    const s = check(lines)
    expect(s.left).toBe(4) // every line but the first: a key written with an escape is never read past
  })

  it('a truncated or malformed line is left to JSON.parse (which reports it)', () => {
    const good = rec('s', { messages: msgs(5) })
    const lines = [good, good.slice(0, -40), `${good.slice(0, -2)}x}}`, good.replace('"role":"user"', '"role":"user",,'), good]
    const s = check(lines)
    expect(s.left).toBe(3)
  })

  it('a subagent’s requests between its parent’s keep both conversations going', () => {
    const sub = (n: number) => rec('s', { messages: msgs(n, 'sub') }).replace('"session_id":"s"', '"session_id":"s","subagent":"agent-1"')
    const lines = [rec('s', { messages: msgs(4) }), sub(2), sub(3), rec('s', { messages: msgs(5) }), sub(4), rec('s', { messages: msgs(6) })]
    expect(check(lines).partial).toBe(4) // all but the first of each conversation
  })

  it('keeps at most the conversations and bytes it is given', () => {
    const lines = Array.from({ length: 30 }, (_, i) => rec(`s${i % 10}`, { messages: msgs(3 + Math.floor(i / 10), `t${i % 10}`) }))
    const s = check(lines, { minLineBytes: 0, minSharedBytes: 0, maxConversations: 4 } as never)
    expect(s.partial).toBe(0) // ten conversations in turn, four kept: never the last one of a conversation
    expect(check(lines).partial).toBe(20)
  })
})

describe('a shard with and without flow-delta', () => {
  it('writes the same rows from a capture with real-size requests', async () => {
    const cap = capture()
    const files = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']
    const kinds = ['flows', 'lines', 'ends'] as const
    const ranges = files.map((f, i) => ({ kind: kinds[i]!, path: join(cap, f), start: 0, end: statSync(join(cap, f)).size, line0: 0 }))
    const run = async (wholeLines: boolean) => {
      const rowsDir = mkdtempSync(join(dir, 'rows-'))
      const job: ShardJob = { shard: 0, shards: 1, ranges, pending: [], captureDir: cap, rowsDir, ledgerModule: '@agenttap/ledger', now: Date.parse('2026-11-21T00:00:00Z'), ...(wholeLines ? { wholeLines } : {}) }
      const res = await runShard(job)
      return { res, rows: Object.fromEntries(Object.entries(res.files).map(([t, f]) => [t, readFileSync(f!, 'utf8')])) }
    }
    const a = await run(false)
    const b = await run(true)
    expect(Object.keys(a.rows).sort()).toEqual(Object.keys(b.rows).sort())
    for (const t of Object.keys(a.rows)) expect(a.rows[t], t).toBe(b.rows[t])
    expect(a.res.rows).toEqual(b.res.rows)
    expect(a.res.rows.calls).toBeGreaterThan(50)
  })
})
