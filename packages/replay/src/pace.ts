/**
 * Recorded pace: each event is sent when its captured time (divided by the speed) has come,
 * measured from the moment the request arrived. Every deadline is absolute (the stream's start
 * plus the event's time), so a late wake-up delays one event and never the ones after it. A timer
 * wakes the sender {@link EARLY_MS} early (libuv timers have millisecond granularity and fire late
 * under load, never early) and the last stretch is waited out a turn of the event loop at a time
 * (`setImmediate`, which still serves I/O), bounded to that window.
 */
import { performance } from 'node:perf_hooks'
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises'

/**
 * How early (ms) the timer wakes before a deadline; the rest is waited out turn by turn. One
 * millisecond covers the timers' granularity; a longer spin burns CPU that a loaded machine's
 * scheduler charges back as later wake-ups (paired runs at load 25–48: 2 ms gave a worse p99).
 */
export const EARLY_MS = 1

/** An event due within this many ms of now is sent now (with the events due with it). */
const DUE_SLACK_MS = 0.05

/** Waits until `due` (a `performance.now()` time). */
export async function waitUntil(due: number, signal?: AbortSignal): Promise<void> {
  for (;;) {
    if (signal?.aborted) return
    const left = due - performance.now()
    if (left <= DUE_SLACK_MS) return
    if (left > EARLY_MS) {
      try {
        await sleep(left - EARLY_MS, undefined, signal ? { signal } : {})
      } catch {
        return
      }
    } else await immediate()
  }
}

/** A writable the pacer writes to: `write` says whether it wants more now. */
export interface PacedSink<T> {
  write(item: T): boolean
  /** Resolves when the sink takes writes again (or is gone). */
  drained(): Promise<void>
  /** Called around a batch of writes due at once (e.g. join them into one write, or cork / uncork). */
  batch?(fn: () => void): void
}

/**
 * Sends `items` to `sink` at their times: `timeOf(item)` ms after `start` divided by `speed`
 * (`Infinity`: as fast as the sink takes them). Stops when `signal` aborts. The deadlines are
 * computed once, before the first wait; everything due by the time the sender wakes goes out in
 * one batch.
 *
 * @param start - `performance.now()` of the moment the times are counted from
 */
export async function pace<T>(items: readonly T[], timeOf: (item: T) => number, start: number, speed: number, sink: PacedSink<T>, signal?: AbortSignal): Promise<void> {
  const fast = !Number.isFinite(speed)
  const n = items.length
  let due: Float64Array | undefined
  if (!fast) {
    due = new Float64Array(n)
    for (let k = 0; k < n; k++) due[k] = start + timeOf(items[k] as T) / speed
  }
  let i = 0
  while (i < n) {
    if (signal?.aborted) return
    if (due !== undefined) await waitUntil(due[i] as number, signal)
    if (signal?.aborted) return
    let more = true
    const until = performance.now() + DUE_SLACK_MS
    const run = (): void => {
      while (i < n && more) {
        if (due !== undefined && (due[i] as number) > until) break
        more = sink.write(items[i] as T)
        i++
      }
    }
    if (sink.batch) sink.batch(run)
    else run()
    if (!more) await sink.drained()
  }
}
