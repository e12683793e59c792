import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createFlowMonitor } from '../src/flow-monitor.js'
import type { CanonicalRecord, FlowTransition, RenderOp } from '../src/types.js'
import { randomSplit, rng, screen } from './helpers.js'

const shared = (name: string): CanonicalRecord[] =>
  readFileSync(join(import.meta.dirname, '..', '..', '..', 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CanonicalRecord)

/** Replays records on a fake clock that follows their `ts`, ticking between records. */
function replay(records: CanonicalRecord[], opts: Parameters<typeof createFlowMonitor>[0] = {}, tickEvery = 0) {
  let t = Date.parse(records[0]?.ts ?? '2026-01-01T00:00:00Z')
  const transitions: FlowTransition[] = []
  const mon = createFlowMonitor({ ...opts, now: () => t, onTransition: (x) => transitions.push(x) })
  const ops: RenderOp[] = []
  records.forEach((r, i) => {
    t = Math.max(t, Date.parse(r.ts ?? '') || t)
    ops.push(...mon.addRecord(r))
    if (tickEvery > 0 && i % tickEvery === 0) ops.push(...mon.tick())
  })
  ops.push(...mon.end())
  return { mon, ops, lines: screen(ops), transitions, setTime: (x: number) => void (t = x) }
}

/**
 * What each card finally shows on a terminal: rows are attributed to the card on screen, a
 * backtrack erases the current row, a newline keeps it. Rows of a card are joined with `\n`.
 */
function perFlow(ops: RenderOp[]): Record<string, string> {
  const rows: Record<string, string[]> = {}
  let cur = ''
  let row = ''
  const keep = () => {
    ;(rows[cur] ??= []).push(row)
    row = ''
  }
  for (const o of ops) {
    if (o.op === 'header') {
      if (row !== '') keep()
      cur = o.flow_id
    } else if (o.op === 'text') row += o.text
    else if (o.op === 'backtrack') row = ''
    else keep()
  }
  if (row !== '') keep()
  return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.join('\n')]))
}

