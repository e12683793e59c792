import { describe, expect, it } from 'vitest'
import { JsonStreamFormatter, createStreamNormalizer, encodeSseEvent, formatJsonValue, normalizeRecords, type AgentEvent, type NormalizerError } from '../src/index.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES_DIR, loadFixtureFlows, prng, rechunk, type FixtureFlow } from './helpers.js'

// Flows whose response is a stream (HTTP flows answered with one JSON body have no sse records).
const flows = loadFixtureFlows().filter((f) => f.sse.length > 0)
const SEEDS = 40

/** The flow's records numbered 0, 1, 2… as feedBytes numbers the events it frames (WebSocket flows share their seq numbers with the client's frames). */
const renumbered = (f: FixtureFlow): FixtureFlow['sse'] => f.sse.map((r, seq) => ({ ...r, seq }))

function viaBytes(f: FixtureFlow, wire: Uint8Array, seed: number): { events: AgentEvent[]; errors: string[] } {
  const events: AgentEvent[] = []
  const errors: string[] = []
  const n = createStreamNormalizer({ flow_id: f.flow_id, flow: f.flow, onEvent: (e) => events.push(e), onError: (e: NormalizerError) => errors.push(e.code) })
  for (const chunk of rechunk(wire, prng(seed))) n.feedBytes(chunk)
  n.end()
  return { events, errors }
}

function wireOf(f: FixtureFlow, eol: '\n' | '\r\n' | '\r', extras: boolean): Uint8Array {
  let s = extras ? '\ufeff: agenttap fixture replay' + eol + 'retry: 3000' + eol + eol : ''
  for (const r of f.sse) {
    s += encodeSseEvent(r, eol)
    // Heartbeats between events must not change anything.
    if (extras && r.seq % 3 === 0) s += `: ping${eol}${eol}`
  }
  return new TextEncoder().encode(s)
}

describe('fixture replay', () => {
  it('finds the fixtures', () => {
    expect(flows.length).toBeGreaterThanOrEqual(5)
    expect(new Set(flows.map((f) => f.file)).size).toBeGreaterThanOrEqual(5)
  })

  for (const f of flows) {
    describe(`${f.file} ${f.flow_id}`, () => {
      const reference = normalizeRecords(f.sse, { flow_id: f.flow_id, flow: f.flow })

      it('normalizes every record into events, never silently', () => {
        expect(reference.provider).not.toBe('unknown')
        expect(reference.events.length).toBeGreaterThan(0)
        expect(reference.events.every((e) => e.flow_id === f.flow_id)).toBe(true)
        const last = reference.events[reference.events.length - 1]
        expect(last?.type).toBe('message_end')
        // One message per response: a WebSocket flow carries several.
        const starts = reference.events.filter((e) => e.type === 'message_start').length
        expect(reference.events.filter((e) => e.type === 'message_end')).toHaveLength(Math.max(1, starts))
        // No record of a known provider is left unexplained.
        expect(reference.events.filter((e) => e.type === 'unknown')).toEqual([])
      })

      for (const [eol, label] of [['\n', 'LF'], ['\r\n', 'CRLF'], ['\r', 'CR']] as const) {
        it(`gives the same events as feedRecord for ${SEEDS} random chunkings of the ${label} wire bytes`, () => {
          const wire = wireOf(f, eol, label !== 'LF')
          const ref = normalizeRecords(renumbered(f), { flow_id: f.flow_id, flow: f.flow })
          for (let seed = 1; seed <= SEEDS; seed++) {
            const got = viaBytes(f, wire, seed * 7919 + eol.length)
            expect(got.events, `seed ${seed}`).toEqual(ref.events)
            expect(got.errors, `seed ${seed}`).toEqual(ref.errors.map((e) => e.code))
          }
        })
      }

      it('reassembles every tool call exactly as the raw fragments join', () => {
        const ends = reference.events.filter((e) => e.type === 'tool_call_end')
        for (const end of ends) {
          const deltas = reference.events.filter((e) => e.type === 'tool_args_delta' && e.call_id === end.call_id)
          expect(deltas.map((d) => (d.type === 'tool_args_delta' ? d.delta : '')).join('')).toBe(end.arguments)
          if (end.kind !== 'custom') expect(end.parsed).toEqual(JSON.parse(end.arguments))
          expect(end.parse_error).toBeUndefined()
        }
      })

      it('pretty-prints every JSON tool call incrementally from its deltas, equal to a full pretty-print', () => {
        for (const end of reference.events) {
          if (end.type !== 'tool_call_end' || end.kind === 'custom') continue
          const deltas = reference.events.flatMap((d) => (d.type === 'tool_args_delta' && d.call_id === end.call_id ? [d.delta] : []))
          for (const decodeStrings of [true, false]) {
            const errors: NormalizerError[] = []
            const fmt = new JsonStreamFormatter({ decodeStrings, onError: (e) => errors.push(e) })
            const out = deltas.map((d) => fmt.feed(d)).join('') + fmt.end()
            expect(out).toBe(decodeStrings ? formatJsonValue(end.parsed) : JSON.stringify(end.parsed, null, 2))
            expect(errors).toEqual([])
          }
        }
      })
    })
  }
})

