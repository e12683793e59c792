/**
 * Recorded pace: each event is sent when its captured time (divided by the speed) has come,
 * measured from the moment the request arrived. Timers wake up to ~1.5 ms early and the last
 * stretch is waited out a turn of the event loop at a time, so late wake-ups do not add up.
 */
import { performance } from 'node:perf_hooks'
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises'

/** Waits until `due` (a `performance.now()` time). */
export async function waitUntil(due: number, signal?: AbortSignal): Promise<void> {
  let left = due - performance.now()
  if (left > 2) {
    try {
      await sleep(left - 1.5, undefined, signal ? { signal } : {})
    } catch {
      return
    }
  }
  left = due - performance.now()
  while (left > 0.05 && !signal?.aborted) {
    await immediate()
    left = due - performance.now()
  }
}

/** A writable the pacer writes to: `write` says whether it wants more now. */
export interface PacedSink<T> {
  write(item: T): boolean
  /** Resolves when the sink takes writes again (or is gone). */
  drained(): Promise<void>
  /** Called around a batch of writes due at once (e.g. cork / uncork). */
  batch?(fn: () => void): void
}

/**
 * Sends `items` to `sink` at their times: `timeOf(item)` ms after `start` divided by `speed`
 * (`Infinity`: as fast as the sink takes them). Stops when `signal` aborts.
 *
 * @param start - `performance.now()` of the moment the times are counted from
 */
export async function pace<T>(items: readonly T[], timeOf: (item: T) => number, start: number, speed: number, sink: PacedSink<T>, signal?: AbortSignal): Promise<void> {
  const fast = !Number.isFinite(speed)
  let i = 0
  while (i < items.length) {
    if (signal?.aborted) return
    if (!fast) await waitUntil(start + timeOf(items[i] as T) / speed, signal)
    if (signal?.aborted) return
    // Everything due by now goes in one batch (one TLS record, one syscall where it fits).
    let more = true
    const now = performance.now()
    const run = (): void => {
      while (i < items.length && more) {
        const item = items[i] as T
        if (!fast && start + timeOf(item) / speed > now + 0.05) break
        i++
        more = sink.write(item)
      }
    }
    if (sink.batch) sink.batch(run)
    else run()
    if (!more) await sink.drained()
  }
}
