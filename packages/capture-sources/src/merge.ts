import type { SourceItem } from './types.js'

/**
 * Merges async iterables as items arrive (live sources: one slow file never blocks another).
 * Ends when all end; an error in one ends the merge with that error. `files[i]` is put on the
 * items of input `i`.
 */
export async function* mergeLive<T extends { file?: string }>(sources: readonly AsyncIterable<T>[], files?: readonly string[]): AsyncGenerator<T> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>()
  const pull = (i: number) => pending.set(i, (its[i] as AsyncIterator<T>).next().then((r) => ({ i, r })))
  its.forEach((_, i) => pull(i))
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values())
      if (r.done) {
        pending.delete(i)
        continue
      }
      pull(i)
      if (files && files[i] !== undefined) r.value.file = files[i]
      yield r.value
    }
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}

/**
 * A sort key for a record's `ts`: the string itself when it is canonical (ISO-8601 UTC with ms,
 * `2026-11-20T10:00:00.000Z`: lexicographic order is time order, no Date.parse per record),
 * else its canonical form, '' when absent or invalid (sorts first).
 */
export function timeKey(item: { value: unknown }): string {
  const ts = (item.value as { ts?: unknown } | null)?.ts
  if (typeof ts !== 'string') return ''
  if (ts.length === 24 && ts.charCodeAt(23) === 90 /* Z */ && ts.charCodeAt(10) === 84 /* T */) return ts
  const ms = Date.parse(ts)
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString()
}

interface Lane<T> {
  /** Items waiting to be emitted, from `head` on. */
  items: T[]
  head: number
  /** The key of `items[head]` (when there is one). */
  key: string
  /** More items may come. */
  open: boolean
  /** Ended and all its items emitted. */
  finished: boolean
}

/**
 * The one merge of time-ordered lanes (a capture's files) by record time: items are emitted
 * smallest key first, ties in lane order — a stable sort of all the lanes' items by key,
 * whatever batches they come in — as soon as every lane not ended has an item waiting. The push
 * ({@link createTimeMerge}) and pull ({@link mergeBatchesByTime}, {@link mergeByTime}) forms are
 * built on it.
 */
class LaneMerge<T> {
  readonly lanes: Lane<T>[] = []
  constructor(
    count: number,
    private readonly keyOf: (item: T) => string,
    /** A lane's waiting items were all emitted (it may get more). */
    private readonly onTaken: (lane: number) => void,
    /** A lane ended and its items were all emitted. */
    private readonly onFinished: (lane: number) => void,
  ) {
    for (let i = 0; i < count; i++) this.lanes.push({ items: [], head: 0, key: '', open: true, finished: false })
  }

  /** Adds a lane's next item. */
  add(lane: number, item: T): void {
    const l = this.lanes[lane] as Lane<T>
    if (l.head === l.items.length) l.key = this.keyOf(item)
    l.items.push(item)
  }

  /** Adds a lane's next items (the array is kept, not copied, when the lane had none waiting). */
  addBatch(lane: number, items: T[]): void {
    if (items.length === 0) return
    const l = this.lanes[lane] as Lane<T>
    if (l.head < l.items.length) {
      for (const it of items) l.items.push(it)
      return
    }
    l.items = items
    l.head = 0
    l.key = this.keyOf(items[0] as T)
  }

  /** No more items will come on `lane`. */
  end(lane: number): void {
    ;(this.lanes[lane] as Lane<T>).open = false
  }

  /**
   * Emits what can be emitted now. Returns the lane whose next item must come before more can
   * be emitted (open, nothing waiting), or -1 when every lane has finished.
   */
  drain(emit: (lane: number, item: T) => void): number {
    const lanes = this.lanes
    for (;;) {
      let best = -1
      let second = -1
      for (let i = 0; i < lanes.length; i++) {
        const l = lanes[i] as Lane<T>
        if (l.finished) continue
        if (l.head === l.items.length) {
          if (l.open) return i // its next item may be the earliest: wait for it
          l.finished = true
          l.items = []
          this.onFinished(i)
          continue
        }
        if (best === -1 || l.key < (lanes[best] as Lane<T>).key) {
          second = best
          best = i
        } else if (second === -1 || l.key < (lanes[second] as Lane<T>).key) second = i
      }
      if (best === -1) return -1
      // Run on the best lane while it stays before the next lane's head (at a tie, the lower lane first).
      const l = lanes[best] as Lane<T>
      const limit = second === -1 ? undefined : (lanes[second] as Lane<T>).key
      const yieldTie = second < best
      const items = l.items
      let p = l.head
      for (;;) {
        emit(best, items[p] as T)
        p++
        if (p === items.length) break
        const k = this.keyOf(items[p] as T)
        l.key = k
        if (limit !== undefined && (k > limit || (k === limit && yieldTie))) break
      }
      if (p === items.length) {
        l.items = []
        l.head = 0
        this.onTaken(best)
      } else l.head = p
    }
  }
}

/** Items a lane of {@link createTimeMerge} holds before its reader waits for the merge to take them. */
const PUSH_BATCH = 256