describe('createFlowMonitor (records → normalizer → registry → renderer → screen)', () => {
  it('renders a Claude Code turn: thinking, text, the Bash command decoded across split escapes, summaries', () => {
    const { lines, transitions, ops } = replay(shared('claude-code-turn.jsonl'))
    expect(lines.filter((l) => l.startsWith('## ')).map((l) => l.split(' ')[1])).toEqual(['cc-turn-1', 'cc-turn-2'])
    const cmd = lines.findIndex((l) => l.startsWith('$ '))
    expect(lines.slice(cmd, cmd + 2)).toEqual(['$ printf "café\\n" && ls -la src/', 'echo "a\\"b" | grep -c \'\\\\\' # 🚀'])
    expect(lines).toContain("I'll list the files and count the lines in the largest one.".replace('the lines', 'lines'))
    expect(lines.filter((l) => l.startsWith('— '))).toEqual([
      '— tool_use · claude-sonnet-4-5-20250929 · in 9 cached 14210 out 187 · ttfb 420ms · 495ms',
      '— end_turn · claude-sonnet-4-5-20250929 · in 220 cached 15530 out 41 · ttfb 420ms · 441ms',
    ])
    expect(transitions.map((x) => [x.flow_id, x.to, x.reason])).toEqual([
      ['cc-turn-1', 'DONE', 'terminal_event'],
      ['cc-turn-2', 'DONE', 'terminal_event'],
    ])
    expect(ops.filter((o) => o.op === 'backtrack')).toHaveLength(1)
    expect(ops.some((o) => o.op === 'text' && o.style === 'thinking')).toBe(true)
  })

  it('renders Codex shell / shell_command / exec_command as commands and apply_patch as text', () => {
    const { lines } = replay(shared('codex-turn.jsonl'))
    expect(lines.filter((l) => l.startsWith('$ '))).toEqual([
      '$ cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20',
      '$ rg -n "parseLine" src/ | head -n 5',
      "$ sed -n '1,40p' src/parse.ts",
    ])
    const patch = lines.indexOf('apply_patch')
    expect(lines[patch + 1]).toBe('*** Begin Patch')
    expect(lines).toContain('*** End Patch')
    expect(lines.filter((l) => l.startsWith('## ')).length).toBe(3)
  })

  it('keeps interleaved sessions apart: one card at a time, each line once, in order', () => {
    const recs = shared('interleaved-sessions.jsonl')
    const { lines } = replay(recs, {}, 1)
    expect(lines).toEqual([
      expect.stringMatching(/^## inter-a aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa claude-code @\d+$/),
      'Session A: checking the git status first.',
      '$ git status --short',
      '— tool_use · claude-sonnet-4-5-20250929 · in 30 cached 8000 out 60 · ttfb 420ms · 468ms',
      expect.stringMatching(/^## inter-b bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb claude-code @\d+$/),
      'Session B: lines removed, lines added, green and red.',
      '— end_turn · claude-sonnet-4-5-20250929 · in 30 cached 8000 out 60 · ttfb 420ms · 456ms',
    ])
    // A zero guard lets the cards alternate, yet each flow's text arrives complete, once, in order.
    const alt = replay(recs, { sessionGuardMs: 0 }, 1)
    expect(alt.lines.filter((l) => l.startsWith('## ')).length).toBeGreaterThan(2)
    expect(perFlow(alt.ops)).toEqual(perFlow(replay(recs, {}, 1).ops))
  })

  it('marks a truncated stream DEAD and says so', () => {
    const { lines, mon, transitions } = replay(shared('truncated-stream.jsonl'))
    expect(transitions.map((x) => [x.to, x.reason])).toEqual([['DEAD', 'incomplete']])
    expect(lines.at(-1)).toMatch(/^— stream ended without its terminal event · /)
    expect(mon.registry.get('trunc-1')?.state).toBe('DEAD')
  })

  it('shows API errors carried inside HTTP 200 streams', () => {
    const { lines } = replay(shared('api-error-in-200.jsonl'))
    expect(lines.filter((l) => l.startsWith('✗ '))).toEqual([
      '✗ overloaded_error: Overloaded',
      expect.stringMatching(/^✗ error \(rate_limit_exceeded\): Rate limit reached/),
    ])
  })

  it('kills an idle flow on tick, shows what it had, and cleans its card', () => {
    const recs = shared('claude-code-turn.jsonl').filter((r) => r.flow_id === 'cc-turn-1').slice(0, 12)
    let t = 0
    const mon = createFlowMonitor({ now: () => t, idleMs: 10_000 })
    const ops: RenderOp[] = []
    for (const r of recs) ops.push(...mon.addRecord(r))
    t = 9_999
    expect(mon.tick()).toEqual([])
    t = 10_000
    const dead = mon.tick()
    expect(screen(dead).at(-1)).toMatch(/^— no data \(idle\), flow marked dead/)
    expect(mon.registry.get('cc-turn-1')).toMatchObject({ state: 'DEAD', deadReason: 'idle' })
    expect(mon.screen.cards()).toEqual([expect.objectContaining({ flow_id: 'cc-turn-1', state: 'DEAD' })])
  })
})

describe('createFlowMonitor: resume', () => {
  it('reopens the card of an idle-dead flow that resumes, and finishes it once', () => {
    const recs = shared('claude-code-turn.jsonl').filter((r) => r.flow_id === 'cc-turn-1')
    let t = 0
    const transitions: string[] = []
    const mon = createFlowMonitor({ now: () => t, idleMs: 1000, onTransition: (x) => transitions.push(`${x.to}:${x.reason}`) })
    const ops: RenderOp[] = []
    for (const r of recs.slice(0, 10)) ops.push(...mon.addRecord(r))
    t = 5000
    ops.push(...mon.tick())
    expect(mon.screen.cards()[0]?.state).toBe('DEAD')
    for (const r of recs.slice(10)) ops.push(...mon.addRecord(r))
    ops.push(...mon.end())
    expect(transitions).toEqual(['DEAD:idle', 'STREAMING:resumed', 'DONE:terminal_event'])
    const lines = screen(ops)
    expect(lines.filter((l) => l.startsWith('$ '))).toEqual(['$ printf "café\\n" && ls -la src/'])
    expect(lines.at(-1)).toMatch(/^— tool_use · /)
  })
})

/**
 * Re-splits the streamed tool arguments of a fixture at random points: runs of Anthropic
 * `input_json_delta` / Responses `function_call_arguments.delta` records of one block are joined
 * and cut again into 1..12 pieces, records renumbered.
 */
function rechunkArgs(records: CanonicalRecord[], rand: () => number): CanonicalRecord[] {
  const out: CanonicalRecord[] = []
  const seqs = new Map<string, number>()
  const push = (r: CanonicalRecord) => {
    if (r.type === 'sse') {
      const n = seqs.get(r.flow_id) ?? 0
      seqs.set(r.flow_id, n + 1)
      out.push({ ...r, seq: n })
    } else out.push(r)
  }
  const argOf = (r: CanonicalRecord): { key: string; text: string; make: (t: string) => string } | undefined => {
    if (r.type !== 'sse' || typeof r.data !== 'string') return undefined
    let d: Record<string, unknown>
    try {
      d = JSON.parse(r.data) as Record<string, unknown>
    } catch {
      return undefined
    }
    const delta = d.delta as { type?: string; partial_json?: string } | undefined
    if (d.type === 'content_block_delta' && delta?.type === 'input_json_delta') {
      return { key: `${r.flow_id}:${String(d.index)}`, text: delta.partial_json ?? '', make: (t) => JSON.stringify({ ...d, delta: { ...delta, partial_json: t } }) }
    }
    if (d.type === 'response.function_call_arguments.delta' && typeof d.delta === 'string') {
      return { key: `${r.flow_id}:${String(d.item_id)}`, text: d.delta, make: (t) => JSON.stringify({ ...d, delta: t }) }
    }
    return undefined
  }
  let i = 0
  while (i < records.length) {
    const r = records[i] as CanonicalRecord
    const a = argOf(r)
    if (!a) {
      push(r)
      i++
      continue
    }
    let text = ''
    let j = i
    for (; j < records.length; j++) {
      const b = argOf(records[j] as CanonicalRecord)
      if (!b || b.key !== a.key) break
      text += b.text
    }
    for (const piece of randomSplit(text, rand, 12)) push({ ...r, data: a.make(piece) })
    i = j
  }
  return out
}

describe('createFlowMonitor: argument chunking does not change the screen', () => {
  it('renders the same lines for every random re-split of the tool arguments', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl']) {
      const recs = shared(name)
      const expected = replay(recs).lines
      const rand = rng(2026)
      let changed = 0
      for (let k = 0; k < 25; k++) {
        const split = rechunkArgs(recs, rand)
        if (split.length !== recs.length) changed++
        const again = replay(split).lines
        // the screen is identical except raw previews, which a backtrack erased anyway
        expect(again.filter((l) => !l.startsWith('##')), `${name} #${k}`).toEqual(expected.filter((l) => !l.startsWith('##')))
      }
      expect(changed).toBeGreaterThan(20)
    }
  })
})

