import type { SourceItem } from './types.js'

/**
 * How far the followed files have been read: each file's count of reads that reached its end
 * (jsonl-io `follow`'s `onCaughtUp`, called after every poll that found nothing more).
 */
export class ReadRounds {
  private readonly counts: number[]
  private readonly listeners = new Set<() => void>()
  constructor(files: number) {
    this.counts = new Array<number>(files).fill(0)
  }

  /** File `i` was read to its end. */
  caughtUp(i: number): void {
    this.counts[i] = (this.counts[i] ?? 0) + 1
    for (const l of this.listeners) l()
  }

  /** Reads to the end that every file has done (the slowest file's count). */
  get rounds(): number {
    let min = Infinity
    for (const c of this.counts) if (c < min) min = c
    return min === Infinity ? 0 : min
  }

  /** Calls `fn` after each {@link caughtUp}; returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
}

/**
 * Holds each item until every other followed file has been read to its end twice since the item
 * arrived — the second read began after the item was read, so whatever was written before it
 * (a flow's last `sse` lines, written beside its `flow_end`) has been read — or, with `maxMs`,
 * at most that long. Items leave in arrival order; reading goes on meanwhile.
 *
 * A fixed delay instead loses on a loaded machine: the lines file is read later than the delay
 * and the flow ends before its last lines.
 */
export async function* heldUntilRead(src: AsyncIterable<SourceItem>, read: ReadRounds, maxMs: number | undefined, signal: AbortSignal | undefined): AsyncGenerator<SourceItem> {
  const q: { item: SourceItem; round: number; until: number }[] = []
  let head = 0
  let done = false
  let failure: { error: unknown } | undefined
  let wake: (() => void) | undefined
  const poke = (): void => wake?.()
  const off = read.onChange(poke)
  signal?.addEventListener('abort', poke, { once: true })
  const it = src[Symbol.asyncIterator]()
  void (async () => {
    try {
      for (;;) {
        const r = await it.next()
        if (r.done) break
        q.push({ item: r.value, round: read.rounds, until: maxMs === undefined ? Infinity : Date.now() + maxMs })
        poke()
      }
    } catch (error) {
      failure = { error }
    } finally {
      done = true
      poke()
    }
  })()
  try {
    for (;;) {
      if (signal?.aborted) return
      const first = q[head]
      if (first && (read.rounds >= first.round + 2 || Date.now() >= first.until)) {
        // An index, not shift(): shifting a long queue per item is quadratic.
        q[head++] = undefined as never
        if (head > 1024 && head * 2 > q.length) {
          q.splice(0, head)
          head = 0
        }
        yield first.item
        continue
      }
      if (!first) {
        if (failure) throw failure.error
        if (done) return
      }
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((r) => {
        wake = r
        const wait = first ? first.until - Date.now() : Infinity
        if (Number.isFinite(wait)) timer = setTimeout(r, Math.max(0, wait))
      })
      clearTimeout(timer)
      wake = undefined
    }
  } finally {
    off()
    signal?.removeEventListener('abort', poke)
    // Not awaited: the reader may be parked in next() until its own signal stops it.
    void it.return?.()
  }
}
