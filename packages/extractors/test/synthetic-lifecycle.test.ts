/**
 * Tool-call lifecycles on the synthetic captures the benchmarks use (fixtures/generate.mjs), read
 * with the real ledger: every call a response makes is answered by the next request of its
 * session (each mix sends the result as a message of its own, before the next prompt, as an SDK
 * script may), so only each session's last call stays unanswered. Before ledger_version 4 the
 * Anthropic results in a message before the prompt were lost: every Claude call was unanswered.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'
// @ts-expect-error: plain ES module without types
import { writeSynthetic } from '../../../fixtures/generate.mjs'

const root = mkdtempSync(join(tmpdir(), 'extractors-synthetic-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe.each(['stream-dense', 'real-sizes'])('synthetic capture, %s mix', (mix) => {
  it('every tool call is answered by the next request of its session, but each session’s last', async () => {
    const dir = join(root, mix)
    writeSynthetic(dir, { sessions: 4, flows: 12, seed: 11, mix })
    const x = await createExtractor({ logDir: dir, threads: 1, index: false })
    try {
      const calls = (await x.run('tool_calls')).rows
      const results = (await x.run('tool_results')).rows
      const lifecycle = (await x.run('call_validation')).rows
      // Both clients made calls (Claude's ids are toolu_…, Codex's call_…), and the results name them.
      expect(new Set(calls.map((c) => String(c.call_id).split('_')[0]))).toEqual(new Set(['toolu', 'call']))
      const answered = new Map(results.map((r) => [String(r.call_id), r]))
      const last = new Map<string, string>()
      for (const c of calls) last.set(String(c.session_id), String(c.call_id))
      for (const c of calls) {
        const r = answered.get(String(c.call_id))
        if (last.get(String(c.session_id)) === String(c.call_id) && r === undefined) continue
        expect(r, `result of ${String(c.call_id)} (${String(c.name)})`).toBeDefined()
        expect(r!.name).toBe(c.name)
        expect(r!.session_id).toBe(c.session_id)
      }
      expect(results.length).toBeGreaterThanOrEqual(calls.length - last.size)
      const unanswered = lifecycle.filter((r) => r.kind === 'unanswered_call').map((r) => String(r.call_id))
      expect(unanswered.every((id) => [...last.values()].includes(id))).toBe(true)
      expect(lifecycle.filter((r) => r.kind !== 'unanswered_call')).toEqual([])
    } finally {
      x.close()
    }
  })
})
