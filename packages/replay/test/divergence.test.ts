/**
 * What the divergence report says: the changed words of the first differing message (not only
 * its start), on real-shaped requests; and what it leaves out: auxiliary requests a second run
 * asks more often than the capture has them.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createReplayServer, firstDifference, loadReplayCapture, requestPrint } from '../src/index.js'
import { fixtureRecords, tempDir } from './helpers.js'

type Body = Record<string, unknown> & { messages?: Array<{ role: string; content: Array<Record<string, unknown>> }>; input?: Array<Record<string, unknown>> }

const bodyOf = (name: string, flow: string): Body => structuredClone(fixtureRecords(name).find((r) => r['type'] === 'flow' && r['flow_id'] === flow)?.['request_body']) as Body
const cc = (body: Body) => requestPrint({ body, url: 'https://api.anthropic.com/v1/messages?beta=true', client: 'claude-code', provider: 'anthropic' })
const cx = (body: Body) => requestPrint({ body, url: 'https://api.openai.com/v1/responses', client: 'codex', provider: 'openai' })

/** Claude Code's reminders before the prompt, as long as real ones (CLAUDE.md, the date, the environment). */
const REMINDER = `<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\nContents of /home/dev/repo/CLAUDE.md (project instructions, checked into the codebase):\n\n${'- Run `pnpm test` before you commit; keep functions small and named for what they do.\n'.repeat(6)}# currentDate\nToday's date is 2026-11-20.\n</system-reminder>`

function claudeTurn1(prompt: string): Body {
  const b = bodyOf('claude-code-2x.jsonl', 'cc2-turn-1')
  const m = b.messages?.[0]?.content as Array<Record<string, unknown>>
  ;(m[0] as Record<string, unknown>)['text'] = REMINDER
  ;(m[1] as Record<string, unknown>)['text'] = prompt
  return b
}

