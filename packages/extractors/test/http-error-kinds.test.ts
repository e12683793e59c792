import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import type { Extractor } from '../src/index.js'

// HTTP errors as the providers send them (found by e2e/clients with the real SDKs): OpenAI's
// overload is a 503 whose `code` (not `type`) says `server_is_overloaded`.
let dir: string
let x: Extractor

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'extractors-http-errors-'))
  const cap = join(dir, 'all-mitm-sse')
  mkdirSync(cap)
  const tools = [{ type: 'function', name: 'bash', parameters: { type: 'object' } }]
  const flows = [
    { id: 'o429', t: 0, status: 429, body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } },
    { id: 'o503', t: 1, status: 503, body: { error: { message: 'The server is overloaded. Please try again later.', type: 'service_unavailable_error', param: null, code: 'server_is_overloaded' } } },
    { id: 'o500', t: 2, status: 500, body: { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } } },
  ]
  const rec = (f: (typeof flows)[number], type: string, extra: object) => JSON.stringify({ v: 1, type, ts: `2026-03-01T00:00:0${f.t}.000Z`, flow_id: f.id, session_id: 's', ...extra })
  const request = { model: 'gpt-5.1', stream: true, tools, input: [{ role: 'user', content: 'list /tmp' }] }
  writeFileSync(join(cap, 'sse_flows.jsonl'), flows.map((f) => rec(f, 'flow', { client: 'unknown', provider: 'openai', method: 'POST', url: 'https://api.openai.com/v1/responses', status: f.status, request_body: request })).join('\n') + '\n')
  writeFileSync(join(cap, 'sse_flow_ends.jsonl'), flows.map((f) => rec(f, 'flow_end', { outcome: 'error', status: f.status, events: 0, body: f.body })).join('\n') + '\n')
  x = await createExtractor({ logDir: dir, threads: 1, index: false })
})
afterAll(() => {
  x?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('errors: an OpenAI 503 server_is_overloaded is an overload, a 429 a rate limit, a 500 an HTTP error', async () => {
  expect((await x.run('errors')).rows.map((r) => [r.flow_id, r.kind, r.status, r.error_type])).toEqual([
    ['o429', 'rate_limit', 429, 'requests'],
    ['o503', 'overloaded', 503, 'service_unavailable_error'],
    ['o500', 'http_error', 500, 'server_error'],
  ])
})
