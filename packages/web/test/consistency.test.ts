/**
 * One call, one set of numbers (issue 14 item 3): every fixture flow goes through the terminal
 * monitor (terminal-view), the web view (its flow index and its flow detail), the live views'
 * calls, the ledger run over the whole capture (`ledgerFromRecords`), and analyze (extractors'
 * index, its `usage` and `errors` rows); the end lines, tokens, outcome and error must agree,
 * call by call.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createExtractor } from '@agenttap/extractors'
import { Writable } from 'node:stream'
import { createLiveCalls, endLine, errorText } from '@agenttap/flow-fsm'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { ledgerFromRecords, type ModelCall } from '@agenttap/ledger'
import { runTerminalView } from '@agenttap/terminal-view'
import { describe, expect, it } from 'vitest'
import { renderConversation, type SseLike } from '../src/conversation.js'
import { createFlowIndex } from '../src/flow-index.js'
import { FIXTURES } from './helpers.js'

type Rec = Record<string, unknown>

const FILES = readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl')).sort()
const records = (file: string): Rec[] =>
  readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Rec)

/** End lines of calls (not the inline error lines): `■ …` or `✗ <outcome> · …`. */
const END_LINE = /^(■|✗) (completed|error|truncated|aborted|upstream_error|dead \([^)]*\))( · |$)/

class Sink extends Writable {
  text = ''
  override _write(chunk: unknown, _e: BufferEncoding, cb: () => void): void {
    this.text += String(chunk)
    cb()
  }
}

async function* items(list: Rec[]): AsyncGenerator<Rec> {
  for (const r of list) yield r
}

/** The end lines the terminal monitor prints for one flow's records. */
async function monitorLines(flow: Rec[]): Promise<string[]> {
  const out = new Sink()
  await runTerminalView({ source: items(flow), output: out, env: {}, color: false, ansi: false })
  return out.text.split('\n').filter((l) => END_LINE.test(l))
}

/** The end lines of the web view's flow detail. */
function webLines(flow: Rec[]): string[] {
  const f = flow.find((r) => r['type'] === 'flow')
  const end = flow.find((r) => r['type'] === 'flow_end')
  const lines = flow.filter((r) => r['type'] === 'sse' || r['type'] === 'client_frame') as unknown as SseLike[]
  const first = flow[0] as Rec
  const r = renderConversation({ flow_id: String(first['flow_id']), session_id: String(first['session_id']), lines, ...(f ? { flow: f } : {}), ...(end ? { end } : {}) }, { finished: true })
  return r.lines.map((l) => l.map((s) => s.text).join('')).filter((l) => END_LINE.test(l))
}

type Row = Record<string, unknown>

/** analyze's `usage` and `errors` rows of a capture made of `records`, keyed `flow_id#call`. */
async function analyzeRows(records: Rec[]): Promise<{ usage: Map<string, Row>; errors: Map<string, Row> }> {
  const root = mkdtempSync(join(tmpdir(), 'agenttap-consistency-'))
  const dir = join(root, 'all-mitm-sse')
  mkdirSync(dir, { recursive: true })
  const file = (t: unknown) => (t === 'flow' ? 'sse_flows.jsonl' : t === 'flow_end' || t === 'sink_gap' ? 'sse_flow_ends.jsonl' : 'sse_lines.jsonl')
  for (const r of records) appendFileSync(join(dir, file(r['type'])), JSON.stringify(r) + '\n')
  const x = await createExtractor({ logDir: root, threads: 1, index: false, includeAux: true })
  try {
    const key = (r: Row) => `${String(r['flow_id'])}#${String(r['call'])}`
    const usage = new Map((await x.run('usage')).rows.map((r) => [key(r), r]))
    const errors = new Map((await x.run('errors')).rows.map((r) => [key(r), r]))
    return { usage, errors }
  } finally {
    x.close()
    rmSync(root, { recursive: true, force: true })
  }
}

