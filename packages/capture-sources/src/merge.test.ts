import { describe, expect, it } from 'vitest'
import { createTimeMerge, mergeBatchesByTime, mergeByTime } from './merge.js'
import type { SourceItem } from './types.js'

type Item = { ts: string; id: string }
/** A record time from a two-digit second. */
const iso = (s: string): string => `2026-01-01T00:00:${s}.000Z`
const item = (ts: string, id: string): Item => ({ ts, id })

/** Runs readers over `lanes` (each reader feeds its items, yielding between them) and returns the emitted ids. */
async function pushed(lanes: Item[][], yieldEvery = 1): Promise<string[]> {
  const fed: string[] = []
  const m = createTimeMerge<Item>({ lanes: lanes.length, key: (x) => x.ts, onItem: (lane, x) => fed.push(`${lane}:${x.id}`) })
  await Promise.all(
    lanes.map(async (items, lane) => {
      for (let i = 0; i < items.length; i++) {
        if (i % yieldEvery === 0) await new Promise((r) => setImmediate(r))
        const w = m.feed(lane, items[i] as Item, false)
        if (w !== undefined) await w
      }
      m.end(lane)
    }),
  )
  await m.done
  return fed
}

/** The pull form over the same lanes, each cut into batches of `size` items; returns the ids in lane:id form. */
async function pulled(lanes: Item[][], size: number, outBatch = 3): Promise<string[]> {
  const source = async function* (items: Item[], lane: number): AsyncGenerator<SourceItem[]> {
    for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size).map((x): SourceItem => ({ value: { ts: iso(x.ts), id: x.id }, file: String(lane) }))
  }
  const out: string[] = []
  for await (const b of mergeBatchesByTime(lanes.map(source), outBatch)) for (const x of b) out.push(`${x.file}:${(x.value as Item).id}`)
  return out
}

/** Ties across the files: a flow record, its lines and its end in the same millisecond as another flow's lines. */
const tied = [
  [item('01', 'flow-a'), item('05', 'flow-b')],
  [item('02', 'a1'), item('03', 'a2'), item('05', 'a3'), item('05', 'b1'), item('06', 'b2')],
  [item('05', 'end-a'), item('07', 'end-b')],
]
const tiedWant = ['0:flow-a', '1:a1', '1:a2', '0:flow-b', '1:a3', '1:b1', '2:end-a', '1:b2', '2:end-b']

describe('createTimeMerge (push)', () => {
  it("emits the readers' items by time, ties in lane order, whatever pace each reader reads at", async () => {
    const lanes = [
      [item('01', 'flow-a'), item('05', 'flow-b')],
      [item('02', 'a1'), item('03', 'a2'), item('05', 'b1'), item('06', 'b2')],
      [item('04', 'end-a'), item('07', 'end-b')],
    ]
    const want = ['0:flow-a', '1:a1', '1:a2', '2:end-a', '0:flow-b', '1:b1', '1:b2', '2:end-b']
    expect(await pushed(lanes, 1)).toEqual(want)
    expect(await pushed(lanes, 3)).toEqual(want)
    expect(await pushed(tied, 1)).toEqual(tiedWant)
    expect(await pushed(tied, 2)).toEqual(tiedWant)
  })

  it('holds at most a batch per reader: a reader far ahead waits for the others', async () => {
    const fed: string[] = []
    const m = createTimeMerge<Item>({ lanes: 2, key: (x) => x.ts, onItem: (lane, x) => fed.push(`${lane}:${x.id}`) })
    let waited = 0
    for (let i = 0; i < 300; i++) {
      const w = m.feed(1, item(String(1000 + i), `l${i}`), false)
      if (w !== undefined) {
        waited = i + 1
        break
      }
    }
    // Lane 0 has given nothing yet: nothing can be emitted, and lane 1's reader must wait at its batch.
    expect(fed).toEqual([])
    expect(waited).toBe(256)
    m.end(0)
    expect(fed).toHaveLength(256)
    m.end(1)
    await m.done
  })

  it('a lane that ends is released once its items are emitted; then its reader goes on by itself', async () => {
    const fed: string[] = []
    const m = createTimeMerge<Item>({ lanes: 2, key: (x) => x.ts, onItem: (lane, x) => fed.push(`${lane}:${x.id}`) })
    const last = m.feed(0, item('02', 'x'), true)
    expect(last).toBeInstanceOf(Promise)
    expect(m.released(0)).toBeInstanceOf(Promise)
    expect(() => m.feed(0, item('09', 'late'), false)).toThrow(/after it ended/)
    m.feed(1, item('01', 'y'), false)
    expect(fed).toEqual(['1:y'])
    m.end(1)
    await last
    expect(fed).toEqual(['1:y', '0:x'])
    expect(m.released(0)).toBeUndefined()
    await m.done
  })

  it('with no lanes, or lanes without items, it is done at once', async () => {
    await createTimeMerge<Item>({ lanes: 0, key: (x) => x.ts, onItem: () => undefined }).done
    const m = createTimeMerge<Item>({ lanes: 2, key: (x) => x.ts, onItem: () => undefined })
    m.end(0)
    m.end(1)
    await m.done
  })
})

describe('mergeBatchesByTime / mergeByTime (pull)', () => {
  it('gives the order of the push form, ties in input order, whatever the batches the inputs come in', async () => {
    for (const size of [1, 2, 3, 10]) expect(await pulled(tied, size)).toEqual(tiedWant)
  })

  it('mergeByTime: one item at a time, the input file on each item', async () => {
    const src = (xs: Item[]) =>
      (async function* () {
        for (const x of xs) yield { value: { ts: iso(x.ts), id: x.id } } as SourceItem
      })()
    const got: string[] = []
    for await (const it of mergeByTime(tied.map(src), ['f', 'l', 'e'])) got.push(`${it.file}:${(it.value as Item).id}`)
    expect(got).toEqual(tiedWant.map((s) => s.replace(/^0:/, 'f:').replace(/^1:/, 'l:').replace(/^2:/, 'e:')))
  })
})
