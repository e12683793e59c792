import { describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLiveView, type LiveJsonEvent, type LiveViewOptions } from '../src/live-view.js'
import { opsToString } from '../src/render-ops.js'
import type { RenderOp } from '../src/types.js'
import { fixtureRecords, randomSplit, rng } from './helpers.js'

/** What a terminal shows for the ops: a backtrack erases the current row. */
function screenText(ops: readonly RenderOp[]): string {
  const done: string[] = []
  let row = ''
  for (const op of ops) {
    if (op.op === 'text') row += op.text
    else if (op.op === 'backtrack') row = ''
    else if (op.op === 'newline') {
      done.push(row)
      row = ''
    } else {
      if (row !== '') done.push(row)
      row = ''
      done.push(opsToString([op]).replace(/\n$/, ''))
    }
  }
  if (row !== '') done.push(row)
  return done.length === 0 ? '' : done.join('\n') + '\n'
}

type Rec = Record<string, unknown>

/** Feeds records with a fake clock advancing `stepMs` per record; returns the plain screen text. */
function run(records: Rec[], opts: Partial<LiveViewOptions> = {}, stepMs = 10) {
  let now = 1_000_000
  const ops: RenderOp[] = []
  const p = createLiveView({ now: () => now, onOps: (o) => ops.push(...o), ...opts })
  for (const r of records) {
    p.feed(r as unknown as CaptureRecord)
    now += stepMs
    p.tick()
  }
  p.end()
  return { text: screenText(ops), ops, stats: p.stats }
}

/** Rows of the ops, attributed to the card whose header preceded them. */
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

