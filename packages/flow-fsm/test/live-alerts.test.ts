/**
 * Live alerts in the live view: the planted-break corpus (test-support/cache-corpus.ts) replayed
 * through createLiveView with alerts on: one `⚠` line per alert under its call's end line, each
 * planted cache break once with its cause, and the hook gets the same alerts as JSON-ready objects.
 */
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { describe, expect, it } from 'vitest'
import { buildCorpus } from '../../../test-support/cache-corpus.js'
import { createLiveView, opsToString, type RenderOp } from '../src/index.js'
import type { Alert } from '@agenttap/cache-insights'

describe('live alerts', () => {
  it('a line per alert in the view, each planted break once, model switch alerts, the hook sees them all', () => {
    const corpus = buildCorpus()
    const ops: RenderOp[] = []
    const hooked: Alert[] = []
    let t = 0
    const view = createLiveView({ onOps: (o) => ops.push(...o), alerts: true, onAlert: (a) => hooked.push(a), now: () => t, sessionGuardMs: 0 })
    // Records in time order, as a proxy writes them.
    const records = [...corpus.records].sort((a, b) => String(a['ts']).localeCompare(String(b['ts'])))
    for (const r of records) {
      t = Date.parse(String(r['ts']))
      view.feed(r as CaptureRecord)
      view.tick()
    }
    view.end()
    const text = opsToString(ops, { ansi: false })
    const breaks = hooked.filter((a) => a.kind === 'cache_break')
    expect(breaks.map((a) => [a.flow_id, a.break?.cause]).sort()).toEqual(corpus.truths.map((t) => [t.flow_id, t.cause]).sort())
    expect(hooked.filter((a) => a.kind === 'model_switch').map((a) => a.flow_id)).toEqual(['model-switch-3', 'model-switch-4'])
    const lines = text.split('\n').filter((l) => l.startsWith('⚠ '))
    expect(lines).toHaveLength(hooked.length)
    expect(lines).toContain(`⚠ ${breaks.find((a) => a.flow_id === 'tool-added-3')!.message}`)
    expect(breaks.find((a) => a.flow_id === 'tool-added-3')!.message).toMatch(/^cache break in sess-tool-added · main · claude-sonnet-4-5-20250929: tools_changed — tools: added mcp__github__create_issue; \d+ tokens rewritten, \$0\.\d+$/)
    // The alert line follows its call's end line.
    const i = text.indexOf(`⚠ ${breaks[0]!.message}`)
    expect(text.slice(0, i).trimEnd().split('\n').pop()).toMatch(/tokens|in:|out/)
    expect(JSON.parse(JSON.stringify(hooked[0]))).toEqual(hooked[0])
  }, 60_000) // a whole synthetic corpus: over the 5 s default at load 40 (not a speed check)

  it('an external calls option cannot be watched', () => {
    expect(() => createLiveView({ onOps: () => {}, alerts: true, calls: { feed() {}, calls: () => [], forget() {}, end() {} } })).toThrow(/alerts watch the view's own calls/)
  })
})
