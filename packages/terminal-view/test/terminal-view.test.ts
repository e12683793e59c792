import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readBatches } from '@agenttap/capture-sources'
import { TerminalViewError } from '../src/errors.js'
import { attachTerminalView, runTerminalView } from '../src/run.js'
import { createTerminalView } from '../src/terminal-view.js'
import { Sink, fixtureRecords, fixtureText, prng, until } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-terminal-view-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function* items(records: unknown[]): AsyncGenerator<unknown> {
  for (const r of records) yield r
}

describe('runTerminalView', () => {
  it('replays a file with a malformed line: one dim warning with its line number, the view goes on', async () => {
    const f = join(dir, 'malformed.jsonl')
    const lines = fixtureText('claude-code-turn.jsonl').trimEnd().split('\n')
    lines.splice(5, 0, '{"v":1,"type":"sse","flow_id":"cc-turn-1", BROKEN', '[1,2,3]')
    writeFileSync(f, lines.join('\n') + '\n')
    const out = new Sink()
    const stats = await runTerminalView({ source: f, output: out, replay: true, delayMs: 0 })
    const text = out.text
    expect(text.match(/malformed\.jsonl:6 \(byte \d+\).*malformed JSON/g)).toHaveLength(1)
    expect(text.match(/malformed\.jsonl:7: skipped, not a capture record: expected a JSON object, got an array/g)).toHaveLength(1)
    expect(stats.warnings).toBe(2)
    expect(text).toContain('$ printf "café\\n" && ls -la src/')
    expect(text).toContain('■ completed · end_turn')
    // the warning appears where the bad line was: after line 5's output, before the text block
    expect(text.indexOf('malformed.jsonl:6')).toBeLessThan(text.indexOf("I'll list the files"))
    expect(text).not.toContain('\x1b')
  })

  it('colours on a TTY, none with NO_COLOR', async () => {
    const recs = fixtureRecords('claude-code-turn.jsonl')
    const tty = new Sink({ tty: true })
    await runTerminalView({ source: items(recs), output: tty, env: {} })
    expect(tty.text).toContain('\x1b[1;32m$ ')
    const noColor = new Sink({ tty: true })
    await runTerminalView({ source: items(recs), output: noColor, env: { NO_COLOR: '1' } })
    expect(noColor.text).not.toMatch(/\x1b\[[0-9;]*m/)
    // still a terminal: the tool-call preview row is erased in place
    expect(noColor.text).toContain('\r\x1b[2K')
  })

  it('--json over a file: NDJSON only, every line parses, warnings go to stderr', async () => {
    const f = join(dir, 'json.jsonl')
    writeFileSync(f, fixtureText('codex-turn.jsonl') + 'not json\n')
    const out = new Sink()
    const err = new Sink()
    await runTerminalView({ source: f, output: out, errorOutput: err, replay: true, delayMs: 0, json: true })
    const lines = out.text.trimEnd().split('\n')
    expect(lines.length).toBeGreaterThan(50)
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow()
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toContain('tool_call_end')
    expect(err.text).toMatch(/json\.jsonl:159 .*malformed JSON/)
  })

  it('a log directory replays its three files merged by time', async () => {
    const root = join(dir, 'logs')
    const d = join(root, 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    const recs = [...fixtureRecords('claude-code-turn.jsonl'), ...fixtureRecords('interleaved-sessions.jsonl')]
    const by = (t: string) => recs.filter((r) => r.type === t).map((r) => JSON.stringify(r) + '\n').join('')
    writeFileSync(join(d, 'sse_flows.jsonl'), by('flow'))
    writeFileSync(join(d, 'sse_lines.jsonl'), by('sse'))
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), by('flow_end'))
    const out = new Sink()
    await runTerminalView({ source: root, output: out, replay: true, delayMs: 0 })
    // client names come from the flow file, the status from the flow_end file
    expect(out.text).toContain('── claude-code · session 5b6f7a8c')
    expect(out.text).toContain('out 187 · 495 ms')
    expect(out.text).toContain('$ git status --short')
  })

  it('a missing file is a clear error', async () => {
    await expect(runTerminalView({ source: join(dir, 'nope.jsonl'), output: new Sink(), replay: true })).rejects.toThrow(/no such file/)
    await expect(runTerminalView({ source: join(dir, 'nope.jsonl'), output: new Sink(), replay: true })).rejects.toBeInstanceOf(TerminalViewError)
  })

  it('follows a growing file (from the end), across a truncation, and stops on abort', async () => {
    const f = join(dir, 'grow.jsonl')
    writeFileSync(f, fixtureText('claude-code-turn.jsonl')) // already there: not shown
    const out = new Sink()
    const ac = new AbortController()
    const done = runTerminalView({ source: f, output: out, signal: ac.signal, pollMs: 20, siblings: false, flowEndGraceMs: 0 })
    // The follower has reached the end of the file once it shows a probe line appended after it.
    await until(() => {
      appendFileSync(f, '{"probe":true}\n')
      return /not a capture record/.test(out.text)
    }, 'the follower to read a probe line')
    appendFileSync(f, fixtureText('codex-turn.jsonl'))
    await until(() => /Fixed: `parseLine`/.test(out.text), 'the appended turn')
    writeFileSync(f, fixtureText('interleaved-sessions.jsonl')) // truncated and rewritten
    await until(() => /Session B:/.test(out.text), 'the records after the truncation')
    ac.abort()
    const stats = await done
    expect(out.text).not.toContain('café')
    expect(out.text).toContain('$ cd repo && npm test')
    expect(out.text).toContain('Session B:')
    expect(out.text).toMatch(/ℹ .*grow\.jsonl.*truncated/)
    expect(stats.ended).toBeGreaterThanOrEqual(5)
  })
})

