import type { PaceOptions, SourceItem } from './types.js'

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolveSleep) => {
    if (ms <= 0 || signal?.aborted) return resolveSleep()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolveSleep()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

function tsOf(item: SourceItem): number {
  const ts = (item.value as { ts?: unknown } | null)?.ts
  const ms = typeof ts === 'string' ? Date.parse(ts) : NaN
  return Number.isNaN(ms) ? -Infinity : ms
}

/**
 * Replays items at their recorded pace (`ts` deltas, divided by `speed`, gaps capped at
 * `maxGapMs`) or with a fixed `delayMs` between records.
 *
 * @example
 * for await (const it of paced(items, { speed: 4, maxGapMs: 500 })) view.feed(it.value)
 */
export async function* paced(src: AsyncIterable<SourceItem>, opts: PaceOptions): AsyncGenerator<SourceItem> {
  const speed = opts.speed ?? 1
  const maxGap = opts.maxGapMs ?? 2000
  let prev: number | undefined
  // Sleep debt below 1 ms is carried over instead of rounded away.
  let debt = 0
  for await (const item of src) {
    if (opts.signal?.aborted) return
    if (opts.delayMs !== undefined) {
      if (opts.delayMs > 0) await sleep(opts.delayMs, opts.signal)
    } else {
      const t = tsOf(item)
      if (Number.isFinite(t)) {
        if (prev !== undefined && t > prev) debt += Math.min(maxGap, (t - prev) / speed)
        prev = t
        if (debt >= 1) {
          const start = Date.now()
          await sleep(debt, opts.signal)
          debt -= Date.now() - start
          if (debt < 0) debt = 0
        }
      }
    }
    yield item
  }
}