describe('live view on the fixtures', () => {
  it('Claude Code turn: thinking, text, the Bash call as $ <command> (escapes decoded), end lines from the calls', () => {
    const { text, stats, ops } = run(fixtureRecords('claude-code-turn.jsonl'))
    expect(text).toContain('thinking: The user wants the files in src/ and the line count of the largest.')
    expect(text).toContain("I'll list the files and count lines in the largest one.")
    expect(text).toContain('$ printf "café\\n" && ls -la src/\necho "a\\"b" | grep -c \'\\\\\' # 🚀\n')
    expect(text).not.toContain('"command"')
    expect(text).toContain('■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 495 ms')
    expect(text).toContain('■ completed · end_turn · claude-sonnet-4-5-20250929 · in 220 (cache read 16k) · out 41 · 441 ms')
    // two cards: one header per flow, each flow's output contiguous
    expect(text.match(/^── /gm)).toHaveLength(2)
    expect(stats.liveFlows).toBe(0)
    expect(stats.ended).toBe(2)
    // the shell preview row is erased once, by the command
    expect(ops.filter((o) => o.op === 'backtrack')).toHaveLength(1)
  })

  it('tool results sent back in the next request open its card (dim; failures in red)', () => {
    const cc = run(fixtureRecords('claude-code-turn.jsonl')).text
    expect(cc).toMatch(/── cc-turn-2 .*\n↳ Bash result: café \(\+4 lines\)\nThe largest file/)
    const { text, ops } = run(fixtureRecords('codex-turn.jsonl'))
    expect(text).toContain('↳ shell result exit 1: FAIL tests/parse.test.ts (+1 line)\n↳ shell_command result: src/parse.ts:12:')
    expect(ops.find((o) => o.op === 'text' && o.text.startsWith('↳ shell result exit 1'))).toMatchObject({ style: 'error' })
    expect(run(fixtureRecords('codex-turn.jsonl'), { functionOnly: true }).text).not.toContain('↳')
    expect(run(fixtureRecords('codex-turn.jsonl'), { toolResults: false }).text).not.toContain('↳')
  })

  it('card headers carry the time the flow started (its first record), not the wall clock', () => {
    const recs = fixtureRecords('claude-code-turn.jsonl')
    const starts = recs.filter((r) => r.type === 'flow').map((r) => Date.parse(String(r.ts)))
    const headers = run(recs).ops.filter((o) => o.op === 'header')
    expect(headers.map((h) => h.op === 'header' && h.ts)).toEqual(starts)
    const clock = run(recs, { headerTime: 'clock' }).ops.filter((o) => o.op === 'header')
    expect(clock.every((h) => h.op === 'header' && h.ts >= 1_000_000 && h.ts < 2_000_000)).toBe(true)
  })

  it('Codex turn: shell bash -lc, shell_command and exec_command become $ lines; apply_patch shows raw; reasoning summary; usage in the ledger convention', () => {
    const { text } = run(fixtureRecords('codex-turn.jsonl'))
    expect(text).toContain('$ cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20\n')
    expect(text).toContain('$ rg -n "parseLine" src/ | head -n 5\n')
    expect(text).toContain("$ sed -n '1,40p' src/parse.ts\n")
    expect(text).toContain('apply_patch\n*** Begin Patch\n*** Update File: src/parse.ts\n')
    expect(text).toContain('reasoning: **Inspecting the failing test**')
    expect(text).not.toMatch(/"-lc"/)
    // `in` is the prompt billed at the base price: OpenAI's cached tokens are taken out of it
    expect(text).toContain('■ completed · gpt-5-codex · in 346 (cache read 4.9k) · out 312 (reasoning 192) · 644 ms')
    expect(text).not.toContain('completed · completed')
    expect(run(fixtureRecords('codex-turn.jsonl'), { labels: false }).text).not.toContain('reasoning: ')
  })

  it('errors inside HTTP 200 streams are red lines in one format, and the end line says error', () => {
    const { text, ops } = run(fixtureRecords('api-error-in-200.jsonl'))
    expect(text).toContain('✗ overloaded_error: Overloaded\n')
    expect(text).toContain('✗ rate_limit_exceeded: Rate limit reached')
    const endLines = ops.filter((o) => o.op === 'text' && /^✗ error · /.test(o.text))
    expect(endLines.length).toBe(2)
    expect(endLines.every((o) => o.op === 'text' && o.style === 'error')).toBe(true)
  })

  it('parallel tool calls (Chat Completions, interleaved deltas) are shown one after another, each as $ <command>', () => {
    const base = { v: 1, ts: '2026-11-20T10:00:00.000Z', session_id: 's-1', flow_id: 'chat1' }
    const chunk = (tc: unknown[], finish?: string) =>
      JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: tc }, finish_reason: finish ?? null }] })
    const argsA = ['{"command":', '["bash","-lc",', '"ls -la', ' src"]}']
    const argsB = ['{"command":', '["bash","-lc",', '"git status', ' --short"]}']
    const datas = [
      chunk([{ index: 0, id: 'call_a', type: 'function', function: { name: 'shell', arguments: '' } }]),
      chunk([{ index: 1, id: 'call_b', type: 'function', function: { name: 'shell', arguments: '' } }]),
    ]
    for (let i = 0; i < argsA.length; i++) {
      datas.push(chunk([{ index: 0, function: { arguments: argsA[i] } }]))
      datas.push(chunk([{ index: 1, function: { arguments: argsB[i] } }]))
    }
    datas.push(JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }), '[DONE]')
    const recs = [
      { ...base, type: 'flow', client: 'unknown', provider: 'openai', url: 'https://api.openai.com/v1/chat/completions' },
      ...datas.map((data, seq) => ({ ...base, type: 'sse', seq, data })),
    ]
    expect(run(recs).text).toContain('$ ls -la src\n$ git status --short\n')
  })

  it('a multi-line error message is one error line', () => {
    const base = { v: 1, ts: '2026-11-20T10:00:00.000Z', session_id: 's-1', flow_id: 'e1' }
    const { text } = run([
      { ...base, type: 'flow', client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' },
      { ...base, type: 'sse', seq: 0, event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'first line\nsecond line' } }) },
    ])
    expect(text).toContain('✗ api_error: first line second line\n')
  })

  it('a truncated stream ends as truncated, with the transport error of its flow_end', () => {
    const { text } = run(fixtureRecords('truncated-stream.jsonl'))
    expect(text).toMatch(/✗ truncated · .* · 30\.4 s · ECONNRESET: upstream socket closed before the stream ended\n/)
  })

  it('a stream still open when the input ends is shown as dead (input ended)', () => {
    const recs = fixtureRecords('claude-code-turn.jsonl').filter((r) => r.flow_id === 'cc-turn-1').slice(0, 12)
    expect(run(recs).text).toMatch(/\n✗ dead \(input ended\) · claude-sonnet-4-5-20250929 · in 9 /)
  })

  it('interleaved sessions: the first card keeps the screen for the guard, no per-delta ping-pong', () => {
    const recs = fixtureRecords('interleaved-sessions.jsonl')
    const guarded = run(recs, { sessionGuardMs: 2000 })
    expect(guarded.text.match(/^── inter-[ab]/gm)).toEqual(['── inter-a', '── inter-b'])
    // B's text is shown whole, after A finished
    expect(guarded.text.indexOf('Session B:')).toBeGreaterThan(guarded.text.indexOf('$ git status --short'))
    // without a guard the screen switches as soon as the other card has output, each row still whole and once
    const unguarded = run(recs, { sessionGuardMs: 0 })
    expect((unguarded.text.match(/^── inter-[ab]/gm) ?? []).length).toBeGreaterThan(2)
    expect(perFlow(unguarded.ops)).toEqual(perFlow(guarded.ops))
  })

  it('session guard: a silent current card yields once the guard has passed (before it finishes)', () => {
    const slow = run(fixtureRecords('interleaved-sessions.jsonl'), { sessionGuardMs: 2000 }, 3000)
    expect((slow.text.match(/^── inter-[ab]/gm) ?? []).length).toBeGreaterThan(2)
  })

  it('the same screen for every random re-split of the streamed tool arguments', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl']) {
      const recs = fixtureRecords(name)
      const expected = run(recs).text
      const rand = rng(2026)
      let changed = 0
      for (let k = 0; k < 25; k++) {
        const split = rechunkArgs(recs, rand)
        if (split.length !== recs.length) changed++
        expect(run(split).text, `${name} #${k}`).toBe(expected)
      }
      expect(changed).toBeGreaterThan(20)
    }
  }, 60_000)

  it('without previews (pipes) no backtrack is ever emitted and every row is printed once, even with cards alternating', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl', 'interleaved-sessions.jsonl']) {
      const recs = fixtureRecords(name)
      const tty = run(recs, { sessionGuardMs: 0 }, 1)
      const pipe = run(recs, { sessionGuardMs: 0, preview: false }, 1)
      expect(pipe.ops.some((o) => o.op === 'backtrack'), name).toBe(false)
      // what a pipe shows equals what the terminal finally shows, card by card (rows may split at switches)
      const flat = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.replace(/\n/g, '')]))
      expect(flat(perFlow(pipe.ops)), name).toEqual(flat(perFlow(tty.ops)))
    }
  })

  it('well-formed captures raise no diagnostics; the truncated stream is reported with its flow', () => {
    for (const name of ['claude-code-turn.jsonl', 'codex-turn.jsonl', 'interleaved-sessions.jsonl']) {
      const errors: string[] = []
      run(fixtureRecords(name), { onDiagnostic: (e) => errors.push(e.message) })
      expect(errors, name).toEqual([])
    }
    const errors: Array<{ code?: string; flow_id?: string }> = []
    run(fixtureRecords('truncated-stream.jsonl'), { onDiagnostic: (e) => errors.push(e as never) })
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => e.flow_id === 'trunc-1')).toBe(true)
  })
})

