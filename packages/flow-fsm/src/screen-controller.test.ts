import { describe, expect, it } from 'vitest'
import { createScreenController } from './screen-controller.js'
import type { RenderOp } from './types.js'

const t = (text: string, style: 'text' | 'tool' | 'dim' = 'text'): RenderOp => ({ op: 'text', text, style })
const nl: RenderOp = { op: 'newline' }
const hdr = (flow_id: string, session_id: string, ts: number, client?: string): RenderOp =>
  client === undefined ? { op: 'header', flow_id, session_id, ts } : { op: 'header', flow_id, session_id, ts, client }

function setup(guard?: number) {
  let clock = 1000
  const sc = createScreenController(guard === undefined ? { now: () => clock } : { now: () => clock, sessionGuardMs: guard })
  return { sc, at: (ms: number) => void (clock = ms) }
}

describe('createScreenController', () => {
  it('keeps the current card while active, switches after the guard with a header and flushes the buffer', () => {
    const { sc, at } = setup()
    sc.open({ flow_id: 'A', session_id: 'sa', client: 'claude-code' })
    sc.open({ flow_id: 'B', session_id: 'sb', client: 'codex' })
    const out: RenderOp[] = []
    at(1000)
    out.push(...sc.write('A', [t('a1')]))
    at(1500)
    out.push(...sc.write('B', [t('b1'), nl]))
    at(2500)
    out.push(...sc.write('A', [t(' a2')]))
    at(3000)
    out.push(...sc.write('B', [t('b2')]))
    at(4499)
    out.push(...sc.tick()) // A silent for 1999 ms: still guarded
    expect(sc.current).toBe('A')
    at(4500)
    out.push(...sc.tick()) // 2000 ms: B takes over
    at(4600)
    out.push(...sc.write('B', [t(' b3')]))
    out.push(...sc.write('A', [t('a3')])) // A now waits
    expect(sc.cards().map((c) => [c.flow_id, c.buffered])).toEqual([
      ['B', 0],
      ['A', 1],
    ])
    at(6600)
    out.push(...sc.tick()) // B silent for 2000 ms: A comes back
    out.push(...sc.write('A', [nl]))
    out.push(...sc.drain())
    expect(out).toEqual([
      hdr('A', 'sa', 1000, 'claude-code'),
      t('a1'),
      t(' a2'),
      { op: 'backtrack' }, // A's row is unfinished: erase it, it comes back with A
      hdr('B', 'sb', 4500, 'codex'),
      t('b1'),
      nl,
      t('b2'),
      t(' b3'),
      { op: 'backtrack' },
      hdr('A', 'sa', 6600, 'claude-code'),
      t('a1'), // the erased row, replayed once
      t(' a2'),
      t('a3'),
      nl,
      hdr('B', 'sb', 6600, 'codex'), // drain shows B's erased row too
      t('b2'),
      t(' b3'),
      nl,
    ])
  })

  it('a finished current card yields at once; finished cards are cleaned up after being shown', () => {
    const { sc, at } = setup()
    sc.open({ flow_id: 'A', session_id: 's1' })
    sc.open({ flow_id: 'B', session_id: 's2' })
    sc.open({ flow_id: 'C', session_id: 's3' })
    const out: RenderOp[] = []
    at(1000)
    out.push(...sc.write('A', [t('a'), nl]))
    at(1100)
    out.push(...sc.write('C', [t('c'), nl]))
    at(1200)
    out.push(...sc.write('B', [t('b'), nl]))
    out.push(...sc.finish('C', 'DEAD')) // C finished in the background: kept until shown
    expect(sc.cards().map((c) => c.flow_id)).toEqual(['A', 'B', 'C'])
    at(1300)
    out.push(...sc.finish('A', 'DONE'))
    expect(out).toEqual([
      hdr('A', 's1', 1000),
      t('a'),
      nl,
      hdr('C', 's3', 1300), // waited longest
      t('c'),
      nl,
      hdr('B', 's2', 1300), // C was already finished: B right after
      t('b'),
      nl,
    ])
    expect(sc.current).toBe('B')
    expect(sc.cards().map((c) => [c.flow_id, c.state])).toEqual([['B', 'STREAMING']])
    // late output of a finished, dropped card keeps its metadata
    at(5000)
    expect(sc.write('A', [t('late')])).toEqual([hdr('A', 's1', 5000), t('late')])
  })

  it('prefers a waiting card of the current session', () => {
    const { sc, at } = setup(100)
    sc.open({ flow_id: 'A1', session_id: 'sa' })
    sc.open({ flow_id: 'B1', session_id: 'sb' })
    sc.open({ flow_id: 'A2', session_id: 'sa' })
    at(0)
    sc.write('A1', [t('x')])
    at(10)
    sc.write('B1', [t('y')])
    at(20)
    sc.write('A2', [t('z')])
    at(200)
    expect(sc.tick()).toEqual([{ op: 'backtrack' }, hdr('A2', 'sa', 200), t('z')])
  })

  it('does not switch back and forth: the new card is guarded too, and nothing is printed twice', () => {
    const { sc, at } = setup(1000)
    const shown: string[] = []
    const collect = (ops: RenderOp[]) => {
      for (const o of ops) if (o.op === 'text') shown.push(o.text)
    }
    sc.open({ flow_id: 'A', session_id: 's' })
    sc.open({ flow_id: 'B', session_id: 's2' })
    const sent: string[] = []
    // A and B alternate every 300 ms for 10 s; each card keeps the screen ≥ 1 s after its last output.
    for (let i = 0; i < 34; i++) {
      at(i * 300)
      const id = i % 2 === 0 ? 'A' : 'B'
      const text = `${id}${i}`
      sent.push(text)
      collect(sc.write(id, [t(text)]))
      collect(sc.tick())
    }
    collect(sc.drain())
    expect([...shown].sort()).toEqual([...sent].sort())
    expect(new Set(shown).size).toBe(shown.length)
    // only A was on screen while both kept talking within the guard
    expect(shown.slice(0, 17).every((s) => s.startsWith('A'))).toBe(true)
  })

  it('caps a background card buffer and says how much was dropped', () => {
    const { sc, at } = setup()
    sc.open({ flow_id: 'A', session_id: 's' })
    sc.open({ flow_id: 'B', session_id: 's' })
    at(0)
    sc.write('A', [t('a')])
    const sc2 = createScreenController({ now: () => 0, maxBufferedChars: 10 })
    sc2.write('A', [t('a')])
    sc2.write('B', [t('12345'), t('67890'), t('abc')])
    expect(sc2.cards().find((c) => c.flow_id === 'B')).toMatchObject({ buffered: 2, dropped: 1 })
    expect(sc2.drain()).toEqual([
      nl,
      hdr('B', '', 0),
      { op: 'text', text: '… 1 earlier output ops dropped (buffer cap 10 chars)', style: 'meta' },
      nl,
      t('67890'),
      t('abc'),
      nl,
    ])
  })

  it('a finished card that streams again while on screen keeps a row erased by a switch (it used to be lost)', () => {
    const { sc, at } = setup(100)
    const out: RenderOp[] = []
    sc.open({ flow_id: 'A', session_id: 'sa' })
    out.push(...sc.write('A', [t('first'), nl]), ...sc.finish('A', 'DONE'))
    // an idle-dead flow that resumes is reopened while it is still the card on screen
    sc.open({ flow_id: 'A', session_id: 'sa' })
    out.push(...sc.write('A', [t('partial')]))
    sc.open({ flow_id: 'B', session_id: 'sb' })
    out.push(...sc.write('B', [t('b'), nl]))
    at(2000)
    out.push(...sc.tick(), ...sc.write('A', [t(' row'), nl]), ...sc.finish('A', 'DONE'), ...sc.finish('B', 'DONE'), ...sc.drain())
    const rows = (id: string) => {
      const r: string[] = []
      let cur = ''
      let row = ''
      for (const o of out) {
        if (o.op === 'header') cur = o.flow_id
        else if (o.op === 'text') row += o.text
        else if (o.op === 'backtrack') row = ''
        else {
          if (cur === id) r.push(row)
          row = ''
        }
      }
      return r
    }
    expect(rows('A')).toEqual(['first', 'partial row'])
    expect(rows('B')).toEqual(['b'])
  })

  it('rejects a missing clock', () => {
    expect(() => createScreenController({} as never)).toThrow(/option now/)
  })
})

