import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { ledgerFromRecords } from '@agenttap/ledger'
import { afterAll, describe, expect, it } from 'vitest'
import { demoCapturePath, nextSteps, runDemo } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-demo-pkg-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const jsonl = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)

describe('runDemo', () => {
  it('replays the bundled capture through the proxy: the new capture holds the same calls', async () => {
    const out = new PassThrough()
    let printed = ''
    out.on('data', (c: Buffer) => (printed += c.toString()))
    const errors: string[] = []
    const demo = await runDemo({ caDir: join(dir, 'ca'), logDir: join(dir, 'logs'), output: out, webPort: false, speed: Infinity, onError: (e) => errors.push(e.message) })
    const r = await demo.finished
    await demo.close()
    expect(errors).toEqual([])
    expect(r).toMatchObject({ requests: 7, failed: 0, statuses: [200, 200, 200, 101, 429] })
    expect(printed).toContain('capturing into')
    expect(nextSteps(demo)[0]).toBe(`agenttap-analyze usage --log-dir ${join(dir, 'logs')}`)
    const cap = join(dir, 'logs', 'all-mitm-sse')
    const records = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].flatMap((f) => jsonl(join(cap, f)))
    const facts = (calls: ReturnType<typeof ledgerFromRecords>['calls']) =>
      calls.map((c) => ({ session: c.session_id, client: c.client, outcome: c.outcome, error: c.error?.type, text: c.text, tools: c.tool_calls.map((t) => t.command ?? t.name), usage: c.usage })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    expect(facts(ledgerFromRecords(records).calls)).toEqual(facts(ledgerFromRecords(jsonl(demoCapturePath())).calls))
    expect(ledgerFromRecords(records).calls).toHaveLength(7)
    // Nothing diverged: the replay's report holds only its summary.
    expect(jsonl(join(cap, 'replay-divergences.jsonl')).map((l) => l['type'])).toEqual(['summary'])
  })
})
