import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Sink, fixtureRecords, fixtureText, prng } from '../test/helpers.js'
import { MonitorError } from './errors.js'
import { attachMonitor, createMonitor, runMonitor } from './monitor.js'
import { mergeByTime, paced, readBatches, resolveSourceFiles, type SourceItem } from './sources.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-monitor-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function* items(records: unknown[]): AsyncGenerator<unknown> {
  for (const r of records) yield r
}

describe('runMonitor', () => {
  it('replays a file with a malformed line: one dim warning with its line number, the view goes on', async () => {
    const f = join(dir, 'malformed.jsonl')
    const lines = fixtureText('claude-code-turn.jsonl').trimEnd().split('\n')
    lines.splice(5, 0, '{"v":1,"type":"sse","flow_id":"cc-turn-1", BROKEN', '[1,2,3]')
    writeFileSync(f, lines.join('\n') + '\n')
    const out = new Sink()
    const stats = await runMonitor({ source: f, output: out, replay: true, delayMs: 0 })
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
    await runMonitor({ source: items(recs), output: tty, env: {} })
    expect(tty.text).toContain('\x1b[1;32m$ ')
    const noColor = new Sink({ tty: true })
    await runMonitor({ source: items(recs), output: noColor, env: { NO_COLOR: '1' } })
    expect(noColor.text).not.toMatch(/\x1b\[[0-9;]*m/)
    // still a terminal: the tool-call preview row is erased in place
    expect(noColor.text).toContain('\r\x1b[2K')
  })

  it('--json over a file: NDJSON only, every line parses, warnings go to stderr', async () => {
    const f = join(dir, 'json.jsonl')
    writeFileSync(f, fixtureText('codex-turn.jsonl') + 'not json\n')
    const out = new Sink()
    const err = new Sink()
    await runMonitor({ source: f, output: out, errorOutput: err, replay: true, delayMs: 0, json: true })
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
    expect(resolveSourceFiles(root).map((f) => f.slice(d.length + 1))).toEqual(['sse_lines.jsonl', 'sse_flows.jsonl', 'sse_flow_ends.jsonl'])
    expect(resolveSourceFiles(join(d, 'sse_lines.jsonl'), { siblings: false })).toHaveLength(1)
    const out = new Sink()
    await runMonitor({ source: root, output: out, replay: true, delayMs: 0 })
    // client names come from the flow file, durations from the flow_end file
    expect(out.text).toContain('── claude-code · session 5b6f7a8c')
    expect(out.text).toContain('out 187 · 497 ms')
    expect(out.text).toContain('$ git status --short')
  })

  it('a missing file is a clear error', async () => {
    await expect(runMonitor({ source: join(dir, 'nope.jsonl'), output: new Sink(), replay: true })).rejects.toThrow(/no such file/)
    await expect(runMonitor({ source: join(dir, 'nope.jsonl'), output: new Sink(), replay: true })).rejects.toBeInstanceOf(MonitorError)
  })

  it('follows a growing file (from the end), across a truncation, and stops on abort', async () => {
    const f = join(dir, 'grow.jsonl')
    writeFileSync(f, fixtureText('claude-code-turn.jsonl')) // already there: not shown
    const out = new Sink()
    const ac = new AbortController()
    const done = runMonitor({ source: f, output: out, signal: ac.signal, pollMs: 20, siblings: false, flowEndGraceMs: 0 })
    const until = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(out.text); i++) await new Promise((r) => setTimeout(r, 25))
    }
    await new Promise((r) => setTimeout(r, 100))
    appendFileSync(f, fixtureText('codex-turn.jsonl'))
    await until(/Fixed: `parseLine`/)
    writeFileSync(f, fixtureText('interleaved-sessions.jsonl')) // truncated and rewritten
    await until(/Session B:/)
    ac.abort()
    const stats = await done
    expect(out.text).not.toContain('café')
    expect(out.text).toContain('$ cd repo && npm test')
    expect(out.text).toContain('Session B:')
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
    const done = runMonitor({ source: join(dir, 'live'), output: out, signal: ac.signal, pollMs: 20 })
    await new Promise((r) => setTimeout(r, 150))
    // as a proxy writes them: flow record, then its lines, then its end, each in its own file
    for (const r of fixtureRecords('codex-turn.jsonl')) {
      const f = r.type === 'flow' ? 'sse_flows.jsonl' : r.type === 'sse' ? 'sse_lines.jsonl' : 'sse_flow_ends.jsonl'
      appendFileSync(join(d, f), JSON.stringify(r) + '\n')
    }
    for (let i = 0; i < 200 && !/409 ms/.test(out.text); i++) await new Promise((r) => setTimeout(r, 25))
    ac.abort()
    await done
    expect(out.text).toContain('── codex · session 0199a1b2')
    expect(out.text).toContain('■ completed · gpt-5-codex · in 5.2k (cache read 4.9k) · out 312 (reasoning 192) · 646 ms')
    expect(out.text).toContain('■ completed · gpt-5-codex · in 6.4k (cache read 6.0k) · out 35 · 409 ms')
  })

  it('following a file that is not there yet says so, then shows it once it appears', async () => {
    const f = join(dir, 'later', 'sse_lines.jsonl')
    const out = new Sink()
    const ac = new AbortController()
    const done = runMonitor({ source: f, output: out, signal: ac.signal, pollMs: 20, banner: true, flowEndGraceMs: 0 })
    await new Promise((r) => setTimeout(r, 100))
    mkdirSync(join(dir, 'later'), { recursive: true })
    writeFileSync(f, fixtureText('codex-turn.jsonl'))
    for (let i = 0; i < 200 && !/409 ms/.test(out.text); i++) await new Promise((r) => setTimeout(r, 25))
    ac.abort()
    await done
    expect(out.text).toMatch(/^agenttap-monitor · following .*later\/sse_lines\.jsonl \(not there yet: waiting for it; is the proxy running\?\) · Ctrl-C to stop$/m)
    expect(out.text).toContain('Fixed: `parseLine`')
  })

  it('a log root that does not exist yet: all three files are followed as they appear', async () => {
    const root = join(dir, 'fresh-root')
    const d = join(root, 'all-mitm-sse')
    expect(resolveSourceFiles(root, { follow: true }).map((f) => f.slice(root.length + 1))).toEqual([
      'all-mitm-sse/sse_lines.jsonl',
      'all-mitm-sse/sse_flows.jsonl',
      'all-mitm-sse/sse_flow_ends.jsonl',
    ])
    const out = new Sink()
    const ac = new AbortController()
    const done = runMonitor({ source: root, output: out, signal: ac.signal, pollMs: 20 })
    await new Promise((r) => setTimeout(r, 100))
    mkdirSync(d, { recursive: true })
    const recs = fixtureRecords('claude-code-turn.jsonl')
    writeFileSync(join(d, 'sse_flows.jsonl'), recs.filter((r) => r.type === 'flow').map((r) => JSON.stringify(r) + '\n').join(''))
    await new Promise((r) => setTimeout(r, 100))
    writeFileSync(join(d, 'sse_lines.jsonl'), recs.filter((r) => r.type === 'sse').map((r) => JSON.stringify(r) + '\n').join(''))
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), recs.filter((r) => r.type === 'flow_end').map((r) => JSON.stringify(r) + '\n').join(''))
    for (let i = 0; i < 200 && !/443 ms/.test(out.text); i++) await new Promise((r) => setTimeout(r, 25))
    ac.abort()
    await done
    expect(out.text).toContain('── claude-code · session 5b6f7a8c')
    expect(out.text).toContain('■ completed · end_turn · claude-sonnet-4-5-20250929 · in 220 (cache read 16k) · out 41 · 443 ms')
  })

  it('stopping the viewer does not declare open streams dead', async () => {
    const f = join(dir, 'open.jsonl')
    writeFileSync(f, '')
    const out = new Sink()
    const ac = new AbortController()
    const done = runMonitor({ source: f, output: out, signal: ac.signal, pollMs: 20 })
    await new Promise((r) => setTimeout(r, 100))
    const recs = fixtureRecords('claude-code-turn.jsonl').slice(0, 12) // mid-stream
    appendFileSync(f, recs.map((r) => JSON.stringify(r) + '\n').join(''))
    // piped: a row is written when it ends, so wait for the thinking row (ended by the text block)
    for (let i = 0; i < 150 && !/thinking: .*wc -l\.\n/.test(out.text); i++) await new Promise((r) => setTimeout(r, 25))
    ac.abort()
    await done
    // the open text row is flushed on stop, and nothing claims the stream died
    expect(out.text).toContain("I'll list the files")
    expect(out.text).not.toMatch(/✗ dead|incomplete/)
  })
})

