import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RenderOp } from '../src/types.js'

export { prng as rng } from '../../../test-support/prng.js'

/** The records of a shared fixture capture (`fixtures/<name>`, one JSON record per line). */
export function fixtureRecords(name: string): Record<string, unknown>[] {
  const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', name), 'utf8')
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** Splits `s` at random points into 1..maxParts pieces (none empty). */
export function randomSplit(s: string, rand: () => number, maxParts = 12): string[] {
  const parts = 1 + Math.floor(rand() * maxParts)
  const cuts = new Set<number>()
  for (let i = 1; i < parts; i++) cuts.add(1 + Math.floor(rand() * Math.max(1, s.length - 1)))
  const sorted = [...cuts].filter((c) => c > 0 && c < s.length).sort((a, b) => a - b)
  const out: string[] = []
  let prev = 0
  for (const c of sorted) {
    out.push(s.slice(prev, c))
    prev = c
  }
  out.push(s.slice(prev))
  return out
}

/** Simulates a terminal: text appends to the current row, backtrack clears it, newline ends it. */
export function screen(ops: readonly RenderOp[]): string[] {
  const lines: string[] = []
  let cur = ''
  for (const op of ops) {
    if (op.op === 'text') cur += op.text
    else if (op.op === 'backtrack') cur = ''
    else if (op.op === 'newline') {
      lines.push(cur)
      cur = ''
    } else {
      if (cur !== '') lines.push(cur)
      cur = ''
      lines.push(`## ${op.flow_id} ${op.session_id}${op.client ? ` ${op.client}` : ''} @${op.ts}`)
    }
  }
  if (cur !== '') lines.push(cur)
  return lines
}
