/**
 * Replays the repository's captured sessions (fixtures/*.jsonl): the session chain and the
 * detections reproduce what the capture recorded, and redaction leaves their secret-free
 * content byte-for-byte untouched (same objects back, same SSE data strings, same order).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createSseRedactor, inspectRequest, redactHeaders, redactJson, redactUrl } from '../src/index.js'

const dir = join(import.meta.dirname, '../../../fixtures')
const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'))

interface Rec {
  type: string
  flow_id: string
  session_id: string
  data: string
  [k: string]: unknown
}

function load(file: string): Rec[] {
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Rec)
}

describe.runIf(files.length > 0)('fixtures', () => {
  it.each(files)('%s: inspection matches the capture', (file) => {
    const flows = load(file).filter((r) => r.type === 'flow')
    expect(flows.length).toBeGreaterThan(0)
    for (const f of flows) {
      const info = inspectRequest({ method: f['method'] as string, url: f['url'] as string, headers: f['request_headers'] as Record<string, string>, body: f['request_body'] })
      expect(info.sessionId).toBe(f.session_id)
      expect(info.sessionSource).toBe(f['session_source'])
      expect(info.client).toBe(f['client'])
      expect(info.provider).toBe(f['provider'])
    }
  })

  it.each(files)('%s: redaction leaves secret-free content untouched', (file) => {
    const recs = load(file)
    for (const f of recs.filter((r) => r.type === 'flow')) {
      expect(redactJson(f['request_body'])).toBe(f['request_body'])
      expect(redactHeaders(f['request_headers'] as Record<string, string>)).toEqual(f['request_headers'])
      expect(redactHeaders(f['response_headers'] as Record<string, string>)).toEqual(f['response_headers'])
      expect(redactUrl(f['url'] as string)).toBe(f['url'])
    }
    const byFlow = new Map<string, Rec[]>()
    for (const r of recs.filter((x) => x.type === 'sse')) byFlow.set(r.flow_id, [...(byFlow.get(r.flow_id) ?? []), r])
    for (const [, sse] of byFlow) {
      const out: Rec[] = []
      const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x) })
      for (const r of sse) red.feed(r)
      red.end()
      expect(out).toHaveLength(sse.length)
      out.forEach((x, i) => expect(x).toBe(sse[i]))
    }
  })
})
