import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExtractor, MODE_NAMES, MODES } from '../src/index.js'
import type { Extractor } from '../src/index.js'

// The project's shared fixture capture (fixtures/capture): real wire shapes, escapes split
// across partial_json fragments, interleaved sessions, API errors inside HTTP 200.
const DIR = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'capture')
let x: Extractor

describe.runIf(existsSync(DIR))('shared fixtures', () => {
  beforeAll(async () => {
    x = await createExtractor({ logDir: DIR, threads: 1 })
  })
  afterAll(() => x?.close())

  it('tool arguments joined across split escapes parse as JSON', async () => {
    const rows = (await x.run('tool_calls')).rows.filter((r) => r.kind === 'function' && r.complete)
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) expect(() => JSON.parse(String(r.arguments))).not.toThrow()
    const bash = rows.find((r) => r.name === 'Bash' && String(r.flow_id) === 'cc-turn-1')
    expect((JSON.parse(String(bash!.arguments)) as { command: string }).command).toContain('café')
  })

  it('errors inside HTTP 200 streams are found', async () => {
    const kinds = (await x.run('errors')).rows.map((r) => [r.flow_id, r.kind, r.error_type])
    expect(kinds).toContainEqual(['err-anthropic-1', 'overloaded', 'overloaded_error'])
    expect(kinds).toContainEqual(['err-responses-1', 'rate_limit', 'rate_limit_exceeded'])
  })

  it('usage totals equal the sum of per-flow usage, each flow once', async () => {
    const usage = (await x.run('usage')).rows
    expect(new Set(usage.map((r) => r.flow_id)).size).toBe(usage.length)
    const sessions = (await x.run('sessions')).rows
    const sum = (rows: typeof usage, k: string) => rows.reduce((n, r) => n + Number(r[k] ?? 0), 0)
    for (const k of ['input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens']) expect(sum(sessions, k)).toBe(sum(usage, k))
  })

  it.each(MODE_NAMES.filter((m) => MODES[m].linesPattern !== undefined))('rg = duckdb: %s', async (mode) => {
    expect((await x.run(mode, { engine: 'rg' })).rows).toEqual((await x.run(mode, { engine: 'duckdb' })).rows)
  })
})
