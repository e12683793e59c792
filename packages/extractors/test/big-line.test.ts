import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// Lines over DuckDB's default 16 MiB object size (and over 2× it, where DuckDB's own buffer
// gives up) must be read, not dropped: the extractor grows the limit and reruns.
let dir: string
const PROMPT = 'p'.repeat(40 * 1024 * 1024)
const TEXT = 't'.repeat(20 * 1024 * 1024)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'extractors-big-'))
  const cap = join(dir, 'all-mitm-sse')
  mkdirSync(cap)
  const base = { v: 1, ts: '2026-01-01T00:00:00.000Z', flow_id: 'f1', session_id: 's1' }
  writeFileSync(join(cap, 'sse_flows.jsonl'), JSON.stringify({ ...base, type: 'flow', client: 'claude-code', provider: 'anthropic', request_body: { model: 'claude-haiku-4-5', tools: [{ name: 'Bash' }], messages: [{ role: 'user', content: PROMPT }] } }) + '\n')
  const ev = (seq: number, data: object) => JSON.stringify({ ...base, type: 'sse', seq, event: (data as { type: string }).type, data: JSON.stringify(data) })
  writeFileSync(join(cap, 'sse_lines.jsonl'), [
    ev(0, { type: 'message_start', message: { model: 'claude-haiku-4-5', usage: { input_tokens: 9, output_tokens: 1 } } }),
    ev(1, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: TEXT } }),
    ev(2, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }),
  ].join('\n') + '\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('reads a 40 MiB request line and a 20 MiB event line', async () => {
  const x = await createExtractor({ logDir: dir, threads: 1 })
  try {
    const prompts = (await x.run('user_prompts')).rows
    expect(prompts).toHaveLength(1)
    expect(String(prompts[0]!.text).length).toBe(PROMPT.length)
    const text = (await x.run('assistant_text')).rows
    expect(String(text[0]!.text).length).toBe(TEXT.length)
    expect((await x.run('usage')).rows.map((r) => [r.input_tokens, r.output_tokens])).toEqual([[9, 7]])
    expect(Object.values(await x.countMalformed())).toEqual([0, 0])
  } finally {
    x.close()
  }
}, 60_000)

it('a cap below the line size is a clear error, not silent loss', async () => {
  const x = await createExtractor({ logDir: dir, threads: 1, maxObjectBytes: 20 * 1024 * 1024 })
  try {
    await expect(x.run('user_prompts')).rejects.toMatchObject({ code: 'QUERY_FAILED', message: expect.stringMatching(/longer than 20971520 bytes/) })
  } finally {
    x.close()
  }
}, 60_000)
