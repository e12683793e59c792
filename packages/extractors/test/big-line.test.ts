import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// Lines of tens of MiB (a long conversation's request, a huge text delta) are read whole; a line
// over the cap is reported with its location and skipped, the rest indexed.
let dir: string
const PROMPT = 'p'.repeat(40 * 1024 * 1024)
const TEXT = 't'.repeat(12 * 1024 * 1024) // under the ledger's 16 MiB per-call text cap

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

it('reads a 40 MiB request line and a 12 MiB event line', async () => {
  const x = await createExtractor({ logDir: dir, threads: 1, index: false })
  try {
    // The ledger keeps the first 256 KiB of a prompt (session-extractor's maxChars), with a note.
    const prompts = (await x.run('user_prompts')).rows
    expect(prompts).toHaveLength(1)
    expect(String(prompts[0]!.text).startsWith('p'.repeat(262_144))).toBe(true)
    expect(String(prompts[0]!.text).length).toBeLessThan(263_000)
    const text = (await x.run('assistant_text')).rows
    expect(String(text[0]!.text).length).toBe(TEXT.length)
    expect((await x.run('usage')).rows.map((r) => [r.input_tokens, r.output_tokens])).toEqual([[9, 7]])
    expect((await x.problems()).byCode.LINE_TOO_LONG).toBeUndefined()
  } finally {
    x.close()
  }
}, 60_000)

it('a line over the cap is reported with its location, not lost silently', async () => {
  const x = await createExtractor({ logDir: dir, threads: 1, index: false, maxLineBytes: 30 * 1024 * 1024 })
  try {
    expect((await x.run('user_prompts')).rows).toEqual([])
    const p = await x.problems()
    expect(p.byCode.LINE_TOO_LONG).toBe(1)
    expect(p.first.find((q) => q.code === 'LINE_TOO_LONG')).toMatchObject({ line: 1, offset: 0, message: expect.stringMatching(/over the 31457280-byte cap/) })
    expect(String(p.first.find((q) => q.code === 'LINE_TOO_LONG')?.file)).toMatch(/sse_flows\.jsonl$/)
  } finally {
    x.close()
  }
}, 60_000)

it('indexes a call whose row is larger than the 16 MiB the row files are read with when rows are small', async () => {
  // The row files are read with a JSON object size cap that follows their largest row: a call
  // with 12 Mi euro signs of text (under the ledger's 16 Mi characters a call) is one ~36 MiB row.
  const euros = '€'.repeat(12 * 1024 * 1024)
  const big = mkdtempSync(join(tmpdir(), 'extractors-big-row-'))
  try {
    const cap = join(big, 'all-mitm-sse')
    mkdirSync(cap)
    const base = { v: 1, ts: '2026-01-01T00:00:00.000Z', flow_id: 'f1', session_id: 's1' }
    writeFileSync(join(cap, 'sse_flows.jsonl'), JSON.stringify({ ...base, type: 'flow', client: 'claude-code', provider: 'anthropic', request_body: { model: 'claude-haiku-4-5', tools: [{ name: 'Bash' }], messages: [{ role: 'user', content: 'hi' }] } }) + '\n')
    const ev = (seq: number, data: object) => JSON.stringify({ ...base, type: 'sse', seq, event: (data as { type: string }).type, data: JSON.stringify(data) })
    writeFileSync(join(cap, 'sse_lines.jsonl'), [
      ev(0, { type: 'message_start', message: { model: 'claude-haiku-4-5', usage: { input_tokens: 9, output_tokens: 1 } } }),
      ev(1, { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      ev(2, { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'r'.repeat(1024) } }),
      ev(3, { type: 'content_block_stop', index: 0 }),
      ev(4, { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
      ev(5, { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: euros } }),
      ev(6, { type: 'content_block_stop', index: 1 }),
      ev(7, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }),
    ].join('\n') + '\n')
    const x = await createExtractor({ logDir: big, threads: 1 })
    try {
      const u = await x.refresh()
      expect(u.problems).toBe(0)
      const text = (await x.run('assistant_text')).rows
      expect(text[0]!.text === euros).toBe(true)
      const reasoning = (await x.run('reasoning')).rows
      expect(String(reasoning[0]!.text)).toBe('r'.repeat(1024))
    } finally {
      x.close()
    }
  } finally {
    rmSync(big, { recursive: true, force: true })
  }
}, 60_000)
