import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findCaptureFiles, isoInstant } from './sources.js'

const tmp = mkdtempSync(join(tmpdir(), 'extractors-sources-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('isoInstant', () => {
  it('normalizes dates and ages to the ISO form records use', () => {
    expect(isoInstant('2026-01-31', '--since')).toBe('2026-01-31T00:00:00.000Z')
    expect(isoInstant('2026-01-31T10:00:00+02:00', '--since')).toBe('2026-01-31T08:00:00.000Z')
    const age = Date.parse(isoInstant('2h', '--since'))
    expect(Math.abs(Date.now() - 2 * 3600e3 - age)).toBeLessThan(60_000)
    expect(() => isoInstant('soon', '--until')).toThrow(/--until "soon" is not a date/)
  })
})

describe('findCaptureFiles', () => {
  it('finds the capture under a log root, rotated files first (oldest first)', () => {
    const cap = join(tmp, 'root', 'all-mitm-sse')
    mkdirSync(cap, { recursive: true })
    for (const f of ['sse_lines.jsonl', 'sse_lines.jsonl.1', 'sse_lines.jsonl.2', 'sse_flows.jsonl', 'notes.txt']) writeFileSync(join(cap, f), '{}\n')
    const files = findCaptureFiles(join(tmp, 'root'))
    expect(files.dir).toBe(cap)
    expect(files.lines.map((f) => f.split('/').pop())).toEqual(['sse_lines.jsonl.2', 'sse_lines.jsonl.1', 'sse_lines.jsonl'])
    expect(files.flows).toHaveLength(1)
    expect(files.ends).toEqual([])
  })

  it('a capture dir given directly works too; missing and empty dirs are clear errors', () => {
    const cap = join(tmp, 'direct')
    mkdirSync(cap)
    writeFileSync(join(cap, 'sse_flow_ends.jsonl'), '{}\n')
    expect(findCaptureFiles(cap).ends).toHaveLength(1)
    expect(() => findCaptureFiles(join(tmp, 'nope'))).toThrow(expect.objectContaining({ code: 'LOG_DIR_MISSING' }))
    mkdirSync(join(tmp, 'nothing'))
    expect(() => findCaptureFiles(join(tmp, 'nothing'))).toThrow(expect.objectContaining({ code: 'NO_CAPTURES' }))
  })
})