describe('monitor, web, the model calls and analyze agree on every fixture flow', () => {
  for (const file of FILES) {
    it(file, async () => {
      const all = records(file)
      const ids = [...new Set(all.map((r) => String(r['flow_id'])))]
      // The calls, as a reader of the whole capture (analyze) gets them.
      const calls = createLiveCalls()
      for (const r of all) calls.feed(r as unknown as CaptureRecord)
      calls.end()
      // The ledger over the whole capture, and analyze's rows of it.
      const analyze = new Map(ledgerFromRecords(all).calls.map((c) => [c.key, c]))
      const rows = await analyzeRows(all)
      const index = createFlowIndex({ now: () => Date.parse('2030-01-01T00:00:00Z') })
      for (const r of all) index.feed(r)
      index.tick()
      let compared = 0
      for (const id of ids) {
        const flow = all.filter((r) => r['flow_id'] === id)
        const mine = calls.calls(id) as ModelCall[]
        for (const c of mine) {
          const a = analyze.get(c.key)
          expect(a, `${file} ${c.key}: a call analyze has too`).toBeDefined()
          expect({ usage: c.usage, outcome: c.outcome, error: c.error, model: c.model, duration_ms: c.duration_ms }, `${file} ${c.key}: the ledger's numbers`).toEqual({
            usage: a?.usage,
            outcome: a?.outcome,
            error: a?.error,
            model: a?.model,
            duration_ms: a?.duration_ms,
          })
          // analyze's rows of the same call
          const u = rows.usage.get(c.key)
          if (c.usage) {
            expect(u, `${file} ${c.key}: analyze usage row`).toBeDefined()
            expect(
              [u?.['input_tokens'], u?.['cache_read_tokens'], u?.['cache_write_tokens'], u?.['output_tokens']].map(Number),
              `${file} ${c.key}: analyze usage`,
            ).toEqual([c.usage.input, c.usage.cache_read, c.usage.cache_write_5m + c.usage.cache_write_1h, c.usage.output])
          }
          const er = rows.errors.get(c.key)
          if (c.error) {
            expect(er, `${file} ${c.key}: analyze errors row`).toBeDefined()
            expect([er?.['outcome'], er?.['message']], `${file} ${c.key}: analyze error`).toEqual([c.outcome, c.error.message])
          } else if (c.outcome === 'completed') expect(er, `${file} ${c.key}: no analyze error`).toBeUndefined()
        }
        const expected = mine.map((c) => endLine(c, c.outcome === 'open' ? 'input ended' : undefined).text)
        expect(await monitorLines(flow), `${file} ${id}: monitor`).toEqual(expected)
        expect(webLines(flow), `${file} ${id}: web detail`).toEqual(expected)
        const s = index.get(id)?.summary
        expect(s, `${file} ${id}: web list`).toBeDefined()
        if (mine.length === 0) continue
        const last = mine[mine.length - 1] as ModelCall
        const withUsage = mine.filter((c) => c.usage)
        if (withUsage.length > 0) {
          const sum = (k: 'input' | 'cache_read' | 'cache_write_5m' | 'cache_write_1h' | 'output') => withUsage.reduce((n, c) => n + (c.usage?.[k] ?? 0), 0)
          expect(s?.usage, `${file} ${id}: web usage`).toMatchObject({ input: sum('input'), cache_read: sum('cache_read'), cache_write_5m: sum('cache_write_5m'), cache_write_1h: sum('cache_write_1h'), output: sum('output') })
        }
        if (flow.some((r) => r['type'] === 'flow_end')) expect(s?.outcome, `${file} ${id}: web outcome`).toBe(last.outcome)
        const failed = mine.find((c) => c.error)
        if (failed?.error) expect(s?.error, `${file} ${id}: web error`).toBe(errorText(failed.error))
        compared += mine.length
      }
      expect(compared, 'calls compared').toBeGreaterThan(0)
    }, 60_000)
  }
})