describe('attachMonitor / createMonitor', () => {
  it('attaches to an in-process record stream and stops on demand', async () => {
    const recs = fixtureRecords('codex-turn.jsonl')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    async function* live() {
      for (const r of recs) yield r
      await gate // the proxy keeps running: no more records for now
    }
    const out = new Sink()
    const m = attachMonitor(live(), { output: out })
    await new Promise((r) => setTimeout(r, 50))
    m.stop()
    const stats = await m.done
    release()
    expect(stats.records).toBe(recs.length)
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
    const m = attachMonitor(producer(), { output: out, signal: ac.signal })
    await new Promise((r) => setTimeout(r, 50))
    ac.abort()
    const stats = await m.done
    expect(stats.records).toBe(flow1.length + 6)
    expect(out.text).toContain('■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 497 ms')
    expect(out.text).not.toMatch(/dead|incomplete/)
  })

  it('re-chunked pushes give the same screen: output does not depend on batching', async () => {
    const recs = fixtureRecords('interleaved-sessions.jsonl').concat(fixtureRecords('codex-turn.jsonl'))
    const render = async (seed: number) => {
      const rnd = prng(seed)
      const out = new Sink()
      const m = createMonitor({ output: out, sessionGuardMs: 10_000_000 })
      for (const r of recs) {
        m.push(r)
        if (rnd() < 0.3) await new Promise((res) => setImmediate(res)) // flush at random points
      }
      await m.close()
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
    await runMonitor({ source: f, output: fromFile, replay: true, delayMs: 0, sessionGuardMs: 10_000_000 })
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
      await runMonitor({ source: readBatches(chunks(), { file: f }), output: out, sessionGuardMs: 10_000_000 })
      expect(out.text).toBe(fromFile.text)
    }
    expect(fromFile.text).toMatch(/rechunk\.jsonl:159 .*malformed JSON/)
    expect(fromFile.text).toContain('$ printf "café\\n" && ls -la src/')
  })

  it('a malformed-line warning is shown once even if reported twice', async () => {
    const out = new Sink()
    const m = createMonitor({ output: out })
    const e = Object.assign(new Error('f.jsonl:3 (byte 10): malformed JSON line skipped: x'), { file: 'f.jsonl', line: 3, code: 'MALFORMED_JSON' })
    m.warn(e)
    m.warn(e)
    const stats = await m.close()
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
    await runMonitor({ source: items(recs), output: out, env: {}, showFlowId: true })
    const text = out.text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r\x1b\[2K/g, '')
    expect(text).not.toContain('\x1b')
    expect(text).not.toContain('\x07')
    expect(text).toContain('␛[2J')
    expect(text).toContain("I'll ␛[2J")
  })

  it('--json with --function-only keeps only tool-call events', async () => {
    const out = new Sink()
    await runMonitor({ source: items(fixtureRecords('codex-turn.jsonl')), output: out, json: true, functionOnly: true })
    const types = new Set(out.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { type: string }).type))
    expect([...types].sort()).toEqual(['tool_args_delta', 'tool_call_end', 'tool_call_start'])
  })

  it('rejects bad options with what was expected', () => {
    expect(() => createMonitor({ output: new Sink(), argsSubDeltas: 4 })).toThrow(/expected an integer >= 8/)
    expect(() => createMonitor({ output: new Sink(), sessionGuardMs: -1 })).toThrow(/sessionGuardMs/)
    expect(() => createMonitor({} as never)).toThrow(/writable stream/)
  })
})

