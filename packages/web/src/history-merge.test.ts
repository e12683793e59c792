import { describe, expect, it } from 'vitest'
import { createHistoryMerge } from './history-merge.js'

type Item = { ts: string; id: string }
const item = (ts: string, id: string): Item => ({ ts, id })

/** Runs readers over `lanes` (each reader pushes its items, yielding between them) and returns the fed ids. */
async function merged(lanes: Item[][], yieldEvery = 1): Promise<string[]> {
  const fed: string[] = []
  const m = createHistoryMerge<Item>(lanes.length, (x) => x.ts, (lane, x) => fed.push(`${lane}:${x.id}`))
  await Promise.all(
    lanes.map(async (items, lane) => {
      for (let i = 0; i < items.length; i++) {
        if (i % yieldEvery === 0) await new Promise((r) => setImmediate(r))
        const w = m.push(lane, items[i] as Item, false)
        if (w !== undefined) await w
      }
      m.close(lane)
    }),
  )
  await m.done
  return fed
}

describe('createHistoryMerge', () => {
  it('feeds the readers\' items by time, ties in lane order, whatever pace each reader reads at', async () => {
    const lanes = [
      [item('01', 'flow-a'), item('05', 'flow-b')],
      [item('02', 'a1'), item('03', 'a2'), item('05', 'b1'), item('06', 'b2')],
      [item('04', 'end-a'), item('07', 'end-b')],
    ]
    const want = ['0:flow-a', '1:a1', '1:a2', '2:end-a', '0:flow-b', '1:b1', '1:b2', '2:end-b']
    expect(await merged(lanes, 1)).toEqual(want)
    expect(await merged(lanes, 3)).toEqual(want)
  })

  it('holds at most a batch per reader: a reader far ahead waits for the others', async () => {
    const fed: string[] = []
    const m = createHistoryMerge<Item>(2, (x) => x.ts, (lane, x) => fed.push(`${lane}:${x.id}`))
    let waited = 0
    for (let i = 0; i < 300; i++) {
      const w = m.push(1, item(String(1000 + i), `l${i}`), false)
      if (w !== undefined) {
        waited = i + 1
        break
      }
    }
    // Lane 0 has given nothing yet: nothing can be fed, and lane 1's reader must wait at its batch.
    expect(fed).toEqual([])
    expect(waited).toBe(256)
    m.close(0)
    expect(fed).toHaveLength(256)
    m.close(1)
    await m.done
  })

  it('a lane whose history ends is released once its items are fed; then its reader feeds on its own', async () => {
    const fed: string[] = []
    const m = createHistoryMerge<Item>(2, (x) => x.ts, (lane, x) => fed.push(`${lane}:${x.id}`))
    const last = m.push(0, item('02', 'x'), true)
    expect(last).toBeInstanceOf(Promise)
    expect(m.released(0)).toBeInstanceOf(Promise)
    expect(() => m.push(0, item('09', 'late'), false)).toThrow(/after its history ended/)
    m.push(1, item('01', 'y'), false)
    expect(fed).toEqual(['1:y'])
    m.close(1)
    await last
    expect(fed).toEqual(['1:y', '0:x'])
    expect(m.released(0)).toBeUndefined()
    await m.done
  })

  it('with no lanes, or lanes without history, it is done at once', async () => {
    await createHistoryMerge<Item>(0, (x) => x.ts, () => undefined).done
    const m = createHistoryMerge<Item>(2, (x) => x.ts, () => undefined)
    m.close(0)
    m.close(1)
    await m.done
  })
})
