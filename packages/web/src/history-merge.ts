/**
 * The capture files' history fed in time order. The three files are read side by side, each at
 * its own pace: a reader of the lines file runs ahead of the flows file when requests are large
 * (Claude Code sends its whole history each time), and a flow's lines then reach the index long
 * before its flow record. The calls' ledger waits for a flow record only a few hundred records,
 * then assembles the flow without it (no request facts), and such calls never reached the session
 * plot. Merging the files' history by record time gives the order the proxy wrote: a flow record
 * before its lines, its lines before its end.
 */

/** Items a lane holds before its reader waits for the merge to take them. */
const BATCH = 256

/** The time-ordered merge of several readers' history. */
export interface HistoryMerge<T> {
  /**
   * One history item of lane `lane` (`last`: the lane's last history item). Returns a promise
   * when the reader must wait before reading on (its batch is full, or its history is over and
   * the merge has not taken all of it yet).
   */
  push(lane: number, item: T, last: boolean): Promise<void> | undefined
  /** The lane's history is over without a last item (an error at the end, a rotation, the end of the file). */
  close(lane: number): void
  /** Resolves once the lane's history was all fed: its reader then feeds its records itself. */
  released(lane: number): Promise<void> | undefined
  /** Resolves when every lane's history was fed. */
  readonly done: Promise<void>
}

interface Lane<T> {
  items: T[]
  head: number
  open: boolean
  isReleased: boolean
  release: Promise<void>
  onRelease: () => void
  /** The reader waits for its batch to be taken. */
  waiter: (() => void) | undefined
}

/**
 * Creates a merge of `count` lanes: items are fed (through `feed`) smallest `ts` first, ties in
 * lane order, as soon as every lane still in its history has an item waiting or has ended. At
 * most a batch per lane is held.
 * @example
 * const m = createHistoryMerge<Item>(3, (it) => it.ts, (lane, it) => index.feed(it))
 * // each reader: `await m.push(lane, item, item.offset >= mark)`, then `m.close(lane)` when its history ends
 */
export function createHistoryMerge<T>(count: number, ts: (item: T) => string, feed: (lane: number, item: T) => void): HistoryMerge<T> {
  let left = count
  let resolveDone!: () => void
  const done = new Promise<void>((r) => (resolveDone = r))
  const lanes: Lane<T>[] = []
  for (let i = 0; i < count; i++) {
    let onRelease!: () => void
    const release = new Promise<void>((r) => (onRelease = r))
    lanes.push({ items: [], head: 0, open: true, isReleased: false, release, onRelease, waiter: undefined })
  }
  if (count === 0) resolveDone()

  function wake(l: Lane<T>): void {
    const w = l.waiter
    l.waiter = undefined
    w?.()
  }

  /** Feeds what can be fed now. */
  function run(): void {
    for (;;) {
      let best: Lane<T> | undefined
      let bestLane = -1
      let bestTs = ''
      for (let i = 0; i < count; i++) {
        const l = lanes[i] as Lane<T>
        if (l.isReleased) continue
        if (l.head === l.items.length) {
          if (l.open) return // its next item may be the earliest: wait for it
          l.isReleased = true
          l.items = []
          l.onRelease()
          wake(l)
          if (--left === 0) resolveDone()
          continue
        }
        const t = ts(l.items[l.head] as T)
        if (best === undefined || t < bestTs) {
          best = l
          bestLane = i
          bestTs = t
        }
      }
      if (best === undefined) return
      const item = best.items[best.head] as T
      best.head++
      if (best.head === best.items.length) {
        best.items = []
        best.head = 0
        // Its batch was taken: the reader reads on (a lane whose history is over is woken when
        // the next pass releases it).
        if (best.open) wake(best)
      }
      feed(bestLane, item)
    }
  }

  return {
    push(lane, item, last) {
      const l = lanes[lane] as Lane<T>
      // After its history the reader feeds its records itself (once `released`).
      if (!l.open) throw new Error(`history merge: lane ${lane} got an item after its history ended (expected released(lane), then feeding it directly)`)
      l.items.push(item)
      if (last) l.open = false
      run()
      if (l.isReleased) return undefined
      if (!l.open || l.items.length - l.head >= BATCH) return new Promise<void>((r) => (l.waiter = r))
      return undefined
    },
    close(lane) {
      const l = lanes[lane] as Lane<T>
      if (!l.open) return
      l.open = false
      run()
    },
    released(lane) {
      const l = lanes[lane] as Lane<T>
      return l.isReleased ? undefined : l.release
    },
    done,
  }
}