describe('following a log directory live', () => {
  it('reads sse_flows / sse_flow_ends beside sse_lines: client in the header, outcome and duration in the end line', async () => {
    const d = join(dir, 'live', 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) writeFileSync(join(d, f), '')
    const out = new Sink()
    const ac = new AbortController()
    // (from the start: the files are empty, so this shows what is appended, whenever the follower opens them)
    const done = runTerminalView({ source: join(dir, 'live'), output: out, signal: ac.signal, pollMs: 20, fromStart: true })
    // as a proxy writes them: flow record, then its lines, then its end, each in its own file
    for (const r of fixtureRecords('codex-turn.jsonl')) {
      const f = r.type === 'flow' ? 'sse_flows.jsonl' : r.type === 'sse' ? 'sse_lines.jsonl' : 'sse_flow_ends.jsonl'
      appendFileSync(join(d, f), JSON.stringify(r) + '\n')
    }
    await until(() => /407 ms/.test(out.text), 'the last end line')
    ac.abort()
    await done
    expect(out.text).toContain('── codex · session 0199a1b2')
    expect(out.text).toContain('■ completed · gpt-5-codex · in 346 (cache read 4.9k) · out 312 (reasoning 192) · 644 ms')
    expect(out.text).toContain('■ completed · gpt-5-codex · in 394 (cache read 6.0k) · out 35 · 407 ms')
  })

  it('following a file that is not there yet says so, then shows it once it appears', async () => {
    const f = join(dir, 'later', 'sse_lines.jsonl')
    const out = new Sink()
    const ac = new AbortController()
    // A file that appears later is read from its start (fromStart makes that hold even if it appears before the follower first looks).
    const done = runTerminalView({ source: f, output: out, signal: ac.signal, pollMs: 20, banner: true, flowEndGraceMs: 0, fromStart: true })
    mkdirSync(join(dir, 'later'), { recursive: true })
    writeFileSync(f, fixtureText('codex-turn.jsonl'))
    await until(() => /407 ms/.test(out.text), 'the last end line')
    ac.abort()
    await done
    expect(out.text).toMatch(/^agenttap-monitor · following .*later\/sse_lines\.jsonl \(not there yet: waiting for it; is the proxy running\?\) · Ctrl-C to stop$/m)
    expect(out.text).toContain('Fixed: `parseLine`')
  })

  it('a log root that does not exist yet: all three files are followed as they appear', async () => {
    const root = join(dir, 'fresh-root')
    const d = join(root, 'all-mitm-sse')
    const out = new Sink()
    const ac = new AbortController()
    const done = runTerminalView({ source: root, output: out, signal: ac.signal, pollMs: 20, fromStart: true })
    mkdirSync(d, { recursive: true })
    const recs = fixtureRecords('claude-code-turn.jsonl')
    writeFileSync(join(d, 'sse_flows.jsonl'), recs.filter((r) => r.type === 'flow').map((r) => JSON.stringify(r) + '\n').join(''))
    writeFileSync(join(d, 'sse_lines.jsonl'), recs.filter((r) => r.type === 'sse').map((r) => JSON.stringify(r) + '\n').join(''))
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), recs.filter((r) => r.type === 'flow_end').map((r) => JSON.stringify(r) + '\n').join(''))
    await until(() => /441 ms/.test(out.text), 'the last end line')
    ac.abort()
    await done
    expect(out.text).toContain('── claude-code · session 5b6f7a8c')
    expect(out.text).toContain('■ completed · end_turn · claude-sonnet-4-5-20250929 · in 220 (cache read 16k) · out 41 · 441 ms')
  })

  it('stopping the viewer does not declare open streams dead', async () => {
    const f = join(dir, 'open.jsonl')
    writeFileSync(f, '')
    const out = new Sink()
    const ac = new AbortController()
    const done = runTerminalView({ source: f, output: out, signal: ac.signal, pollMs: 20, fromStart: true })
    const recs = fixtureRecords('claude-code-turn.jsonl').slice(0, 12) // mid-stream
    appendFileSync(f, recs.map((r) => JSON.stringify(r) + '\n').join(''))
    // piped: a row is written when it ends, so wait for the thinking row (ended by the text block)
    await until(() => /thinking: .*wc -l\.\n/.test(out.text), 'the thinking row')
    ac.abort()
    await done
    // the open text row is flushed on stop, and nothing claims the stream died
    expect(out.text).toContain("I'll list the files")
    expect(out.text).not.toMatch(/✗ dead|incomplete/)
  })
})

