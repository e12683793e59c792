import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
import type { Extractor, ModeName } from '../src/index.js'

// Request bodies over the proxy's inline limit are written to sse_logs/ and the flow record
// carries {"$ref": "sse_logs/<flow>.request.json"}. The index reads them there (jsonl-io's
// readRawRef) before the ledger sees the flow: the same capture with a4 and b1 moved out of line
// gives the same rows.
const BASIC = join(import.meta.dirname, 'fixtures', 'basic')
let dir: string
let inline: Extractor
let moved: Extractor

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'extractors-refs-'))
  cpSync(BASIC, dir, { recursive: true })
  const cap = join(dir, 'all-mitm-sse')
  mkdirSync(join(cap, 'sse_logs'))
  const lines = readFileSync(join(cap, 'sse_flows.jsonl'), 'utf8').split('\n').map((l) => {
    let r: { flow_id?: string; request_body?: unknown }
    try { r = JSON.parse(l) } catch { return l }
    if (r.flow_id !== 'a4' && r.flow_id !== 'b1') return l
    const text = JSON.stringify(r.request_body)
    writeFileSync(join(cap, 'sse_logs', `${r.flow_id}.request.json`), text)
    return JSON.stringify({ ...r, request_body: { $ref: `sse_logs/${r.flow_id}.request.json`, bytes: text.length } })
  })
  writeFileSync(join(cap, 'sse_flows.jsonl'), lines.join('\n'))
  inline = await createExtractor({ logDir: BASIC, threads: 1, index: false })
  moved = await createExtractor({ logDir: dir, threads: 1 })
})
afterAll(() => {
  inline?.close()
  moved?.close()
  rmSync(dir, { recursive: true, force: true })
})

it.each(['user_prompts', 'tool_results', 'config', 'system_prompts', 'tool_definitions', 'models', 'turns', 'sessions'] as ModeName[])('%s reads $ref bodies', async (mode) => {
  const a = (await inline.run(mode)).rows
  expect((await moved.run(mode)).rows).toEqual(a)
  expect(a.length).toBeGreaterThan(0)
})

it('the reverse scan reads $ref bodies too', async () => {
  expect((await moved.run('user_prompts', { limit: 3, engine: 'reverse' })).rows).toEqual((await inline.run('user_prompts', { limit: 3, engine: 'index' })).rows)
})
