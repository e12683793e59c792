import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { RecordIteratorOptions } from './types.js'

/** Fan-out of canonical records to in-process consumers (the live monitor). */
export interface RecordHub {
  emit(record: CaptureRecord): void
  subscribe(fn: (record: CaptureRecord) => void): () => void
  iterate(opts?: RecordIteratorOptions): AsyncIterable<CaptureRecord>
  /** Ends every iterator (after the records they still hold). */
  close(): void
  readonly dropped: number
}

/**
 * Creates a hub. Subscribers are called synchronously; a throwing subscriber is reported
 * through `onError` and never breaks the capture. Iterators hold a bounded queue: a consumer
 * that falls behind by more than `maxBuffered` loses the oldest records (counted in `dropped`)
 * instead of growing the proxy's memory.
 */
export function createRecordHub(opts: { maxBuffered?: number; onError?(err: unknown): void } = {}): RecordHub {
  const subs = new Set<(r: CaptureRecord) => void>()
  const closers = new Set<() => void>()
  let dropped = 0
  let closed = false
  return {
    get dropped() {
      return dropped
    },
    emit(record) {
      for (const fn of subs) {
        try {
          fn(record)
        } catch (err) {
          opts.onError?.(err)
        }
      }
    },
    subscribe(fn) {
      subs.add(fn)
      return () => subs.delete(fn)
    },
    iterate(iopts = {}) {
      const max = Math.max(1, iopts.maxBuffered ?? opts.maxBuffered ?? 10_000)
      const self = this
      return {
        [Symbol.asyncIterator](): AsyncIterator<CaptureRecord> {
          // Ring of pending records; head index avoids O(n) shifts.
          let queue: CaptureRecord[] = []
          let head = 0
          let wake: (() => void) | undefined
          let done = closed
          const push = (r: CaptureRecord): void => {
            queue.push(r)
            if (queue.length - head > max) {
              head++
              dropped++
            }
            if (head > 4096 && head * 2 > queue.length) {
              queue = queue.slice(head)
              head = 0
            }
            wake?.()
          }
          const finish = (): void => {
            done = true
            unsub()
            closers.delete(finish)
            iopts.signal?.removeEventListener('abort', finish)
            wake?.()
          }
          const unsub = self.subscribe(push)
          closers.add(finish)
          iopts.signal?.addEventListener('abort', finish, { once: true })
          if (iopts.signal?.aborted) finish()
          return {
            async next() {
              for (;;) {
                if (head < queue.length) {
                  const value = queue[head] as CaptureRecord
                  head++
                  return { value, done: false }
                }
                if (done) return { value: undefined, done: true }
                await new Promise<void>((resolve) => (wake = resolve))
                wake = undefined
              }
            },
            async return() {
              finish()
              return { value: undefined, done: true }
            },
          }
        },
      }
    },
    close() {
      closed = true
      for (const c of [...closers]) c()
    },
  }
}