describe('attachTerminalView / createTerminalView', () => {
  it('attaches to an in-process record stream and stops on demand', async () => {
    const recs = fixtureRecords('codex-turn.jsonl')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    async function* live() {
      for (const r of recs) yield r
      await gate // the proxy keeps running: no more records for now
    }
    const out = new Sink()
    const m = attachTerminalView(live(), { output: out })
    await until(() => /Fixed: `parseLine`/.test(out.text), 'the last text of the turn')
    m.close()
    const stats = await m.done
    release()
    expect(stats?.records).toBe(recs.length)
    expect(out.text).toContain('Fixed: `parseLine`')
  })

  it('stop(): records the producer flushes right after (a proxy ending its open flows) are still shown; open ones are not declared dead', async () => {
    const turn = fixtureRecords('claude-code-turn.jsonl')
    const flow1 = turn.filter((r) => r.flow_id === 'cc-turn-1')
    const flow2 = turn.filter((r) => r.flow_id === 'cc-turn-2')
    const ac = new AbortController()
    async function* producer() {
      for (const r of flow1.slice(0, -1)) yield r // flow 1 streamed, its flow_end not yet written
      for (const r of flow2.slice(0, 6)) yield r // flow 2 mid-stream
      await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }))
      yield flow1[flow1.length - 1] as Record<string, unknown> // flushed as the proxy stops
      await new Promise((r) => setTimeout(r, 5000)) // and then nothing
    }
    const out = new Sink()
    let fed = 0
    const m = attachTerminalView(
      (async function* () {
        for await (const r of producer()) {
          fed++
          yield r
        }
      })(),
      { output: out, signal: ac.signal },
    )
    await until(() => fed >= flow1.length - 1 + 6, 'the records before the stop')
    ac.abort()
    const stats = await m.done
    expect(stats?.records).toBe(flow1.length + 6)
    expect(out.text).toContain('■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 495 ms')
    expect(out.text).not.toMatch(/dead|incomplete/)
  })

  it('re-chunked pushes give the same screen: output does not depend on batching', async () => {
    const recs = fixtureRecords('interleaved-sessions.jsonl').concat(fixtureRecords('codex-turn.jsonl'))
    const render = async (seed: number) => {
      const rnd = prng(seed)
      const out = new Sink()
      const m = createTerminalView({ output: out, sessionGuardMs: 10_000_000 })
      for (const r of recs) {
        m.feed(r)
        if (rnd() < 0.3) await new Promise((res) => setImmediate(res)) // flush at random points
      }
      await m.end()
      return out.text
    }
    const a = await render(1)
    expect(await render(2)).toBe(a)
    expect(await render(3)).toBe(a)
    expect(a).toContain('$ git status --short')
  })

  it('bytes re-chunked at random split points (seeded) give the same screen as the file, malformed line included', async () => {
    const text = fixtureText('codex-turn.jsonl') + '{"broken\n' + fixtureText('claude-code-turn.jsonl')
    const f = join(dir, 'rechunk.jsonl')
    writeFileSync(f, text)
    const fromFile = new Sink()
    await runTerminalView({ source: f, output: fromFile, replay: true, delayMs: 0, sessionGuardMs: 10_000_000 })
    const bytes = Buffer.from(text)
    for (const seed of [1, 2, 3, 4]) {
      const rnd = prng(seed)
      async function* chunks() {
        let i = 0
        while (i < bytes.length) {
          const n = 1 + Math.floor(rnd() * 200)
          yield bytes.subarray(i, i + n) // splits UTF-8 characters and escapes too
          i += n
        }
      }
      const out = new Sink()
      await runTerminalView({ source: readBatches(chunks(), { file: f }), output: out, sessionGuardMs: 10_000_000 })
      expect(out.text).toBe(fromFile.text)
    }
    expect(fromFile.text).toMatch(/rechunk\.jsonl:159 .*malformed JSON/)
    expect(fromFile.text).toContain('$ printf "café\\n" && ls -la src/')
  })

  it('a malformed-line warning is shown once even if reported twice', async () => {
    const out = new Sink()
    const m = createTerminalView({ output: out })
    const e = Object.assign(new Error('f.jsonl:3 (byte 10): malformed JSON line skipped: x'), { file: 'f.jsonl', line: 3, code: 'MALFORMED_JSON' })
    m.warn(e)
    m.warn(e)
    const stats = await m.end()
    expect(stats.warnings).toBe(1)
    expect(out.text.match(/f\.jsonl:3/g)).toHaveLength(1)
  })

  it('captured data cannot drive the terminal: escapes in ids, model text and errors are made visible', async () => {
    const evil = '\x1b[2J\x1b]0;pwned\x07'
    const recs = fixtureRecords('claude-code-turn.jsonl').map((r) => ({
      ...r,
      session_id: `${evil}sess`,
      ...(r.type === 'flow' ? { client: `claude${evil}` } : {}),
      ...(r.type === 'sse' ? { data: String(r.data).replace('I\'ll list ', `I'll ${evil.replace(/\x1b/g, '\\u001b').replace(/\x07/g, '\\u0007')} list `) } : {}),
      ...(r.type === 'flow_end' ? { outcome: `completed${evil}` } : {}),
    }))
    const out = new Sink({ tty: true })
    await runTerminalView({ source: items(recs), output: out, env: {}, showFlowId: true })
    const text = out.text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r\x1b\[2K/g, '')
    expect(text).not.toContain('\x1b')
    expect(text).not.toContain('\x07')
    expect(text).toContain('␛[2J')
    expect(text).toContain("I'll ␛[2J")
  })

  it('--json with --function-only keeps only tool-call events', async () => {
    const out = new Sink()
    await runTerminalView({ source: items(fixtureRecords('codex-turn.jsonl')), output: out, json: true, functionOnly: true })
    const types = new Set(out.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { type: string }).type))
    expect([...types].sort()).toEqual(['tool_args_delta', 'tool_call_end', 'tool_call_start'])
  })

  it('rejects bad options with what was expected', () => {
    expect(() => createTerminalView({ output: new Sink(), argsSubDeltas: 4 })).toThrow(/expected an integer >= 8/)
    expect(() => createTerminalView({ output: new Sink(), sessionGuardMs: -1 })).toThrow(/sessionGuardMs/)
    expect(() => createTerminalView({} as never)).toThrow(/writable stream/)
  })
})