describe('createScreenController: randomized interleavings', () => {
  /** Rows a sequence of one card's ops leaves on a terminal (backtrack clears the row). */
  function rowsOf(ops: RenderOp[]): string[] {
    const rows: string[] = []
    let row = ''
    for (const o of ops) {
      if (o.op === 'text') row += o.text
      else if (o.op === 'backtrack') row = ''
      else if (o.op === 'newline') {
        rows.push(row)
        row = ''
      }
    }
    if (row !== '') rows.push(row)
    return rows
  }
  /** Rows of the controller's output, attributed to the card whose header preceded them. */
  function rowsByCard(ops: RenderOp[]): Record<string, string[]> {
    const out: Record<string, string[]> = {}
    let cur = ''
    let row = ''
    for (const o of ops) {
      if (o.op === 'header') {
        expect(row, 'a header never follows an unfinished row').toBe('')
        cur = o.flow_id
      } else if (o.op === 'text') row += o.text
      else if (o.op === 'backtrack') row = ''
      else {
        ;(out[cur] ??= []).push(row)
        row = ''
      }
    }
    expect(row).toBe('')
    return out
  }

  it('every card ends up on screen exactly as it wrote it, whatever the interleaving and clock', () => {
    let headers = 0
    for (let seed = 1; seed <= 40; seed++) {
      let a = seed * 2654435761
      const rand = () => ((a = (a * 1103515245 + 12345) >>> 0) / 2 ** 32)
      let clock = 0
      const sc = createScreenController({ now: () => clock, sessionGuardMs: Math.floor(rand() * 500) })
      const ids = ['A', 'B', 'C', 'D'].slice(0, 2 + Math.floor(rand() * 3))
      const written: Record<string, RenderOp[]> = {}
      const live = new Set(ids)
      const out: RenderOp[] = []
      for (const id of ids) sc.open({ flow_id: id, session_id: `s-${id}` })
      let word = 0
      for (let step = 0; step < 300 && live.size > 0; step++) {
        clock += Math.floor(rand() * 120)
        const id = [...live][Math.floor(rand() * live.size)] as string
        const ops: RenderOp[] = []
        const r = rand()
        if (r < 0.55) ops.push(t(`${id}${word++} `))
        else if (r < 0.75) ops.push(nl)
        else if (r < 0.85) ops.push(t(`${id}preview${word++}`), { op: 'backtrack' }, t(`$ ${id}cmd`))
        else if (r < 0.98) out.push(...sc.tick())
        else {
          ops.push(nl)
          ;(written[id] ??= []).push(...ops)
          out.push(...sc.write(id, ops))
          out.push(...sc.finish(id, rand() < 0.5 ? 'DONE' : 'DEAD'))
          live.delete(id)
          continue
        }
        ;(written[id] ??= []).push(...ops)
        out.push(...sc.write(id, ops))
      }
      for (const id of live) {
        ;(written[id] ??= []).push(nl)
        out.push(...sc.write(id, [nl]))
        out.push(...sc.finish(id, 'DONE'))
      }
      out.push(...sc.drain())
      headers += out.filter((o) => o.op === 'header').length
      const shown = rowsByCard(out)
      for (const id of ids) expect(shown[id] ?? [], `seed ${seed} card ${id}`).toEqual(rowsOf(written[id] ?? []))
      expect(sc.cards().filter((c) => c.buffered > 0)).toEqual([])
    }
    // the interleavings really switched cards, many times
    expect(headers).toBeGreaterThan(40 * 8)
  })
})
