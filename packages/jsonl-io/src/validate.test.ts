import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { validateRecord } from './validate.js'

const base = { v: 1, ts: '2026-11-20T10:00:00.000Z', flow_id: 'f', session_id: 's' }

describe('validateRecord', () => {
  it('accepts every fixture record', () => {
    const dir = join(import.meta.dirname, '../../../fixtures/capture/all-mitm-sse')
    for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) {
      for (const line of readFileSync(join(dir, f), 'utf8').trimEnd().split('\n')) {
        const r = validateRecord(JSON.parse(line))
        expect(r.ok, JSON.stringify(r)).toBe(true)
      }
    }
  })

  it('passes unknown fields and unknown types through untouched', () => {
    const value = { ...base, type: 'sink_gap', dropped: 12, extra: { x: 1 } }
    const r = validateRecord(value)
    expect(r).toEqual({ ok: true, record: value })
    const sse = { ...base, type: 'sse', seq: 0, data: '{}', future_field: true }
    expect(validateRecord(sse)).toEqual({ ok: true, record: sse })
  })

  it('says what was expected and what came', () => {
    expect(validateRecord([1])).toEqual({ ok: false, error: 'expected a JSON object, got an array' })
    expect(validateRecord({ ...base, v: '1', type: 'sse' })).toMatchObject({ ok: false, error: expect.stringContaining('"v"') })
    expect(validateRecord({ ...base, type: 'sse', seq: 0 })).toMatchObject({ ok: false, error: expect.stringContaining('"data"') })
    expect(validateRecord({ ...base, type: 'flow_end' })).toMatchObject({ ok: false, error: expect.stringContaining('"outcome"') })
    expect(validateRecord({ ...base, type: 'flow_end', outcome: 'completed', bytes: 'many' })).toMatchObject({ ok: false, error: expect.stringContaining('"bytes"') })
    const { flow_id: _omit, ...noFlow } = base
    expect(validateRecord({ ...noFlow, type: 'flow' })).toMatchObject({ ok: false, error: expect.stringContaining('"flow_id"') })
  })
})