describe('reader errors on the view', () => {
  it('binary junk and a JSON value that is not a record: a warning each, in place, escapes never reach the terminal; the rest of the stream is shown', async () => {
    const f = join(dir, 'junk.jsonl')
    const recs = fixtureText('truncated-stream.jsonl').trimEnd().split('\n')
    const junk = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x80, 0x0a])
    writeFileSync(f, Buffer.concat([Buffer.from(recs.slice(0, 3).join('\n') + '\n'), junk, Buffer.from('[1,2]\n'), Buffer.from(recs.slice(3).join('\n') + '\n')]))
    const out = new Sink()
    await runTerminalView({ source: f, output: out, replay: true, delayMs: 0 })
    expect(out.text).toMatch(/⚠ .*junk\.jsonl:4 .*\n/)
    expect(out.text).toMatch(/⚠ junk\.jsonl:5: skipped, not a capture record/)
    // the junk's escape sequence (ESC [2J: clear screen) never reaches the terminal
    expect(out.text).not.toContain('\x1b')
    expect(out.text).toContain('\\u001b[2J') // escaped where the error is made (jsonl-io)
    expect(out.text).toContain('✗ truncated · ')
  })
})

describe('a view never takes its producer down', () => {
  const base = { v: 1, ts: '2026-11-20T10:00:00.000Z', session_id: 's-1' }
  /** A Claude Code flow whose one tool call has `args` as arguments, streamed in 3-character deltas. */
  function toolFlow(flow_id: string, args: string): Record<string, unknown>[] {
    const sse = (seq: number, event: string, data: unknown) => ({ ...base, type: 'sse', flow_id, seq, event, data: JSON.stringify(data) })
    const recs: Record<string, unknown>[] = [
      { ...base, type: 'flow', flow_id, client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' },
      sse(0, 'message_start', { type: 'message_start', message: { id: 'm', model: 'claude-x', role: 'assistant', usage: { input_tokens: 1, output_tokens: 0 } } }),
      sse(1, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Edit', input: {} } }),
    ]
    let seq = 2
    for (let i = 0; i < args.length; i += 3) recs.push(sse(seq++, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + 3) } }))
    recs.push(sse(seq++, 'content_block_stop', { type: 'content_block_stop', index: 0 }))
    recs.push(sse(seq++, 'message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } }))
    recs.push(sse(seq++, 'message_stop', { type: 'message_stop' }))
    recs.push({ ...base, type: 'flow_end', flow_id, outcome: 'completed', status: 200 })
    return recs
  }

  it('15,000 levels of nested tool arguments (30 KB) print in bounded size, with the depth marker', async () => {
    const depth = 15_000
    const out = new Sink({ tty: true })
    await runTerminalView({ source: items(toolFlow('deep', `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`)), output: out, env: {} })
    expect(out.text).toContain('«nested deeper than 64 levels: shown compact»')
    expect(out.text).toContain('■ completed · tool_use · claude-x')
    expect(out.text.length).toBeLessThan(200_000)
  })

  it('a record the view fails on is reported and skipped; the next records are shown', async () => {
    const out = new Sink()
    const err = new Sink()
    const diagnostics: Error[] = []
    const view = createTerminalView({ output: out, errorOutput: err, onDiagnostic: (e) => diagnostics.push(e) })
    const poisoned = { ...base, type: 'flow', flow_id: 'bad', session_id: 's-1' }
    Object.defineProperty(poisoned, 'url', { enumerable: true, get: () => { throw new RangeError('Invalid string length') } })
    expect(() => view.feed(poisoned)).not.toThrow()
    for (const r of fixtureRecords('codex-turn.jsonl')) view.feed(r)
    const stats = await view.end()
    expect(stats.failures).toBe(1)
    expect(diagnostics.map((d) => (d as { code?: string }).code)).toContain('VIEW_FAILED')
    expect(err.text).toMatch(/the live view failed on flow bad .*Invalid string length/)
    expect(out.text).toContain('Fixed: `parseLine`')
  })

  it('an output that throws fails the view, not the process; a producer that throws ends an attached view quietly', async () => {
    const diagnostics: Error[] = []
    const broken = new Sink()
    broken.write = (() => {
      throw new Error('EIO: the terminal went away')
    }) as never
    const attached = attachTerminalView(items(fixtureRecords("claude-code-turn.jsonl")) as AsyncIterable<Record<string, unknown>>, { output: broken, errorOutput: new Sink(), onDiagnostic: (e) => diagnostics.push(e) })
    await attached.done
    expect(diagnostics.some((d) => /EIO/.test(d.message))).toBe(true)
    async function* failing() {
      yield fixtureRecords('claude-code-turn.jsonl')[0] as Record<string, unknown>
      throw new Error('the proxy hub broke')
    }
    const second = attachTerminalView(failing(), { output: new Sink(), onDiagnostic: (e) => diagnostics.push(e) })
    await expect(second.done).resolves.toBeUndefined()
    expect(diagnostics.some((d) => /the proxy hub broke/.test(d.message))).toBe(true)
  })
})
