/**
 * The request's cache segments (session-extractor's cacheSegments) travel on each call, and their
 * JSON comes once per hash as `segment` content when asked for.
 */
import { describe, expect, it } from 'vitest'
import { createLedger, type LedgerContent, type ModelCall } from '../src/index.js'
import { fixture } from './helpers.js'

function run(name: string, segmentTexts: boolean): { calls: ModelCall[]; contents: LedgerContent[] } {
  const calls: ModelCall[] = []
  const contents: LedgerContent[] = []
  const l = createLedger({ onCall: (c) => calls.push(c), onContent: (c) => contents.push(c), segmentTexts })
  for (const r of fixture(name)) l.feed(r)
  l.end()
  return { calls, contents }
}

describe('cache segments on calls', () => {
  it('Claude Code: tools, system, messages in cache order; consecutive turns share their prefix hashes', () => {
    const { calls, contents } = run('claude-code-turn.jsonl', false)
    const [a, b] = calls
    const kinds = a!.request.segments!.map((s) => s.kind)
    expect(kinds.slice(0, 5)).toEqual(['tool', 'tool', 'tool', 'tool', 'tool'])
    expect(kinds.includes('system')).toBe(true)
    expect(a!.request.segments!.filter((s) => s.kind === 'message')).toHaveLength(a!.request.message_count)
    const sa = a!.request.segments!.map((s) => s.hash)
    const sb = b!.request.segments!.map((s) => s.hash)
    expect(sb.slice(0, sa.length - 1)).toEqual(sa.slice(0, sa.length - 1))
    expect(contents.some((c) => c.kind === 'segment')).toBe(false)
  })

  it('segmentTexts: each segment JSON once per hash, its byte size the segment size', () => {
    const { calls, contents } = run('claude-code-turn.jsonl', true)
    const segs = contents.filter((c): c is Extract<LedgerContent, { kind: 'segment' }> => c.kind === 'segment')
    const byHash = new Map(segs.map((s) => [s.hash, s.text]))
    expect(byHash.size).toBe(segs.length)
    for (const c of calls) for (const s of c.request.segments ?? []) expect(Buffer.byteLength(byHash.get(s.hash) ?? '')).toBe(s.bytes)
  })

  it('Codex over WebSocket: instructions first, then tools and input items', () => {
    const { calls } = run('codex-websocket.jsonl', false)
    const segs = calls.find((c) => (c.request.segments?.length ?? 0) > 0)?.request.segments ?? []
    expect(segs.length).toBeGreaterThan(0)
    const firstMessage = segs.findIndex((s) => s.kind === 'message')
    expect(segs.slice(firstMessage).every((s) => s.kind === 'message')).toBe(true)
  })
})