describe('the first differing message, around the changed words', () => {
  it("shows a Claude Code prompt's changed words after a long system reminder (trailing deferred-tools entry and cache_control ignored)", () => {
    const want = claudeTurn1('Why does parseLine drop the last field on CRLF input?')
    const got = claudeTurn1('Why does parseLine drop the last field on LF input?')
    // Another cache marker and another deferred-tools list: not what differs.
    delete (got.messages?.[0]?.content[1] as Record<string, unknown>)['cache_control']
    ;(got.messages?.[1]?.content[0] as Record<string, unknown>)['text'] = '<available-deferred-tools>\nNotebookEdit\n</available-deferred-tools>'
    const d = firstDifference(cc(want), cc(got))
    expect(d.field).toBe('history')
    expect(d.index).toBe(0)
    // Past the 240 characters a report used to show of the message.
    expect(d.at).toBeGreaterThan(240)
    expect(d.expected).toMatch(/^….*the last field on CRLF input\?$/)
    expect(d.received).toMatch(/^….*the last field on LF input\?$/)
    expect(d.expected!.length).toBeLessThanOrEqual(240)
  })

  it('shows the changed line of a long tool_result', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `${String(i + 1).padStart(6)}\tconst field${i} = row[${i}]`).join('\n')
    const want = bodyOf('claude-code-2x.jsonl', 'cc2-turn-2')
    const got = bodyOf('claude-code-2x.jsonl', 'cc2-turn-2')
    ;(want.messages?.[2]?.content[0] as Record<string, unknown>)['content'] = `${lines}\n    41\t  return s.split('\\n')\n`
    ;(got.messages?.[2]?.content[0] as Record<string, unknown>)['content'] = `${lines}\n    41\t  return s.split(/\\r?\\n/)\n`
    const d = firstDifference(cc(want), cc(got))
    expect(d).toMatchObject({ field: 'history', index: 2 })
    expect(d.expected).toContain("return s.split('\\n')")
    expect(d.received).toContain('return s.split(/\\r?\\n/)')
    expect(d.expected).toMatch(/^…/)
  })

  it('shows the changed words of a Codex function_call_output in a Responses request', () => {
    const want = bodyOf('codex-turn.jsonl', 'cx-turn-2')
    const got = bodyOf('codex-turn.jsonl', 'cx-turn-2')
    const out = got.input?.find((x) => x['call_id'] === 'call_FixtureShellCmd02' && x['type'] === 'function_call_output') as Record<string, unknown>
    out['output'] = 'src/parse.ts:14:export function parseLine(s: string) {'
    const d = firstDifference(cx(want), cx(got))
    expect(d.field).toBe('history')
    expect(d.expected).toContain('src/parse.ts:12:export')
    expect(d.received).toContain('src/parse.ts:14:export')
    expect(d.at).toBeGreaterThan(0)
  })

  it('the report of a running server shows them too (the captured request read again from disk)', async () => {
    const dir = tempDir('replay-div-')
    const file = join(dir, 'cc.jsonl')
    const recs = fixtureRecords('claude-code-2x.jsonl').map((r) => (r['type'] === 'flow' && r['flow_id'] === 'cc2-turn-1' ? { ...r, request_body: claudeTurn1('Why does parseLine drop the last field on CRLF input?') } : r))
    writeFileSync(file, recs.map((r) => JSON.stringify(r)).join('\n') + '\n')
    const report = join(dir, 'report.jsonl')
    const server = createReplayServer({ capture: await loadReplayCapture(file), speed: Infinity, report })
    const { url } = await server.start()
    try {
      const res = await fetch(`${url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'claude-cli/2.1.3 (external, cli)' }, body: JSON.stringify(claudeTurn1('Why does parseLine drop the last field on LF input?')) })
      expect(res.status).toBe(400)
      const err = (await res.json()) as { error: { message: string } }
      expect(err.error.message).toContain('on LF input?')
      expect(err.error.message).toContain('on CRLF input?')
    } finally {
      await server.close()
    }
    const d = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)[0]
    expect(d).toMatchObject({ type: 'divergence', difference: { field: 'history', index: 0, received: expect.stringContaining('field on LF input?') as unknown } })
  })
})

describe('auxiliary requests asked again', () => {
  it('are answered from the capture (or with an empty success) and are no divergence; a changed prompt still is', async () => {
    const capture = await loadReplayCapture(join(import.meta.dirname, '../../../fixtures/claude-code-aux.jsonl'))
    const report = join(tempDir('replay-aux-'), 'report.jsonl')
    const served: Array<{ key: string; reused: boolean }> = []
    const server = createReplayServer({ capture, speed: Infinity, report, onServe: (ex, at) => served.push({ key: ex.key, reused: at.reused }) })
    const { url } = await server.start()
    const recs = fixtureRecords('claude-code-aux.jsonl')
    const flows = recs.filter((r) => r['type'] === 'flow')
    const policy = flows.find((f) => String(f['url']).includes('policy_limits')) as Record<string, unknown>
    const title = flows.find((f) => f['method'] === 'POST') as Record<string, unknown>
    const policyBody = recs.find((r) => r['type'] === 'flow_end' && r['flow_id'] === policy['flow_id'])?.['body']
    try {
      // Asked as many times as captured, then once more (a second run checks its policy again).
      for (let k = 0; k < 2; k++) {
        const res = await fetch(`${url}/api/claude_code/policy_limits`)
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual(policyBody)
      }
      // A non-model endpoint the first run never asked: an empty success.
      const plugins = await fetch(`${url}/api/claude_code/plugins?limit=10`)
      expect(plugins.status).toBe(200)
      expect(plugins.headers.get('x-agenttap-replay')).toBe('aux')
      expect(await plugins.json()).toEqual({})
      // The title request (a model endpoint, no tools: aux) with another prompt in it: the captured title.
      const body = structuredClone(title['request_body']) as Body
      const firstText = body.messages?.[0]?.content
      if (typeof firstText === 'string') (body.messages as Array<Record<string, unknown>>)[0]!['content'] = `${firstText} (again)`
      else (firstText?.[0] as Record<string, unknown>)['text'] = 'Another title please'
      const t = await fetch(`${url}${new URL(title['url'] as string).pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'claude-cli/2.1.12 (external, cli)' }, body: JSON.stringify(body) })
      expect(t.status).toBe(200)
      // A model request the capture has no call for is still a divergence.
      const model = structuredClone(bodyOf('claude-code-2x.jsonl', 'cc2-turn-1'))
      const m = await fetch(`${url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(model) })
      expect(m.status).toBe(400)
    } finally {
      await server.close()
    }
    const lines = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const divergences = lines.filter((l) => l['type'] === 'divergence')
    expect(divergences).toHaveLength(1)
    expect(divergences[0]).toMatchObject({ api: 'anthropic-messages' })
    expect(lines.at(-1)).toMatchObject({ type: 'summary', divergences: 1, aux: 3 })
    expect(served.filter((s) => s.reused)).toHaveLength(2)
  })
})
