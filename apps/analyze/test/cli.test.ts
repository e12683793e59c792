import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '@agenttap/extractors'
import { runCli } from '../src/index.js'

const tmp = mkdtempSync(join(tmpdir(), 'analyze-cli-'))
// A copy of the basic fixture: runs keep their index next to the capture.
const FIX = join(tmp, 'basic')
cpSync(join(import.meta.dirname, '..', '..', '..', 'packages', 'extractors', 'test', 'fixtures', 'basic'), FIX, { recursive: true })
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function cli(args: string[], tty = false) {
  let out = ''
  let err = ''
  const code = await runCli(args, {
    stdout: { write: (s: string | Uint8Array) => ((out += String(s)), true), isTTY: tty, columns: 200 },
    stderr: { write: (s: string | Uint8Array) => ((err += String(s)), true), isTTY: false },
    env: {},
  })
  return { code, out, err }
}
const ndjson = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)

describe('agenttap-analyze', () => {
  it('prompts -n 2: the latest two prompts as NDJSON when piped', async () => {
    const r = await cli(['prompts', '-n', '2', '--log-dir', FIX])
    expect(r.code).toBe(0)
    expect(ndjson(r.out).map((x) => x.text)).toEqual(['add a test', 'and run it'])
  })

  it('turns --mode paired -n 10: prompt ↔ answer', async () => {
    const r = await cli(['turns', '--mode', 'paired', '-n', '10', '--log-dir', FIX, '--quiet'])
    expect(r.code).toBe(0)
    expect(ndjson(r.out).map((x) => [x.prompt, x.response])).toEqual([
      ['fix the bug', 'Done.'],
      ['now read the readme', 'Partial'],
      ['add a test', 'Added the test.'],
      ['and run it', null],
    ])
  })

  it('extract --out-dir writes one file per mode', async () => {
    const dir = join(tmp, 'out')
    const r = await cli(['extract', '--extract', 'config,tool_calls,tool_results', '--out-dir', dir, '--log-dir', FIX, '--format', 'csv'])
    expect(r.code).toBe(0)
    expect(readFileSync(join(dir, 'tool_results.csv'), 'utf8').split('\n')[0]).toBe('ts,session_id,flow_id,call_id,name,is_error,output,exit_code')
    expect(readFileSync(join(dir, 'config.csv'), 'utf8').trim().split('\n')).toHaveLength(9)
    expect(existsSync(join(dir, 'tool_calls.csv'))).toBe(true)
    // The fixture's malformed lines are summed up in one line on stderr, with the first location.
    expect(r.err).toMatch(/skipped or repaired \d+ input problem\(s\): 3 malformed line, .* — first at .*\.jsonl:\d+ \(byte \d+\); agenttap-analyze check lists them/)
  })

  it('parquet files round-trip through DuckDB', async () => {
    const dir = join(tmp, 'pq')
    const r = await cli(['usage', '--out-dir', dir, '--format', 'parquet', '--log-dir', FIX, '-q'])
    expect(r.code).toBe(0)
    const x = await createExtractor({ logDir: FIX })
    const { rows } = await x.query(`select flow_id, output_tokens from read_parquet('${join(dir, 'usage.parquet')}') order by flow_id`)
    x.close()
    expect(rows.map((r) => [r.flow_id, r.output_tokens])).toEqual([['a1', 50], ['a2', 30], ['a3', 5], ['a4', 1], ['a5', 1], ['b1', 300], ['b2', 20]])
  })

  it('a table on a TTY, several modes with headers', async () => {
    const r = await cli(['extract', '-e', 'models,clients', '--log-dir', FIX, '-q'], true)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/── models · 2 row\(s\) ──/)
    expect(r.out).toMatch(/gpt-5-codex\s+openai\s+3\s+1/)
  })

  it('filters reach the query', async () => {
    const r = await cli(['usage', '--session', 'sess-b', '--log-dir', FIX, '-q'])
    expect(ndjson(r.out).map((x) => x.flow_id)).toEqual(['b1', 'b2'])
  })

  it('--prices overrides the table and names its version', async () => {
    const p = join(tmp, 'prices.json')
    writeFileSync(p, JSON.stringify({ version: 'test-v1', models: { 'gpt-5': { input: 1, output: 1, cache_read: 1, cache_write: 1 } } }))
    const rows = ndjson((await cli(['cost', '--prices', p, '--client', 'codex', '--log-dir', FIX, '-q'])).out)
    expect(rows.map((x) => [x.flow_id, x.price_key, x.cost_usd, x.prices_version])).toEqual([
      ['b1', 'gpt-5', 0.0023, 'test-v1'],
      ['b2', 'gpt-5', 0.00252, 'test-v1'],
    ])
    const bad = await cli(['cost', '--prices', p + '.missing', '--log-dir', FIX])
    expect(bad.code).toBe(2)
  })

  it('one clear line and a non-zero exit for bad input', async () => {
    const unknown = await cli(['extract', '--extract', 'usage,nope', '--log-dir', FIX])
    expect(unknown.code).toBe(2)
    expect(unknown.err.trim().split('\n')).toHaveLength(1)
    expect(unknown.err).toMatch(/unknown mode "nope"/)

    const missing = await cli(['usage', '--log-dir', join(tmp, 'does-not-exist')])
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/does not exist/)

    const emptyDir = mkdtempSync(join(tmp, 'empty-'))
    writeFileSync(join(emptyDir, 'sse_lines.jsonl'), '')
    const empty = await cli(['usage', '--log-dir', emptyDir])
    expect(empty.code).toBe(1)
    expect(empty.err).toMatch(/empty: nothing was captured yet/)

    const pq = await cli(['usage', '--format', 'parquet', '--log-dir', FIX])
    expect(pq.code).toBe(2)
    expect(pq.err).toMatch(/needs|add --out-dir/)

    expect((await cli(['usage', '-n', 'ten', '--log-dir', FIX])).code).toBe(2)
    expect((await cli(['usage', '--since', 'someday', '--log-dir', FIX])).code).toBe(2)
    expect((await cli(['bogus'])).code).toBe(2)
  })

  it('check lists the problems with file:line (byte offset)', async () => {
    const r = await cli(['check', '--log-dir', FIX])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/sse_lines\.jsonl:31 \(byte \d+\): MALFORMED_LINE/)
    expect(r.out).toMatch(/sse_flows\.jsonl:4 \(byte \d+\): MALFORMED_LINE/)
  })

  it('--engine: index and reverse; duckdb is index; rg is gone with a clear message', async () => {
    expect(ndjson((await cli(['prompts', '-n', '1', '--engine', 'reverse', '--log-dir', FIX])).out).map((x) => x.text)).toEqual(['and run it'])
    expect(ndjson((await cli(['usage', '--engine', 'duckdb', '--log-dir', FIX, '-q'])).out)).toHaveLength(7)
    const rg = await cli(['usage', '--engine', 'rg', '--log-dir', FIX])
    expect(rg.code).toBe(2)
    expect(rg.err).toMatch(/--engine rg is gone/)
  })

  it('a command built alone (the first argument names it) has the help, aliases and errors of the full table', async () => {
    const full = await cli(['--help'])
    expect(full.code).toBe(0)
    // Every command the full help lists, plus the `-` alias of each mode with `_`.
    const names = [...full.out.matchAll(/^  ([a-z][a-z_-]*)(\|[a-z-]+)?/gm)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2].slice(1)] : [])]).filter((n) => n !== 'help')
    expect(names).toEqual(expect.arrayContaining(['usage', 'tool_calls', 'tool-calls', 'extract', 'prompts', 'modes', 'redis-dump', 'check', 'otlp']))
    for (const name of names) {
      const alone = await cli([name, '--help'])
      const inFull = await cli(['help', name])
      expect({ name, code: alone.code, out: alone.out }).toEqual({ name, code: inFull.code, out: inFull.out })
    }
    const bad = await cli(['usage', '--bogus'])
    expect(bad.code).toBe(2)
    expect(bad.err).toBe("agenttap-analyze: unknown option '--bogus' (see agenttap-analyze --help)\n")
    const typo = await cli(['usgae'])
    expect(typo.code).toBe(2)
    expect(typo.err).toMatch(/unknown command 'usgae'.*usage/)
  })
})