describe('fixture facts', () => {
  const byId = new Map(flows.map((f) => [f.flow_id, f]))
  const events = (id: string): AgentEvent[] => {
    const f = byId.get(id)
    if (f === undefined) throw new Error(`fixture flow ${id} missing`)
    return normalizeRecords(f.sse, { flow_id: f.flow_id, flow: f.flow }).events
  }

  it('claude-code-turn: the Bash call with escapes split across fragments parses to the raw-joined input', () => {
    const f = byId.get('cc-turn-1')!
    const raw = f.sse
      .map((r) => JSON.parse(r.data) as { type: string; index?: number; delta?: { type: string; partial_json?: string } })
      .filter((d) => d.type === 'content_block_delta' && d.delta?.type === 'input_json_delta')
      .map((d) => d.delta?.partial_json ?? '')
      .join('')
    const end = events('cc-turn-1').find((e) => e.type === 'tool_call_end')
    expect(end).toMatchObject({ name: 'Bash', call_id: 'toolu_01FixtureBash000000001', kind: 'function', index: 2 })
    expect(end?.type === 'tool_call_end' && end.parsed).toEqual(JSON.parse(raw))
    const cmd = (JSON.parse(raw) as { command: string }).command
    expect(cmd).toContain('café')
    expect(cmd).toContain('🚀')
  })

  it('claude-code-turn: thinking, signature and text arrive as their own deltas; usage is cumulative', () => {
    const ev = events('cc-turn-1')
    expect(ev.some((e) => e.type === 'thinking_delta' && e.kind === 'thinking' && e.text.length > 0)).toBe(true)
    expect(ev.some((e) => e.type === 'thinking_delta' && e.kind === 'signature')).toBe(true)
    expect(ev.some((e) => e.type === 'text_delta')).toBe(true)
    const usages = ev.filter((e) => e.type === 'usage')
    const last = usages[usages.length - 1]
    expect(last?.type === 'usage' && last.usage).toMatchObject({ input_tokens: 9, output_tokens: 187, cache_read_input_tokens: 14210 })
    expect(ev[ev.length - 1]).toMatchObject({ type: 'message_end', stop_reason: 'tool_use' })
  })

  it('codex-turn: shell, shell_command, exec_command and apply_patch calls with their call ids', () => {
    const calls = [...events('cx-turn-1'), ...events('cx-turn-2')].filter((e) => e.type === 'tool_call_end')
    expect(calls.map((c) => [c.name, c.kind, c.call_id])).toEqual([
      ['shell', 'function', 'call_FixtureShell0001'],
      ['shell_command', 'function', 'call_FixtureShellCmd02'],
      ['exec_command', 'function', 'call_FixtureExecCmd03'],
      ['apply_patch', 'custom', 'call_FixturePatch0004'],
    ])
    const shell = calls[0]
    expect(shell?.type === 'tool_call_end' && (shell.parsed as { command: string[] }).command.slice(0, 2)).toEqual(['bash', '-lc'])
    const patch = calls[3]
    expect(patch?.type === 'tool_call_end' && patch.arguments.startsWith('*** Begin Patch')).toBe(true)
    expect(patch?.type === 'tool_call_end' && 'parsed' in patch).toBe(false)
  })

  it('codex-turn: reasoning summaries, output text and usage with cached and reasoning tokens', () => {
    const ev1 = events('cx-turn-1')
    expect(ev1.some((e) => e.type === 'thinking_delta' && e.kind === 'summary')).toBe(true)
    expect(ev1.find((e) => e.type === 'usage')).toMatchObject({ usage: { input_tokens: 5210, output_tokens: 312, cache_read_input_tokens: 4864, reasoning_tokens: 192, total_tokens: 5522 }, cumulative: true })
    const ev3 = events('cx-turn-3')
    expect(ev3.filter((e) => e.type === 'text_delta').map((e) => (e.type === 'text_delta' ? e.text : '')).join('').length).toBeGreaterThan(0)
    expect(ev3[ev3.length - 1]).toMatchObject({ type: 'message_end', stop_reason: 'completed' })
  })

  it('codex-websocket: three responses on one flow, each its own message with its own usage (the first replaces, later ones add)', () => {
    const ev = events('cx-ws-1')
    expect(ev.filter((e) => e.type === 'message_start').map((e) => (e.type === 'message_start' ? e.message_id : ''))).toEqual(['resp_ws_fixture_1', 'resp_ws_fixture_2', 'resp_ws_fixture_3'])
    expect(ev.filter((e) => e.type === 'message_end').map((e) => (e.type === 'message_end' ? [e.stop_reason, e.incomplete] : []))).toEqual([['completed', undefined], ['completed', undefined], ['completed', undefined]])
    expect(ev.flatMap((e) => (e.type === 'usage' ? [[e.usage.total_tokens, e.cumulative]] : []))).toEqual([[2240, true], [2000, false], [2630, false]])
  })

  it('chat-completions-tools: both parallel tool calls end with their joined arguments', () => {
    expect(events('chat-tools-1').flatMap((e) => (e.type === 'tool_call_end' ? [[e.call_id, e.arguments]] : []))).toEqual([
      ['call_FixtureChatMain', '{"branch":"main"}'],
      ['call_FixtureChatRel', '{"branch":"release-2.4"}'],
    ])
  })

  it('truncated-stream: ends with message_end incomplete', () => {
    const ev = events('trunc-1')
    expect(ev[ev.length - 1]).toEqual({ type: 'message_end', flow_id: 'trunc-1', provider: 'anthropic', incomplete: true })
  })

  it('api-error-in-200: both API errors surface as error events', () => {
    expect(events('err-anthropic-1').filter((e) => e.type === 'error')).toMatchObject([{ error_type: 'overloaded_error', message: 'Overloaded' }])
    const resp = events('err-responses-1')
    expect(resp.filter((e) => e.type === 'error')).toMatchObject([{ code: 'rate_limit_exceeded' }])
    expect(resp[resp.length - 1]).toMatchObject({ type: 'message_end', stop_reason: 'failed' })
  })
})

