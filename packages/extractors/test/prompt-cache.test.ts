import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// The prompt cache (`.index/latest-prompts.json`) an update merges its flows' prompts into must be
// the one a rebuild of the index writes: checked after every update, against a fresh index of a
// copy of the capture. Stand-in ledger (test/support/toy-ledger.mjs): a flow's first call carries
// its `request_body.prompt`; a WebSocket flow has one call per `response.completed`.
const TOY = pathToFileURL(join(import.meta.dirname, 'support', 'toy-ledger.mjs')).href
const tmp = mkdtempSync(join(tmpdir(), 'extractors-prompt-cache-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const T = (s: number): string => new Date(Date.parse('2026-03-01T10:00:00.000Z') + s * 1000).toISOString()
const FILES = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'] as const
let n = 0

function capture() {
  const root = join(tmp, `cap${n++}`)
  const dir = join(root, 'all-mitm-sse')
  mkdirSync(dir, { recursive: true })
  for (const f of FILES) writeFileSync(join(dir, f), '')
  const put = (f: (typeof FILES)[number], o: object): void => appendFileSync(join(dir, f), JSON.stringify({ v: 1, ...o }) + '\n')
  return {
    root,
    dir,
    /** A flow with a prompt; ended unless `open`. */
    flow(id: string, t: number, session: string, prompt: string, o: { open?: boolean; ws?: boolean } = {}) {
      put('sse_flows.jsonl', { type: 'flow', ts: T(t), flow_id: id, session_id: session, client: 'claude-code', provider: 'anthropic', ...(o.ws ? { transport: 'ws' } : {}), request_body: { prompt } })
      put('sse_lines.jsonl', { type: 'sse', ts: T(t + 0.1), flow_id: id, session_id: session, seq: 0, data: JSON.stringify(o.ws ? { type: 'response.completed' } : { type: 'text_delta', text: 'ok' }) })
      if (!o.open) this.end(id, t + 0.2, session)
    },
    end(id: string, t: number, session: string) {
      put('sse_flow_ends.jsonl', { type: 'flow_end', ts: T(t), flow_id: id, session_id: session, outcome: 'completed', status: 200, events: 1 })
    },
  }
}

type Cache = { complete: boolean; rows: Record<string, unknown>[] }
const cacheOf = (root: string): Cache => {
  const c = JSON.parse(readFileSync(join(root, 'all-mitm-sse', '.index', 'latest-prompts.json'), 'utf8')) as Cache & { stamp: string }
  return { complete: c.complete, rows: c.rows }
}

/** Updates the index (one run, as the CLI does); returns its prompt cache. */
async function update(root: string): Promise<Cache> {
  const x = await createExtractor({ logDir: root, ledgerModule: TOY, threads: 1 })
  try {
    await x.refresh()
  } finally {
    x.close()
  }
  return cacheOf(root)
}

/** The prompt cache of a new index of the capture as it is now. */
async function rebuilt(c: ReturnType<typeof capture>): Promise<Cache> {
  const root = join(tmp, `copy${n++}`)
  mkdirSync(join(root, 'all-mitm-sse'), { recursive: true })
  for (const f of FILES) copyFileSync(join(c.dir, f), join(root, 'all-mitm-sse', f))
  return update(root)
}

describe('the prompt cache after an update', () => {
  it('holding every prompt: merged = rebuilt (new prompts, retries, open flows ending, a ws flow)', async () => {
    const c = capture()
    for (let i = 0; i < 20; i++) c.flow(`a${i}`, i, `s${i % 3}`, `prompt ${i}`)
    c.flow('open1', 30, 's1', 'still open', { open: true })
    c.flow('ws1', 31, 's2', 'over ws', { ws: true, open: true })
    expect(await update(c.root)).toEqual(await rebuilt(c))

    c.flow('r1', 40, 's0', 'prompt 3') // a retry of an earlier prompt of the session: collapses into it
    c.flow('r2', 41, 's1', 'prompt 3') // the same text in another session: a prompt of its own
    c.end('open1', 42, 's1')
    c.flow('b1', 43, 's3', 'ünïcödé 🙂')
    c.flow('b2', 43, 's3', 'same time')
    let merged = await update(c.root)
    expect(merged.complete).toBe(true)
    expect(merged.rows.map((r) => r.text)).toContain('ünïcödé 🙂')
    expect(merged).toEqual(await rebuilt(c))

    c.end('ws1', 50, 's2')
    merged = await update(c.root)
    expect(merged).toEqual(await rebuilt(c))
    // An update with nothing new keeps it as it is.
    expect(await update(c.root)).toEqual(merged)
  })

  it('holding the latest 500 of more: merged = rebuilt, also for a new flow older than the cache and a retry of an uncached prompt', async () => {
    const c = capture()
    for (let i = 0; i < 560; i++) c.flow(`p${i}`, i, `s${i % 7}`, `prompt ${i}`)
    c.flow('late', 600, 's1', 'open at the end', { open: true })
    const first = await update(c.root)
    expect(first.complete).toBe(false)
    expect(first.rows).toHaveLength(500)
    expect(first).toEqual(await rebuilt(c))

    for (let i = 0; i < 30; i++) c.flow(`q${i}`, 700 + i, `s${i % 5}`, `new prompt ${i}`)
    c.flow('old', 5.5, 's2', 'written late, started early') // ranks below every cached row
    c.flow('retry', 701.5, 's0', 'prompt 0') // its group started at 0 s: the row stays out of the cache
    c.end('late', 702, 's1')
    expect(await update(c.root)).toEqual(await rebuilt(c))

    for (let i = 0; i < 3; i++) c.flow(`z${i}`, 800 + i, 's9', `z ${i}`)
    expect(await update(c.root)).toEqual(await rebuilt(c))
  })
})