describe('sources', () => {
  it('readBatches: binary junk and over-long lines are errors in place (with line numbers); the records around them are kept', async () => {
    const f = join(dir, 'junk.jsonl')
    const recs = fixtureText('truncated-stream.jsonl').trimEnd().split('\n')
    const junk = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x80, 0x0a])
    const long = '{"v":1,"type":"sse","data":"' + 'x'.repeat(9000) + '"}\n'
    writeFileSync(f, Buffer.concat([Buffer.from(recs.slice(0, 3).join('\n') + '\n'), junk, Buffer.from(long), Buffer.from(recs.slice(3).join('\n') + '\n')]))
    const got: SourceItem[] = []
    for await (const b of readBatches(f, { maxLineBytes: 4096, chunkBytes: 777 })) got.push(...b)
    const errs = got.filter((i) => i.error)
    expect(errs.map((e) => [e.error?.code, e.error?.line])).toEqual([
      ['MALFORMED_JSON', 4],
      ['LINE_TOO_LONG', 5],
    ])
    expect(got.filter((i) => !i.error).map((i) => i.line)).toEqual([1, 2, 3, 6, 7, 8, 9])
    // and the view shows both warnings, then the rest of the stream
    const out = new Sink()
    await runMonitor({ source: f, output: out, replay: true, delayMs: 0 })
    expect(out.text).toMatch(/⚠ .*junk\.jsonl:4 .*\n/)
    // the junk's escape sequence (ESC [2J: clear screen) never reaches the terminal
    expect(out.text).not.toContain('\x1b')
    expect(out.text).toContain('\\u001b[2J') // escaped where the error is made (jsonl-io)
    expect(out.text).toContain('✗ upstream_error (incomplete)')
  })

  it('mergeByTime interleaves time-ordered inputs', async () => {
    const mk = (ts: string[]): AsyncIterable<SourceItem> => items(ts.map((t) => ({ value: { ts: t } }))) as AsyncIterable<SourceItem>
    const out: string[] = []
    for await (const it of mergeByTime([mk(['2026-01-01T00:00:01Z', '2026-01-01T00:00:04Z']), mk(['2026-01-01T00:00:02Z', '2026-01-01T00:00:03Z'])])) {
      out.push((it.value as { ts: string }).ts.slice(17, 19))
    }
    expect(out).toEqual(['01', '02', '03', '04'])
  })

  it('paced replays at recorded pace with a speed factor and a gap cap', async () => {
    const src = items([0, 40, 80, 100_000].map((ms) => ({ value: { ts: new Date(Date.UTC(2026, 0, 1) + ms).toISOString() } }))) as AsyncIterable<SourceItem>
    const t0 = Date.now()
    const got: number[] = []
    for await (const _ of paced(src, { speed: 2, maxGapMs: 50 })) got.push(Date.now() - t0)
    // 20 + 20 + 50 (capped) ms of sleeps in total; only the order and the count are asserted
    expect(got).toHaveLength(4)
    expect(got[3]).toBeGreaterThanOrEqual(got[0] as number)
  })
})