/** The push form of the merge by record time: readers feed their lanes, the merge calls `onItem` in time order. */
export interface TimeMerge<T> {
  /**
   * One item of lane `lane` (`last`: the lane's last). Returns a promise when the reader must wait
   * before reading on (the lane holds a batch, or it ended and the merge has not taken all of it yet).
   */
  feed(lane: number, item: T, last: boolean): Promise<void> | undefined
  /** The lane's items are over without a last item (an error at the end, a rotation, the end of the file). */
  end(lane: number): void
  /** Resolves once the lane ended and all its items were emitted (its reader may then go on by itself). */
  released(lane: number): Promise<void> | undefined
  /** Resolves when every lane's items were emitted. */
  readonly done: Promise<void>
}

/** Options of {@link createTimeMerge}. */
export interface TimeMergeOptions<T> {
  /** How many readers (lanes); ties go to the lower lane. */
  lanes: number
  /** An item's sort key (a record's time: {@link timeKey}). */
  key(item: T): string
  /** Each item, in time order. */
  onItem(lane: number, item: T): void
}

/**
 * The push form of the merge by record time, for readers that read side by side at their own
 * pace (the web view's history of a capture's three files): each reader feeds its lane and
 * waits when told to; items reach `onItem` smallest key first, ties in lane order, once every
 * lane not ended has an item waiting. At most a batch (256 items) per lane is held.
 *
 * @example
 * const m = createTimeMerge<SourceItem>({ lanes: 3, key: timeKey, onItem: (lane, it) => index.feed(it) })
 * // each reader: `await m.feed(lane, item, item.offset >= mark)`, or `m.end(lane)` when its items end
 */
export function createTimeMerge<T>(opts: TimeMergeOptions<T>): TimeMerge<T> {
  const count = opts.lanes
  let left = count
  let resolveDone!: () => void
  const done = new Promise<void>((r) => (resolveDone = r))
  const release: { promise: Promise<void>; resolve: () => void; finished: boolean; waiter: (() => void) | undefined }[] = []
  for (let i = 0; i < count; i++) {
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    release.push({ promise, resolve, finished: false, waiter: undefined })
  }
  if (count === 0) resolveDone()
  const wake = (lane: number): void => {
    const r = release[lane] as (typeof release)[number]
    const w = r.waiter
    r.waiter = undefined
    w?.()
  }
  const merge = new LaneMerge<T>(
    count,
    opts.key,
    // Its batch was taken: the reader reads on (a lane that ended is woken when it finishes).
    (lane) => {
      if ((merge.lanes[lane] as Lane<T>).open) wake(lane)
    },
    (lane) => {
      const r = release[lane] as (typeof release)[number]
      r.finished = true
      r.resolve()
      wake(lane)
      if (--left === 0) resolveDone()
    },
  )
  const emit = opts.onItem
  return {
    feed(lane, item, last) {
      const l = merge.lanes[lane] as Lane<T>
      // After its last item the reader feeds its records itself (once `released`).
      if (!l.open) throw new Error(`time merge: lane ${lane} got an item after it ended (expected released(lane), then going on without the merge)`)
      merge.add(lane, item)
      if (last) merge.end(lane)
      merge.drain(emit)
      const r = release[lane] as (typeof release)[number]
      if (r.finished) return undefined
      if (!l.open || l.items.length - l.head >= PUSH_BATCH) return new Promise<void>((res) => (r.waiter = res))
      return undefined
    },
    end(lane) {
      if (!(merge.lanes[lane] as Lane<T>).open) return
      merge.end(lane)
      merge.drain(emit)
    },
    released(lane) {
      const r = release[lane] as (typeof release)[number]
      return r.finished ? undefined : r.promise
    },
    done,
  }
}

/**
 * Merges finished files by record time (`ts`), so a replay of the three capture files shows a
 * flow's request, stream and end in the order they happened. Each input must be in time order
 * (as a proxy writes them); ties in input order. `files[i]` is put on the items of input `i`.
 */
export async function* mergeByTime(sources: readonly AsyncIterable<SourceItem>[], files?: readonly string[]): AsyncGenerator<SourceItem> {
  const single = async function* (s: AsyncIterable<SourceItem>, file: string | undefined): AsyncGenerator<SourceItem[]> {
    for await (const item of s) {
      if (file !== undefined) item.file = file
      yield [item]
    }
  }
  for await (const batch of mergeBatchesByTime(sources.map((s, i) => single(s, files?.[i])), 1)) yield* batch
}

/**
 * Merges time-ordered batch streams by record time into batches of about `outBatch` items (see
 * {@link mergeByTime}). Holds one batch per input; awaits only when an input's batch is used up.
 */
export async function* mergeBatchesByTime(sources: readonly AsyncIterable<SourceItem[]>[], outBatch = 4096): AsyncGenerator<SourceItem[]> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const merge = new LaneMerge<SourceItem>(its.length, timeKey, () => undefined, () => undefined)
  const refill = async (i: number): Promise<void> => {
    for (;;) {
      const r = await (its[i] as AsyncIterator<SourceItem[]>).next()
      if (r.done) return merge.end(i)
      if (r.value.length === 0) continue
      return merge.addBatch(i, r.value)
    }
  }
  let out: SourceItem[] = []
  const emit = (_: number, item: SourceItem): void => void out.push(item)
  try {
    await Promise.all(its.map((_, i) => refill(i)))
    for (;;) {
      const wait = merge.drain(emit)
      if (out.length >= outBatch || (wait === -1 && out.length > 0)) {
        yield out
        out = []
      }
      if (wait === -1) return
      await refill(wait)
    }
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}
