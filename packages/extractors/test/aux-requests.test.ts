import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import type { Extractor } from '../src/index.js'

// Claude Code sends auxiliary requests in the same session (a `quota` probe with max_tokens 1,
// topic / title detection that repeats the user's text); they offer no tools and are not prompts.
let dir: string
let x: Extractor

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'extractors-aux-'))
  const cap = join(dir, 'all-mitm-sse')
  mkdirSync(cap)
  const tools = [{ name: 'Bash', input_schema: { type: 'object' } }]
  const flows = [
    { id: 'q', t: 0, body: { model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'quota' }] } },
    { id: 'main1', t: 1, body: { model: 'claude-sonnet-4-5', tools, messages: [{ role: 'user', content: 'first task' }] } },
    { id: 'topic', t: 2, body: { model: 'claude-haiku-4-5', system: 'Analyze if this message indicates a new conversation topic', messages: [{ role: 'user', content: 'second task' }] } },
    { id: 'main2', t: 3, body: { model: 'claude-sonnet-4-5', tools, messages: [{ role: 'user', content: 'first task' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'second task' }] } },
  ]
  const rec = (f: (typeof flows)[number], type: string, extra: object) => JSON.stringify({ v: 1, type, ts: `2026-03-01T00:00:0${f.t}.000Z`, flow_id: f.id, session_id: 's', ...extra })
  writeFileSync(join(cap, 'sse_flows.jsonl'), flows.map((f) => rec(f, 'flow', { client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages', request_body: f.body })).join('\n') + '\n')
  // Each request got a (non-streamed, empty) answer: the ledger makes a call of every model flow that ended.
  writeFileSync(join(cap, 'sse_flow_ends.jsonl'), flows.map((f) => rec(f, 'flow_end', { outcome: 'completed', status: 200, events: 0 })).join('\n') + '\n')
  x = await createExtractor({ logDir: dir, threads: 1, index: false })
})
afterAll(() => {
  x?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('user_prompts and the reverse scan skip them', async () => {
  const want = [['main1', 'first task'], ['main2', 'second task']]
  expect((await x.run('user_prompts')).rows.map((r) => [r.flow_id, r.text])).toEqual(want)
  expect((await x.run('user_prompts', { limit: 10 })).rows.map((r) => [r.flow_id, r.text])).toEqual(want)
})

it('turns start at real prompts only; auxiliary requests are not in any turn', async () => {
  expect((await x.run('turns')).rows.map((r) => [r.turn, r.prompt, r.flows])).toEqual([
    [1, 'first task', 1],
    [2, 'second task', 1],
  ])
})