describe('filters and modes', () => {
  const all = [...fixtureRecords('claude-code-turn.jsonl'), ...fixtureRecords('codex-turn.jsonl')]

  it('sessions keeps only sessions with that id prefix', () => {
    const { text, stats } = run(all, { sessions: ['0199a1b2'] })
    expect(text).toContain('$ cd repo && npm test')
    expect(text).not.toContain('café')
    expect(stats.filteredFlows).toBe(2)
  })

  it('clients keeps only that client', () => {
    const cc = run(all, { clients: ['claude-code'] })
    expect(cc.text).toContain('café')
    expect(cc.text).not.toContain('npm test')
    expect(run(all, { clients: ['unknown'] }).text).toBe('')
  })

  it('clients infers the client from the stream when no flow record is read', () => {
    const cx = run(all.filter((r) => r.type !== 'flow'), { clients: ['codex'] })
    expect(cx.text).toContain('npm test')
    expect(cx.text).not.toContain('café')
  })

  it('functionOnly shows tool calls and nothing else', () => {
    const { text } = run(all, { functionOnly: true })
    expect(text).toContain('$ printf')
    expect(text).toContain('$ cd repo && npm test')
    expect(text).not.toContain('thinking:')
    expect(text).not.toContain("I'll list the files")
    expect(text).not.toContain('■ completed')
  })

  it('the JSON tap gives every unified event with session_id and client, and renders nothing', () => {
    const json: LiveJsonEvent[] = []
    const { text } = run(all, { onJson: (e) => json.push(e) })
    expect(text).toBe('')
    const types = new Set(json.map((e) => e.type))
    for (const t of ['message_start', 'text_delta', 'thinking_delta', 'tool_call_start', 'tool_args_delta', 'tool_call_end', 'usage', 'message_end']) {
      expect(types.has(t as never)).toBe(true)
    }
    expect(json.every((e) => typeof e.session_id === 'string' && e.session_id.length > 0)).toBe(true)
    expect(json.find((e) => e.flow_id === 'cc-turn-1')?.client).toBe('claude-code')
    const end = json.find((e) => e.type === 'tool_call_end' && e.name === 'Bash')
    expect(end && end.type === 'tool_call_end' && (end.parsed as { command: string }).command).toMatch(/^printf "café/)
  })
})

describe('tool results (found by e2e/clients with the real clients)', () => {
  it('the JSON tap gives a tool_result event for each result a request carries', () => {
    const json: LiveJsonEvent[] = []
    run(fixtureRecords('claude-code-turn.jsonl'), { onJson: (e) => json.push(e) })
    const results = json.filter((e) => e.type === 'tool_result')
    expect(results.map((e) => e.type === 'tool_result' && [e.call_id, e.name, e.is_error, e.output.split('\n')[0]])).toEqual([['toolu_01FixtureBash000000001', 'Bash', false, 'café']])
    expect(results[0]?.client).toBe('claude-code')
    // The result opens the next flow, before that flow's stream.
    const i = json.indexOf(results[0] as LiveJsonEvent)
    expect(json[i + 1]?.type).toBe('message_start')
    expect(json[i + 1]?.flow_id).toBe(results[0]?.flow_id)
    // --function-only keeps only tool calls.
    const fn: LiveJsonEvent[] = []
    run(fixtureRecords('claude-code-turn.jsonl'), { onJson: (e) => fn.push(e), functionOnly: true })
    expect(fn.some((e) => e.type === 'tool_result')).toBe(false)
  })

  it('a WebSocket flow shows the tool outputs of its client frames (Codex sends them on the socket), not those of the first frame twice', () => {
    const recs = fixtureRecords('codex-websocket.jsonl')
    const { text } = run(recs)
    expect(text).toContain('↳ exec_command result exit 1: FAIL')
    expect(text).toContain('↳ apply_patch result: Success. Updated the following files:')
    expect(text.split('↳').length - 1).toBe(2)
    const json: LiveJsonEvent[] = []
    run(recs, { onJson: (e) => json.push(e) })
    expect(json.filter((e) => e.type === 'tool_result').map((e) => e.type === 'tool_result' && [e.call_id, e.exit_code ?? null, e.is_error])).toEqual([
      ['call_WsExec0001', 1, true],
      ['call_WsPatch0002', null, false],
    ])
  })
})

describe('robustness', () => {
  const base = { v: 1, ts: '2026-11-20T10:00:00.000Z', session_id: 's-1' }
  const sse = (flow_id: string, seq: number, data: unknown, event?: string) => ({ ...base, type: 'sse', flow_id, seq, data: typeof data === 'string' ? data : JSON.stringify(data), ...(event ? { event } : {}) })

  it('unknown event types are shown as such and the view goes on', () => {
    const recs = [
      { ...base, type: 'flow', flow_id: 'u1', client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' },
      sse('u1', 0, { type: 'message_start', message: { id: 'm', model: 'x', role: 'assistant', usage: { input_tokens: 1, output_tokens: 0 } } }, 'message_start'),
      sse('u1', 1, { type: 'brand_new_event', foo: 1 }, 'brand_new_event'),
      sse('u1', 2, '{not json', 'content_block_delta'),
      sse('u1', 3, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
      sse('u1', 4, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'still here' } }, 'content_block_delta'),
      sse('u1', 5, { type: 'message_stop' }, 'message_stop'),
    ]
    const { text } = run(recs)
    expect(text).toContain('? unknown brand_new_event')
    expect(text).toContain('still here')
    expect(text).toMatch(/^■ completed · x · in 1 · out 0/m)
  })

  it('a flow that goes silent is shown as dead (idle) and dropped', () => {
    let now = 0
    const ops: RenderOp[] = []
    const p = createLiveView({ now: () => now, idleMs: 5000, onOps: (o) => ops.push(...o) })
    p.feed(sse('i1', 0, { type: 'message_start', message: { id: 'm', model: 'x', role: 'assistant' } }, 'message_start') as never)
    p.feed(sse('i1', 1, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } }, 'content_block_delta') as never)
    now = 6000
    p.tick()
    expect(screenText(ops)).toMatch(/hello\n✗ dead \(idle\) · x\n/)
    expect(p.stats.liveFlows).toBe(0)
  })

  it('a flow record arriving after the first lines still names the client in the header', () => {
    const recs = fixtureRecords('claude-code-turn.jsonl').filter((r) => r.flow_id === 'cc-turn-2')
    const flow = recs.find((r) => r.type === 'flow') as Rec
    const rest = recs.filter((r) => r.type !== 'flow')
    const { text } = run([rest[0] as Rec, { ...flow, client: 'my-agent' }, ...rest.slice(1)])
    expect(text).toMatch(/^── cc-turn-2 · .* · my-agent · /m)
  })

  it('a request that never streams and never ends is dropped silently when idle', () => {
    let now = 0
    const ops: RenderOp[] = []
    const p = createLiveView({ now: () => now, idleMs: 5000, onOps: (o) => ops.push(...o) })
    p.feed({ ...base, type: 'flow', flow_id: 'nostream', client: 'claude-code', url: 'https://api.anthropic.com/v1/messages/count_tokens' } as never)
    now = 6000
    p.tick()
    expect(ops).toEqual([])
    expect(p.stats.liveFlows).toBe(0)
  })

  it('an HTTP error without a stream ends with its status and the error of the flow_end', () => {
    const { text } = run([
      { ...base, type: 'flow', flow_id: 'h1', client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages', status: 529 },
      { ...base, ts: '2026-11-20T10:00:00.012Z', type: 'flow_end', flow_id: 'h1', outcome: 'error', status: 529, duration_ms: 12, error: { type: 'overloaded_error', message: 'Overloaded' } },
    ])
    expect(text).toContain('✗ error · 12 ms · HTTP 529 · overloaded_error: Overloaded\n')
  })

  it('memory stays bounded: thousands of flows, nothing held once they ended', () => {
    let now = 0
    let opsCount = 0
    const p = createLiveView({ now: () => now, onOps: (o) => (opsCount += o.length) })
    const turn = fixtureRecords('claude-code-turn.jsonl')
    for (let i = 0; i < 1500; i++) {
      for (const r of turn) p.feed({ ...r, flow_id: `${String(r.flow_id)}-${i}`, session_id: `sess-${i % 7}` } as never)
      now += 100
      if (i % 10 === 0) p.tick()
    }
    expect(p.stats.ended).toBe(3000)
    expect(p.stats.liveFlows).toBe(0)
    expect(opsCount).toBeGreaterThan(3000)
  }, 60_000)

  it('a WebSocket flow (Codex over WS) shows response after response in one card, one end line per call', () => {
    const codex = fixtureRecords('codex-turn.jsonl')
    const ws = 'ws-flow-1'
    let seq = 0
    const recs = [
      { ...codex.find((r) => r.type === 'flow'), flow_id: ws },
      ...codex.filter((r) => r.type === 'sse' && r.flow_id !== 'cx-turn-3').map((r) => ({ ...r, flow_id: ws, seq: seq++, transport: 'ws' })),
      { ...codex.filter((r) => r.type === 'flow_end').pop(), flow_id: ws },
    ]
    // 50 ms per record: far more than the 1 s end-line grace passes between the responses
    const { text, stats } = run(recs, {}, 50)
    expect(text.match(/^── /gm)).toHaveLength(1)
    expect(text.match(/^■ completed · gpt-5-codex · in \d+ \(cache read [\d.]+k\) · out \d+ \(reasoning \d+\)/gm)).toHaveLength(2)
    expect(text).toContain('$ cd repo && npm test')
    expect(text).toContain("$ sed -n '1,40p' src/parse.ts")
    expect(stats.ended).toBe(1)
  })

  it('late records of an ended flow are ignored (no second card)', () => {
    const turn = fixtureRecords('claude-code-turn.jsonl').filter((r) => r.flow_id === 'cc-turn-2')
    const late = turn.filter((r) => r.type === 'sse').slice(2, 3)
    const { text } = run([...turn, ...late, turn[0] as Rec])
    expect(text.match(/^── /gm)).toHaveLength(1)
  })

  it('end line without a flow_end record: the stop reason after the outcome', () => {
    const { text } = run(fixtureRecords('claude-code-turn.jsonl').filter((r) => r.type !== 'flow_end'))
    expect(text).toContain('■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9')
    expect(text).toContain('■ completed · end_turn · claude-sonnet-4-5-20250929 · in 220')
  })

  it('rejects a bad end grace', () => {
    expect(() => createLiveView({ onOps: () => undefined, flowEndGraceMs: -1 })).toThrow(/flowEndGraceMs/)
  })
})

