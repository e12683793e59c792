import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// `prompts -n` read backwards orders its rows as the index does (`order by ts, flow_id`: DuckDB
// compares strings by their bytes), not by the locale's collation, which puts `b-1` before
// `B-2` (case and punctuation weigh less) where the index puts `B-2` first.
const tmp = mkdtempSync(join(tmpdir(), 'extractors-reverse-order-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function capture(): string {
  const dir = join(tmp, 'all-mitm-sse')
  mkdirSync(dir, { recursive: true })
  for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) writeFileSync(join(dir, f), '')
  const ts = '2026-03-01T10:00:00.000Z'
  for (const [id, text] of [['b-1', 'first'], ['B-2', 'second'], ['a_3', 'third'], ['a-4', 'fourth']] as const) {
    appendFileSync(join(dir, 'sse_flows.jsonl'), JSON.stringify({
      v: 1, type: 'flow', ts, flow_id: id, session_id: `s-${id}`, client: 'claude-code', provider: 'anthropic', method: 'POST', url: 'https://api.anthropic.com/v1/messages',
      request_body: { model: 'claude-sonnet-4-5', stream: true, tools: [{ name: 'Bash', description: 'Run a command', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: [{ type: 'text', text }] }] },
    }) + '\n')
    const sse = (seq: number, data: object): void => appendFileSync(join(dir, 'sse_lines.jsonl'), JSON.stringify({ v: 1, type: 'sse', ts, flow_id: id, session_id: `s-${id}`, seq, event: (data as { type: string }).type, data: JSON.stringify(data) }) + '\n')
    sse(0, { type: 'message_start', message: { id: `m-${id}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 1, output_tokens: 1 } } })
    sse(1, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } })
    sse(2, { type: 'message_stop' })
    appendFileSync(join(dir, 'sse_flow_ends.jsonl'), JSON.stringify({ v: 1, type: 'flow_end', ts, flow_id: id, session_id: `s-${id}`, outcome: 'completed', status: 200, events: 3 }) + '\n')
  }
  return tmp
}

describe('prompts -n read backwards', () => {
  it('orders prompts of one instant by flow id bytes, as the index does', async () => {
    const root = capture()
    const rev = await createExtractor({ logDir: root, index: false, engine: 'reverse' })
    const idx = await createExtractor({ logDir: root, index: false, threads: 1 })
    try {
      const a = await rev.run('user_prompts', { limit: 4 })
      const b = await idx.run('user_prompts', { limit: 4, engine: 'index' })
      expect(a.engine).toBe('reverse')
      expect(b.rows.map((r) => r.flow_id)).toEqual(['B-2', 'a-4', 'a_3', 'b-1'])
      expect(a.rows).toEqual(b.rows)
    } finally {
      rev.close()
      idx.close()
    }
  })
})