describe('createFlowMonitor: pipes (tty: false)', () => {
  it('never emits a backtrack and prints every row once, even with cards alternating', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl', 'interleaved-sessions.jsonl']) {
      const recs = shared(name)
      const tty = replay(recs, { sessionGuardMs: 0 }, 1)
      const pipe = replay(recs, { sessionGuardMs: 0, tty: false }, 1)
      expect(pipe.ops.some((o) => o.op === 'backtrack'), name).toBe(false)
      // what a pipe shows equals what the terminal finally shows, card by card (rows may split at switches)
      const flat = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.replace(/\n/g, '')]))
      expect(flat(perFlow(pipe.ops)), name).toEqual(flat(perFlow(tty.ops)))
    }
  })
})

describe('createFlowMonitor: WebSocket flows', () => {
  it('renders several responses of one WebSocket connection in one card and ends it once', () => {
    const recs = shared('codex-turn.jsonl').filter((r) => r.flow_id === 'cx-turn-1' || r.flow_id === 'cx-turn-2')
    let seq = 0
    const ws: CanonicalRecord[] = []
    for (const r of recs) {
      if (r.type === 'flow' && r.flow_id === 'cx-turn-1') ws.push({ ...r, flow_id: 'ws-1' })
      else if (r.type === 'sse') ws.push({ ...r, flow_id: 'ws-1', seq: seq++, transport: 'ws' })
    }
    const last = recs.filter((r) => r.type === 'flow_end').at(-1) as CanonicalRecord
    ws.push({ ...last, flow_id: 'ws-1' })
    const { lines, transitions, mon } = replay(ws)
    expect(lines.filter((l) => l.startsWith('## '))).toHaveLength(1)
    expect(lines.filter((l) => l.startsWith('$ '))).toEqual([
      '$ cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20',
      '$ rg -n "parseLine" src/ | head -n 5',
      "$ sed -n '1,40p' src/parse.ts",
    ])
    expect(transitions.map((t) => `${t.to}:${t.reason}`)).toEqual(['DONE:flow_end'])
    expect(mon.registry.get('ws-1')?.counts.messages).toBe(2)
  })
})

describe('createFlowMonitor: clean fixtures raise no errors', () => {
  it('reports nothing for well-formed captures (no spurious lifecycle errors)', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl', 'interleaved-sessions.jsonl']) {
      const errors: string[] = []
      replay(shared(name), { onError: (e) => errors.push(`${e.code}: ${e.message}`) })
      expect(errors, name).toEqual([])
    }
    // the truncated stream is reported by the normalizer, with its flow
    const errors: Array<{ code: string; flow_id: string | undefined }> = []
    replay(shared('truncated-stream.jsonl'), { onError: (e) => errors.push({ code: e.code, flow_id: e.flow_id }) })
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => e.code === 'STREAM_ERROR' && e.flow_id === 'trunc-1')).toBe(true)
  })
})

describe('createFlowMonitor: records after a flow finished', () => {
  it('does not reopen a card or render for a duplicate flow record or late data', () => {
    const recs = shared('claude-code-turn.jsonl').filter((r) => r.flow_id === 'cc-turn-1')
    const errors: string[] = []
    const { mon, ops } = replay(recs, { onError: (e) => errors.push(e.code) })
    const before = ops.length
    const late = [...mon.addRecord(recs[0] as CanonicalRecord), ...mon.addRecord({ ...(recs[3] as CanonicalRecord), seq: 999 })]
    expect(late).toEqual([])
    expect(mon.screen.cards().filter((c) => c.state === 'STREAMING')).toEqual([])
    expect(errors).toEqual(['ILLEGAL_TRANSITION'])
    expect(before).toBeGreaterThan(0)
  })
})
