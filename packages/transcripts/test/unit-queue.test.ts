import { describe, expect, it } from 'vitest'
import { takeUnits, unitQueue } from '../src/import.ts'
import type { FileCursor, TranscriptFile } from '../src/index.ts'

const cursor = (kind: TranscriptFile['kind'], path: string, size: number): FileCursor => ({ file: { kind, path, size }, offset: 0, line: 0 })
const unit = (kind: TranscriptFile['kind'], path: string, size: number) => ({ bytes: size, cursors: [cursor(kind, path, size)] })
const paths = (cs: Iterable<FileCursor>): string[] => Array.from(cs, (c) => c.file.path)

describe('the queue of a parallel import', () => {
  const units = [unit('codex', 'x1', 30), unit('claude', 'c1', 900), unit('codex', 'x2', 10), unit('claude', 'c2', 700), unit('codex', 'x3', 20), unit('codex', 'x4', 50)]

  it('gives each thread a small unit of the other format first, then the rest largest first', () => {
    const q = unitQueue(units, 2)
    expect(paths(q.lead.flat())).toEqual(['x3', 'x2'])
    expect(paths(q.units.flat())).toEqual(['c1', 'c2', 'x4', 'x1'])
    const a = takeUnits(q)
    const b = takeUnits(q)
    expect(a.next().value?.file.path).toBe('x3')
    expect(b.next().value?.file.path).toBe('x2')
    expect([...paths(a), ...paths(b)].sort()).toEqual(['c1', 'c2', 'x1', 'x4'])
  })

  it('has every unit read once when fewer threads than leads come (the lead units are read at the end)', () => {
    const q = unitQueue(units, 3)
    expect(q.lead).toHaveLength(3)
    expect(paths(takeUnits(q))).toEqual(['x1', 'c1', 'c2', 'x4', 'x3', 'x2'])
    expect(paths(takeUnits(q))).toEqual([])
  })

  it('has no leads for one thread or one format', () => {
    expect(unitQueue(units, 1).lead).toEqual([])
    const claude = unitQueue(units.filter((u) => u.cursors[0]!.file.kind === 'claude'), 2)
    expect(claude.lead).toEqual([])
    expect(paths(takeUnits(claude))).toEqual(['c1', 'c2'])
  })
})