describe('fixture replay with binary junk', () => {
  const enc = new TextEncoder()
  for (const f of flows) {
    it(`${f.file} ${f.flow_id}: junk lines between events are reported and every real event survives`, () => {
      const reference = normalizeRecords(renumbered(f), { flow_id: f.flow_id, flow: f.flow }).events
      const rand = prng(f.sse.length)
      const parts: Uint8Array[] = []
      for (const r of f.sse) {
        parts.push(enc.encode(encodeSseEvent(r)))
        if (rand() < 0.3) {
          const junk = new Uint8Array(1 + Math.floor(rand() * 40))
          for (let i = 0; i < junk.length; i++) {
            // Any byte except line ends, so the junk stays one bogus line ended by a blank line.
            let b = Math.floor(rand() * 256)
            if (b === 10 || b === 13) b = 0
            junk[i] = b
          }
          parts.push(junk, enc.encode('\n\n'))
        }
      }
      const wire = new Uint8Array(parts.reduce((a, p) => a + p.length, 0))
      let o = 0
      for (const p of parts) {
        wire.set(p, o)
        o += p.length
      }
      const events: AgentEvent[] = []
      const errors: NormalizerError[] = []
      const n = createStreamNormalizer({ flow_id: f.flow_id, flow: f.flow, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) })
      for (const c of rechunk(wire, prng(99))) n.feedBytes(c)
      n.end()
      // Junk lines are not events (no data field): the event sequence is untouched.
      expect(events).toEqual(reference)
      if (parts.length > f.sse.length) expect(errors.some((e) => e.code === 'SSE_UNKNOWN_FIELD' || e.code === 'INVALID_UTF8')).toBe(true)
      for (const e of errors) if (e.code === 'INVALID_UTF8') expect(typeof e.offset).toBe('number')
    })
  }
})

describe('capture directory (the three files the proxy writes)', () => {
  it('gives every flow the same events as its scenario file', () => {
    const dir = join(FIXTURES_DIR, 'capture/all-mitm-sse')
    const read = (f: string): Record<string, unknown>[] =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    const flowRecs = new Map(read('sse_flows.jsonl').map((r) => [r['flow_id'] as string, r]))
    const lines = new Map<string, FixtureFlow['sse']>()
    for (const r of read('sse_lines.jsonl')) {
      // The client's WebSocket frames share the file (and the seq numbers) with the server's events.
      if (r['type'] !== 'sse') continue
      const id = r['flow_id'] as string
      const list = lines.get(id) ?? []
      list.push(r as unknown as FixtureFlow['sse'][number])
      lines.set(id, list)
    }
    let compared = 0
    for (const f of flows) {
      const flow = flowRecs.get(f.flow_id)
      const sse = lines.get(f.flow_id)
      if (flow === undefined || sse === undefined) continue
      sse.sort((a, b) => a.seq - b.seq)
      const got = normalizeRecords(sse, { flow_id: f.flow_id, flow })
      expect(got.events).toEqual(normalizeRecords(f.sse, { flow_id: f.flow_id, flow: f.flow }).events)
      compared++
    }
    expect(compared).toBe(flows.length)
  })
})
