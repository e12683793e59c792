/**
 * The session plot from a capture's history read side by side (issue 20): the three files are
 * followed at their own pace, so a flow's lines can reach the index before its flow record. Every
 * main-lane call must still be a point, the same points as analyze's `context` rows.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createExtractor } from '@agenttap/extractors'
import { afterAll, describe, expect, it } from 'vitest'
import { buildCorpus } from '../../../test-support/cache-corpus.js'
import { capturePaths } from '../src/capture-store.js'
import { createFlowIndex, type FlowIndex } from '../src/flow-index.js'
import { ingestFollow, ingestOnce } from '../src/ingest.js'

type Rec = Record<string, unknown>

const corpus = buildCorpus()
const root = mkdtempSync(join(tmpdir(), 'agenttap-web-timeline-'))
const cap = join(root, 'all-mitm-sse')
mkdirSync(cap, { recursive: true })
const fileOf = (t: unknown): string => (t === 'flow' ? 'sse_flows.jsonl' : t === 'flow_end' ? 'sse_flow_ends.jsonl' : 'sse_lines.jsonl')
for (const r of [...corpus.records].sort((a, b) => String(a['ts']).localeCompare(String(b['ts'])))) appendFileSync(join(cap, fileOf(r['type'])), `${JSON.stringify(r)}\n`)
afterAll(() => rmSync(root, { recursive: true, force: true }))

const NOW = Date.parse('2026-11-20T12:00:00Z')

/** Indexes the capture's history with one of the ingests, as the web server does. */
async function ingest(how: typeof ingestFollow | typeof ingestOnce): Promise<FlowIndex> {
  const index = createFlowIndex({ now: () => NOW })
  const ac = new AbortController()
  const errors: Error[] = []
  let done!: () => void
  const history = new Promise<void>((r) => (done = r))
  const run = how({ paths: capturePaths(root), index, signal: ac.signal, report: (e) => errors.push(e), notice: () => undefined, historyDone: () => done(), pollMs: 20 })
  await history
  ac.abort()
  await run
  expect(errors).toEqual([])
  return index
}

/** analyze's `context` rows, per session, as plot points. */
async function analyzeContext(): Promise<Map<string, Rec[]>> {
  const x = await createExtractor({ logDir: root, threads: 1, index: false })
  try {
    const out = new Map<string, Rec[]>()
    for (const r of (await x.run('context')).rows) {
      const s = String(r['session_id'])
      const p: Rec = { t: Date.parse(String(r['ts'])), context_tokens: r['context_tokens'] }
      if (r['ratio'] !== null) p['context'] = r['ratio']
      out.set(s, [...(out.get(s) ?? []), p])
    }
    return out
  } finally {
    x.close()
  }
}

const plotted = (index: FlowIndex, session: string): Rec[] => index.timeline(session).map((p) => ({ t: p.t, context_tokens: p.context_tokens, ...(p.context !== undefined ? { context: p.context } : {}) }))

describe('the session plot of a capture read from its three files', () => {
  it('the lines file is read ahead of the flows file (large requests): the premise of the test', () => {
    const bytes = (t: string): number => corpus.records.filter((r) => fileOf(r['type']) === t).reduce((n, r) => n + JSON.stringify(r).length, 0)
    expect(bytes('sse_flows.jsonl')).toBeGreaterThan(4 * bytes('sse_lines.jsonl'))
    expect(corpus.records.filter((r) => r['type'] === 'sse').length).toBeGreaterThan(256)
  })

  it.each([['followed', ingestFollow], ['read once', ingestOnce]] as const)('%s: every session\'s points equal analyze\'s context rows', async (_how, how) => {
    const [index, rows] = await Promise.all([ingest(how), analyzeContext()])
    expect(rows.size).toBeGreaterThan(10)
    for (const [session, want] of rows) expect(plotted(index, session), session).toEqual(want)
  })
})
