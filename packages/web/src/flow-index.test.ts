import { describe, expect, it } from 'vitest'
import { fixtureRecords } from '../test/helpers.js'
import { createFlowIndex } from './flow-index.js'

const ALL = ['claude-code-turn', 'codex-turn', 'truncated-stream', 'api-error-in-200', 'interleaved-sessions'].flatMap(fixtureRecords)
const FILE = { flow: 'flows', sse: 'lines', flow_end: 'flow_ends' } as const

function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

function indexOf(records: Record<string, unknown>[], now = () => Date.parse('2026-11-20T10:05:00Z')) {
  const idx = createFlowIndex({ now, idleMs: 60_000 })
  let off = 0
  for (const r of records) idx.feed(r, { file: FILE[r['type'] as keyof typeof FILE], offset: off++ })
  idx.tick()
  return idx
}

describe('createFlowIndex', () => {
  it('builds the list summaries from the fixtures: client, model, outcome, timing, usage with cache, tool calls, prompt', () => {
    const idx = indexOf(ALL)
    const cc = idx.get('cc-turn-1')?.summary
    expect(cc).toMatchObject({
      client: 'claude-code',
      model: 'claude-sonnet-4-5-20250929',
      state: 'DONE',
      outcome: 'completed',
      status: 200,
      ttfb_ms: 420,
      duration_ms: 497,
      events: 26,
      calls: 1,
      tool_calls: 1,
      stop_reason: 'tool_use',
      prompt: 'List the files in src/ and count the lines of the largest one.',
      // the ledger's convention, as the monitor and analyze print it
      usage: { input: 9, output: 187, cache_read: 14210, cache_write_5m: 1320, cache_write_1h: 0 },
    })
    expect(idx.get('cx-turn-1')?.summary.usage).toMatchObject({ input: 346, cache_read: 4864, output: 312, reasoning: 192 })
    expect(idx.get('cc-turn-1')?.summary.tool_names).toEqual(['Bash'])
    expect(idx.get('cx-turn-2')?.summary.tool_names).toEqual(['exec_command', 'apply_patch'])
    expect(idx.get('trunc-1')?.summary.outcome).toBe('truncated')
    expect(idx.get('err-anthropic-1')?.summary.error).toMatch(/overloaded/i)
    expect(idx.get('cc-turn-1')?.lineOffsets).toHaveLength(26)
    expect(idx.session('5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912').map((e) => e.summary.flow_id)).toEqual(['cc-turn-1', 'cc-turn-2'])
  })

  it('gives the same summaries whatever order the three files are read in (seeded shuffles that keep per-file order)', () => {
    const ref = indexOf(ALL).list().sort((a, b) => a.flow_id.localeCompare(b.flow_id))
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = prng(seed)
      const queues = (['flow', 'sse', 'flow_end'] as const).map((t) => ALL.filter((r) => r['type'] === t))
      const merged: Record<string, unknown>[] = []
      while (queues.some((q) => q.length)) {
        const live = queues.filter((q) => q.length)
        merged.push((live[Math.floor(rnd() * live.length)] as Record<string, unknown>[]).shift() as Record<string, unknown>)
      }
      const got = indexOf(merged).list().sort((a, b) => a.flow_id.localeCompare(b.flow_id))
      expect(got.map(({ ts, ...s }) => s)).toEqual(ref.map(({ ts, ...s }) => s))
    }
  })

  it('evicts the oldest flows past maxFlows and reports them', () => {
    const idx = createFlowIndex({ maxFlows: 3 })
    for (let i = 0; i < 5; i++) idx.feed({ v: 1, type: 'flow', ts: new Date(i * 1000).toISOString(), flow_id: `f${i}`, session_id: 's' }, { file: 'flows', offset: i })
    expect(idx.size).toBe(3)
    expect(idx.evicted).toBe(2)
    expect(idx.takeRemoved()).toEqual(['f0', 'f1'])
    expect(idx.session('s').map((e) => e.summary.flow_id)).toEqual(['f2', 'f3', 'f4'])
  })

  it('drops duplicates from an in-process stream that overlaps the files and keeps in-memory records within budget', () => {
    const recs = fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1')
    const idx = createFlowIndex({ memBudgetBytes: 1_000_000 })
    recs.forEach((r, i) => idx.feed(r, { file: FILE[r['type'] as keyof typeof FILE], offset: i }))
    for (const r of recs) idx.feed(r) // the same records again from the hub
    const e = idx.get('cc-turn-1')
    expect(e?.summary.events).toBe(26)
    expect(e?.mem?.lines ?? []).toHaveLength(0)

    const small = createFlowIndex({ memBudgetBytes: 2000 })
    for (const r of fixtureRecords('interleaved-sessions')) small.feed(r)
    const kept = ['inter-a', 'inter-b'].map((id) => small.get(id))
    expect(kept.some((k) => k?.memEvicted)).toBe(true)
    const bytes = kept.reduce((n, k) => n + (k?.mem?.bytes ?? 0), 0)
    expect(bytes).toBeLessThanOrEqual(2000)
  })

  it('holds a flow end read before its last lines until the lines file was read past it, however long that takes', () => {
    let t = Date.parse('2026-11-20T10:05:00Z')
    const idx = createFlowIndex({ now: () => t, endHoldMs: 2000 })
    idx.linesCaughtUp() // a lines file is followed
    const recs = fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1')
    const sse = recs.filter((r) => r['type'] === 'sse')
    const end = recs.find((r) => r['type'] === 'flow_end') as Record<string, unknown>
    idx.feed(recs.find((r) => r['type'] === 'flow'))
    for (const r of sse.slice(0, 3)) idx.feed(r)
    idx.feed(end) // the ends file was read first
    // A loaded machine reads the lines file late: the clock alone does not give up on them.
    t += 30_000
    idx.tick()
    idx.linesCaughtUp() // a read that may have begun before the end was read
    expect(idx.get('cc-turn-1')?.ended).toBeFalsy()
    for (const r of sse.slice(3)) idx.feed(r)
    expect(idx.get('cc-turn-1')?.summary).toMatchObject({ state: 'DONE', outcome: 'completed', calls: 1, tool_calls: 1 })
  })

  it('ends a held flow without the lines that are not in the file: the second read of the lines file to its end after the end came', () => {
    const idx = createFlowIndex()
    idx.linesCaughtUp()
    const recs = fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1')
    idx.feed(recs.find((r) => r['type'] === 'flow'))
    for (const r of recs.filter((r) => r['type'] === 'sse').slice(0, 3)) idx.feed(r)
    idx.feed(recs.find((r) => r['type'] === 'flow_end'))
    idx.linesCaughtUp()
    expect(idx.get('cc-turn-1')?.ended).toBeFalsy()
    idx.linesCaughtUp()
    expect(idx.get('cc-turn-1')?.ended).toBe(true)
    expect(idx.get('cc-turn-1')?.summary.state).not.toBe('STREAMING')
  })

  it('holds a flow end read before its flow record: the call gets its request, whatever order the files were read in', () => {
    const recs = fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1')
    const orders = [['sse', 'flow_end', 'flow'], ['flow_end', 'sse', 'flow'], ['flow_end', 'flow', 'sse'], ['sse', 'flow', 'flow_end']] as const
    for (const order of orders) {
      const idx = createFlowIndex()
      idx.linesCaughtUp() // both files are followed
      idx.flowsCaughtUp()
      for (const t of order) for (const r of recs.filter((r) => r['type'] === t)) idx.feed(r)
      expect(idx.get('cc-turn-1')?.summary, order.join(' → ')).toMatchObject({
        state: 'DONE',
        outcome: 'completed',
        calls: 1,
        tool_calls: 1,
        usage: { input: 9, output: 187, cache_read: 14210, cache_write_5m: 1320, cache_write_1h: 0 },
      })
    }
  })

  it('ends a flow whose flow record is not in the file at the second read of the flows file to its end after the end came', () => {
    const recs = fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1')
    const idx = createFlowIndex()
    idx.linesCaughtUp()
    idx.flowsCaughtUp()
    for (const r of recs.filter((r) => r['type'] !== 'flow')) idx.feed(r)
    idx.flowsCaughtUp() // a read that may have begun before the end was read
    expect(idx.get('cc-turn-1')?.ended).toBeFalsy()
    idx.flowsCaughtUp()
    expect(idx.get('cc-turn-1')?.ended).toBe(true)
    expect(idx.get('cc-turn-1')?.summary.state).not.toBe('STREAMING')
  })

  it('without a flows follower, gives up waiting for a flow record after endHoldMs', () => {
    let t = Date.parse('2026-11-20T10:05:00Z')
    const idx = createFlowIndex({ now: () => t, endHoldMs: 2000 })
    for (const r of fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1' && r['type'] !== 'flow')) idx.feed(r)
    idx.tick()
    expect(idx.get('cc-turn-1')?.ended).toBeFalsy()
    t += 2000
    idx.tick()
    expect(idx.get('cc-turn-1')?.ended).toBe(true)
  })

  it('marks a silent flow without flow_end dead, and revives it when data comes', () => {
    let t = Date.parse('2026-11-20T10:00:00Z')
    const idx = createFlowIndex({ idleMs: 1000, now: () => t })
    idx.feed({ v: 1, type: 'flow', ts: '2026-11-20T10:00:00.000Z', flow_id: 'f', session_id: 's', provider: 'anthropic' })
    idx.tick()
    expect(idx.get('f')?.summary.state).toBe('STREAMING')
    t += 5000
    idx.tick()
    expect(idx.get('f')?.summary.state).toBe('DEAD')
    idx.feed({ v: 1, type: 'sse', ts: '2026-11-20T10:00:05.000Z', flow_id: 'f', session_id: 's', seq: 0, data: '{"type":"ping"}' })
    expect(idx.get('f')?.summary.state).toBe('STREAMING')
  })

  it('a Codex WebSocket flow opened by a prewarm frame (no prompt) takes its prompt from the frame that asked', () => {
    // Found by e2e/clients with the real Codex 0.171.
    const base = { v: 1, flow_id: 'ws', session_id: 's', ts: '2026-11-20T10:00:00.000Z' }
    const input = (text: string) => [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }]
    const prewarm = { type: 'response.create', model: 'gpt-5.1-codex', generate: false, input: [] }
    const asked = { type: 'response.create', model: 'gpt-5.1-codex', previous_response_id: 'resp_1', input: input('list the files in /tmp') }
    const idx = createFlowIndex()
    idx.feed({ ...base, type: 'flow', client: 'codex', provider: 'openai', url: 'https://api.openai.com/v1/responses', status: 101, request_body: prewarm })
    idx.feed({ ...base, type: 'client_frame', seq: 0, data: JSON.stringify(prewarm) })
    expect(idx.list()[0]?.prompt).toBeUndefined()
    idx.feed({ ...base, type: 'client_frame', seq: 3, data: JSON.stringify(asked) })
    expect(idx.list()[0]?.prompt).toBe('list the files in /tmp')
    // The first prompt stays: a later frame (a tool output) does not replace it.
    idx.feed({ ...base, type: 'client_frame', seq: 9, data: JSON.stringify({ ...asked, input: input('something else') }) })
    expect(idx.list()[0]?.prompt).toBe('list the files in /tmp')
    idx.feed({ ...base, type: 'client_frame', seq: 12, data: 'not json' })
  })

  it('ignores records without flow_id or type and non-objects', () => {
    const idx = createFlowIndex()
    expect(idx.feed(null)).toBeUndefined()
    expect(idx.feed({ type: 'flow' })).toBeUndefined()
    expect(idx.feed('junk')).toBeUndefined()
    expect(idx.size).toBe(0)
  })

  it('after a truncation the same records read again regain their offsets without being counted twice', () => {
    const recs = fixtureRecords('claude-code-turn').filter((r) => r['flow_id'] === 'cc-turn-1')
    const idx = createFlowIndex()
    recs.forEach((r, i) => idx.feed(r, { file: FILE[r['type'] as keyof typeof FILE], offset: i * 10 }))
    idx.fileReset('lines')
    const e = idx.get('cc-turn-1')
    expect(e?.lineOffsets).toEqual([])
    expect(e?.offsetsLost).toBe(true)
    recs.filter((r) => r['type'] === 'sse').forEach((r, i) => idx.feed(r, { file: 'lines', offset: 5000 + i }))
    expect(e?.summary.events).toBe(26)
    expect(e?.lineOffsets).toHaveLength(26)
    expect(e?.lineOffsets[0]).toBe(5000)
  })
})
