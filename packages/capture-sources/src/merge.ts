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
export function timeKey(item: SourceItem): string {
  const ts = (item.value as { ts?: unknown } | null)?.ts
  if (typeof ts !== 'string') return ''
  if (ts.length === 24 && ts.charCodeAt(23) === 90 /* Z */ && ts.charCodeAt(10) === 84 /* T */) return ts
  const ms = Date.parse(ts)
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString()
}

/**
 * Merges finished files by record time (`ts`), so a replay of the three capture files shows a
 * flow's request, stream and end in the order they happened. Each input must be in time order
 * (as a proxy writes them); ties keep input order. `files[i]` is put on the items of input `i`.
 */
export async function* mergeByTime(sources: readonly AsyncIterable<SourceItem>[], files?: readonly string[]): AsyncGenerator<SourceItem> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const n = its.length
  const heads: (SourceItem | undefined)[] = new Array<SourceItem | undefined>(n)
  const keys: string[] = new Array<string>(n).fill('')
  const take = async (i: number) => {
    const r = await (its[i] as AsyncIterator<SourceItem>).next()
    if (r.done) heads[i] = undefined
    else {
      const item = r.value
      if (files && files[i] !== undefined) item.file = files[i]
      heads[i] = item
      keys[i] = timeKey(item)
    }
  }
  await Promise.all(its.map((_, i) => take(i)))
  try {
    for (;;) {
      const [best, second] = twoSmallest(heads, keys)
      if (best === -1) return
      // Run ahead on the best input while it stays before the next input's head.
      const limit = second === -1 ? undefined : (keys[second] as string)
      do {
        yield heads[best] as SourceItem
        await take(best)
      } while (heads[best] !== undefined && (limit === undefined || (keys[best] as string) <= limit))
    }
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}

/** Indexes of the live inputs with the smallest and second smallest key (-1 when none). */
function twoSmallest(live: readonly unknown[], keys: readonly string[]): [number, number] {
  let best = -1
  let second = -1
  for (let i = 0; i < live.length; i++) {
    if (live[i] === undefined) continue
    if (best === -1 || (keys[i] as string) < (keys[best] as string)) {
      second = best
      best = i
    } else if (second === -1 || (keys[i] as string) < (keys[second] as string)) second = i
  }
  return [best, second]
}

/**
 * Merges time-ordered batch streams by record time into batches (see {@link mergeByTime}). Holds
 * one batch per input; awaits only when an input's batch is used up.
 */
export async function* mergeBatchesByTime(sources: readonly AsyncIterable<SourceItem[]>[], outBatch = 4096): AsyncGenerator<SourceItem[]> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const n = its.length
  const bufs: (SourceItem[] | undefined)[] = new Array<SourceItem[] | undefined>(n)
  const pos: number[] = new Array<number>(n).fill(0)
  const keys: string[] = new Array<string>(n).fill('')
  const refill = async (i: number): Promise<void> => {
    for (;;) {
      const r = await (its[i] as AsyncIterator<SourceItem[]>).next()
      if (r.done) {
        bufs[i] = undefined
        return
      }
      if (r.value.length === 0) continue
      bufs[i] = r.value
      pos[i] = 0
      keys[i] = timeKey(r.value[0] as SourceItem)
      return
    }
  }
  await Promise.all(its.map((_, i) => refill(i)))
  let out: SourceItem[] = []
  try {
    for (;;) {
      const [best, second] = twoSmallest(bufs, keys)
      if (best === -1) break
      const limit = second === -1 ? undefined : (keys[second] as string)
      const buf = bufs[best] as SourceItem[]
      let p = pos[best] as number
      // Run ahead on the best input while it stays at or before the next input's head.
      for (;;) {
        out.push(buf[p] as SourceItem)
        p++
        if (p >= buf.length) break
        const k = timeKey(buf[p] as SourceItem)
        keys[best] = k
        if (limit !== undefined && k > limit) break
      }
      pos[best] = p
      if (out.length >= outBatch) {
        yield out
        out = []
      }
      if (p >= buf.length) await refill(best)
    }
    if (out.length > 0) yield out
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}
