import type { CallSegment } from '@agenttap/ledger'
import { describe, expect, it } from 'vitest'
import { explainDivergence } from './explain.js'

const seg = (kind: CallSegment['kind'], index: number, label: string, text: string): [CallSegment, string] => [{ kind, index, label, hash: `${kind}${index}:${text}`, bytes: Buffer.byteLength(text) }, text]

describe('explainDivergence', () => {
  it('shows the first divergent segment with context and the changed run', () => {
    const a = [seg('tool', 0, 'Bash', '{"name":"Bash"}'), seg('message', 0, 'user', '{"text":"<system-reminder>todo: 2 open</system-reminder> fix it"}')]
    const b = [a[0]!, seg('message', 0, 'user', '{"text":"<system-reminder>todo: 1 open</system-reminder> fix it"}')]
    const texts = new Map([...a, ...b].map(([s, t]) => [s.hash, t]))
    const e = explainDivergence(a.map((x) => x[0]), b.map((x) => x[0]), texts)
    expect(e.segment).toBe(1)
    expect(e.offset).toBe(15)
    expect(e.byte).toBe(15 + '{"text":"<system-reminder>todo: '.length)
    expect(e.lines).toEqual([
      '@@ message 0 (user) at byte 47 (segment at 15, +32 chars)',
      '- {"text":"<system-reminder>todo: [2] open</system-reminder> fix it"}',
      '+ {"text":"<system-reminder>todo: [1] open</system-reminder> fix it"}',
    ])
  })

  it('a removed tail and unknown texts still name the segments', () => {
    const a = [seg('message', 0, 'user', 'x'), seg('message', 1, 'assistant', 'yy')].map((x) => x[0])
    expect(explainDivergence(a, a.slice(0, 1)).lines).toEqual(['@@ message 1 (assistant) at byte 1', '- message 1 (assistant) (2 bytes)'])
    expect(explainDivergence(a, a).lines).toEqual(['(no divergence: the requests are the same)'])
  })
})