/**
 * Re-splits the streamed tool arguments of a fixture at random points: runs of Anthropic
 * `input_json_delta` / Responses `function_call_arguments.delta` records of one block are joined
 * and cut again into 1..12 pieces, records renumbered.
 */
function rechunkArgs(records: Rec[], rand: () => number): Rec[] {
  const out: Rec[] = []
  const seqs = new Map<string, number>()
  const push = (r: Rec) => {
    if (r.type === 'sse') {
      const n = seqs.get(String(r.flow_id)) ?? 0
      seqs.set(String(r.flow_id), n + 1)
      out.push({ ...r, seq: n })
    } else out.push(r)
  }
  const argOf = (r: Rec): { key: string; text: string; make: (t: string) => string } | undefined => {
    if (r.type !== 'sse' || typeof r.data !== 'string') return undefined
    let d: Record<string, unknown>
    try {
      d = JSON.parse(r.data) as Record<string, unknown>
    } catch {
      return undefined
    }
    const delta = d.delta as { type?: string; partial_json?: string } | undefined
    if (d.type === 'content_block_delta' && delta?.type === 'input_json_delta') {
      return { key: `${String(r.flow_id)}:${String(d.index)}`, text: delta.partial_json ?? '', make: (t) => JSON.stringify({ ...d, delta: { ...delta, partial_json: t } }) }
    }
    if (d.type === 'response.function_call_arguments.delta' && typeof d.delta === 'string') {
      return { key: `${String(r.flow_id)}:${String(d.item_id)}`, text: d.delta, make: (t) => JSON.stringify({ ...d, delta: t }) }
    }
    return undefined
  }
  let i = 0
  while (i < records.length) {
    const r = records[i] as Rec
    const a = argOf(r)
    if (!a) {
      push(r)
      i++
      continue
    }
    let text = ''
    let j = i
    for (; j < records.length; j++) {
      const b = argOf(records[j] as Rec)
      if (!b || b.key !== a.key) break
      text += b.text
    }
    for (const piece of randomSplit(text, rand, 12)) push({ ...r, data: a.make(piece) })
    i = j
  }
  return out
}
