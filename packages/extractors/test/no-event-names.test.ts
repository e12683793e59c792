import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import type { Extractor } from '../src/index.js'

// Streams whose lines carry no SSE `event:` name: Chat Completions chunks (`object`), and a
// Responses stream over WebSocket (`transport: "ws"`, the type only inside the JSON).
let dir: string
let x: Extractor

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'extractors-noevent-'))
  const cap = join(dir, 'all-mitm-sse')
  mkdirSync(cap)
  const flow = (id: string, body: object) => ({ v: 1, type: 'flow', ts: `2026-02-01T00:00:0${id === 'chat' ? 0 : 5}.000Z`, flow_id: id, session_id: 's', client: 'unknown', provider: 'openai', request_body: body })
  writeFileSync(join(cap, 'sse_flows.jsonl'), [
    flow('chat', { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hello' }] }),
    flow('ws', { model: 'gpt-5-codex', input: 'run ls' }),
  ].map((r) => JSON.stringify(r)).join('\n') + '\n')
  const line = (id: string, seq: number, data: object, ws = false) =>
    JSON.stringify({ v: 1, type: 'sse', ts: `2026-02-01T00:00:0${id === 'chat' ? 1 : 6}.${String(seq).padStart(3, '0')}Z`, flow_id: id, session_id: 's', seq, data: JSON.stringify(data), ...(ws ? { transport: 'ws' } : {}) })
  const chunk = (delta: object, extra: object = {}) => ({ object: 'chat.completion.chunk', model: 'gpt-5-mini', choices: [{ index: 0, delta, finish_reason: null }], ...extra })
  writeFileSync(join(cap, 'sse_lines.jsonl'), [
    line('chat', 0, chunk({ role: 'assistant', content: '' })),
    line('chat', 1, chunk({ content: 'Hi ' })),
    line('chat', 2, chunk({ content: 'there' })),
    line('chat', 3, { object: 'chat.completion.chunk', model: 'gpt-5-mini', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    line('chat', 4, { object: 'chat.completion.chunk', model: 'gpt-5-mini', choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } } }),
    line('ws', 0, { type: 'response.created', response: { model: 'gpt-5-codex' } }, true),
    line('ws', 1, { type: 'response.output_item.added', output_index: 0, item: { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '' } }, true),
    line('ws', 2, { type: 'response.function_call_arguments.delta', output_index: 0, delta: '{"command":["ls"' }, true),
    line('ws', 3, { type: 'response.function_call_arguments.delta', output_index: 0, delta: ']}' }, true),
    line('ws', 4, { type: 'response.completed', response: { model: 'gpt-5-codex', usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 9 } } }, true),
  ].join('\n') + '\n')
  x = await createExtractor({ logDir: dir, threads: 1, index: false })
})
afterAll(() => {
  x?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('chat completions: text, stop reason, usage with cached prompt tokens split out', async () => {
  expect((await x.run('assistant_text', { session: 's' })).rows.map((r) => [r.flow_id, r.text])).toEqual([['chat', 'Hi there']])
  expect((await x.run('flows')).rows.map((r) => [r.flow_id, r.stop_reason])).toEqual([['chat', 'stop'], ['ws', 'completed']])
  expect((await x.run('usage')).rows.map((r) => [r.flow_id, r.model, r.input_tokens, r.cache_read_tokens, r.output_tokens])).toEqual([
    ['chat', 'gpt-5-mini', 8, 4, 3],
    ['ws', 'gpt-5-codex', 100, 0, 9],
  ])
})

it('a Responses stream over WebSocket: tool call arguments joined from deltas (no output_item.done)', async () => {
  expect((await x.run('tool_calls')).rows.map((r) => [r.flow_id, r.call_id, r.name, r.arguments, r.complete])).toEqual([['ws', 'c1', 'shell', '{"command":["ls"]}', false]])
  expect((await x.run('shell_commands')).rows.map((r) => r.command)).toEqual(['ls'])
})

it('a string `input` is a user prompt', async () => {
  expect((await x.run('user_prompts')).rows.map((r) => r.text)).toEqual(['hello', 'run ls'])
  expect((await x.run('user_prompts', { limit: 5 })).rows.map((r) => r.text)).toEqual(['hello', 'run ls'])
})
