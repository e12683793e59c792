import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { captureFileKind, defaultLogRoot, resolveCapture } from './capture-layout.js'
import { tempDir } from '../test/helpers.js'

let t: ReturnType<typeof tempDir>
beforeEach(() => {
  t = tempDir()
})
afterEach(() => t.cleanup())

function touch(...parts: string[]): string {
  const p = join(t.dir, ...parts)
  mkdirSync(join(p, '..'), { recursive: true })
  writeFileSync(p, '{}\n')
  return p
}

describe('resolveCapture', () => {
  it('finds a log root\'s capture dir, rotated files oldest first, and the client views', () => {
    const cap = join(t.dir, 'all-mitm-sse')
    touch('all-mitm-sse', 'sse_lines.jsonl')
    touch('all-mitm-sse', 'sse_lines.jsonl.1')
    touch('all-mitm-sse', 'sse_lines.jsonl.3')
    touch('all-mitm-sse', 'sse_lines.2.jsonl')
    touch('all-mitm-sse', 'sse_flows.jsonl')
    touch('all-mitm-sse', 'sse_flow_ends.jsonl')
    touch('all-mitm-sse', 'notes.txt')
    touch('all-mitm-sse', 'sse_lines.jsonl.bak')
    touch('claude', 'sse_lines.jsonl')
    const r = resolveCapture(t.dir)
    expect(r).toMatchObject({ kind: 'root', root: t.dir, dir: cap, rawDir: join(cap, 'sse_logs'), clients: { claude: join(t.dir, 'claude', 'sse_lines.jsonl') } })
    expect(r.files.lines.map((f) => f.slice(cap.length + 1))).toEqual(['sse_lines.jsonl.3', 'sse_lines.2.jsonl', 'sse_lines.jsonl.1', 'sse_lines.jsonl'])
    expect(r.files.flows).toEqual([join(cap, 'sse_flows.jsonl')])
    expect(r.all).toEqual([...r.files.flows, ...r.files.lines, ...r.files.ends])
    expect(r.bytes).toBe(3 * 6)
    expect(r.live.lines).toBe(join(cap, 'sse_lines.jsonl'))
  })

  it('takes a capture dir, a client dir or a single file as well, and knows the root above them', () => {
    touch('all-mitm-sse', 'sse_flows.jsonl')
    touch('codex', 'sse_lines.jsonl')
    const f = touch('elsewhere', 'sse_lines.jsonl.1')
    const mixed = touch('fixtures', 'claude-code-turn.jsonl')
    expect(resolveCapture(join(t.dir, 'all-mitm-sse'))).toMatchObject({ kind: 'capture', root: t.dir, dir: join(t.dir, 'all-mitm-sse') })
    expect(resolveCapture(join(t.dir, 'codex'))).toMatchObject({ kind: 'client', root: t.dir, files: { lines: [join(t.dir, 'codex', 'sse_lines.jsonl')], flows: [] } })
    expect(resolveCapture(join(t.dir, 'elsewhere'))).toMatchObject({ kind: 'capture', root: undefined, files: { lines: [f] } })
    expect(resolveCapture(f)).toMatchObject({ kind: 'file', dir: join(t.dir, 'elsewhere'), files: { lines: [f] }, all: [f] })
    expect(resolveCapture(mixed)).toMatchObject({ kind: 'file', all: [mixed], files: { lines: [], flows: [], ends: [] } })
  })

  it('takes a path that does not exist yet as a log root (or a file), for readers that wait', () => {
    const later = join(t.dir, 'not-yet')
    expect(resolveCapture(later)).toMatchObject({ kind: 'root', root: later, dir: join(later, 'all-mitm-sse'), all: [], bytes: 0, live: { ends: join(later, 'all-mitm-sse', 'sse_flow_ends.jsonl') } })
    expect(resolveCapture(join(later, 'x.jsonl'))).toMatchObject({ kind: 'file', all: [] })
  })

  it('takes a path named all-mitm-sse as the capture dir even before the proxy created it', () => {
    const cap = join(t.dir, 'new-root', 'all-mitm-sse')
    expect(resolveCapture(cap)).toMatchObject({ kind: 'capture', root: join(t.dir, 'new-root'), dir: cap, all: [] })
  })

  it('defaults to $AGENTTAP_LOG_DIR, else ~/centralized-logs', () => {
    expect(resolveCapture(undefined, { env: { AGENTTAP_LOG_DIR: t.dir } })).toMatchObject({ root: t.dir })
    expect(defaultLogRoot({})).toMatch(/centralized-logs$/)
    expect(defaultLogRoot({ AGENTTAP_LOG_DIR: '' })).toMatch(/centralized-logs$/)
  })
})

describe('captureFileKind', () => {
  it('knows the live names and both rotation namings', () => {
    expect(captureFileKind('sse_flow_ends.jsonl')).toEqual({ kind: 'ends', rotation: 0 })
    expect(captureFileKind('sse_flows.jsonl.12')).toEqual({ kind: 'flows', rotation: 12 })
    expect(captureFileKind('sse_lines.4.jsonl')).toEqual({ kind: 'lines', rotation: 4 })
    expect(captureFileKind('sse_lines.jsonl.gz')).toBeUndefined()
  })
})
