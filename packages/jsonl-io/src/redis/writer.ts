import type { Redis } from 'ioredis'
import { DEFAULT_STREAM, encodeEntry } from './codec.js'

/** Options of {@link createRedisStreamWriter}. */
export interface RedisStreamWriterOptions {
  /** @defaultValue 'agenttap:events' */
  stream?: string
  /** Trim the stream to about this many entries (`XADD … MAXLEN ~ N`). Default: no trim. */
  maxlen?: number
  /** Most records held while Redis is down or slow; beyond it new records are dropped and counted. @defaultValue 100_000 */
  maxQueue?: number
  /** Most XADDs in one pipeline. @defaultValue 512 */
  batchSize?: number
  /** Send one XADD per round trip instead of pipelining (for comparison benchmarks). @defaultValue false */
  unpipelined?: boolean
  /**
   * Called once Redis takes records again after it had to drop some: how many, and the time
   * range of the dropped records. The proxy writes this as a `sink_gap` record into its files.
   */
  onGap?(gap: { dropped: number; from: string; to: string }): void
  /** Called on each failed send (the records stay queued and are retried). */
  onError?(error: Error): void
}

/** Counters of a {@link RedisStreamWriter}. */
export interface RedisStreamWriterStats {
  written: number
  dropped: number
  queued: number
  failures: number
}

/** Writes canonical records to a Redis stream; never blocks, never grows without bound. */
export interface RedisStreamWriter {
  /** Queues a record (optionally its JSON already serialized). Returns false if it was dropped. */
  write(record: { flow_id?: unknown; type?: unknown; ts?: unknown }, json?: string): boolean
  /** Resolves when the queue is empty or Redis is unavailable (then what is left stays queued). */
  flush(): Promise<void>
  /** Flushes (bounded by `timeoutMs`) and stops; remaining records count as dropped. */
  close(timeoutMs?: number): Promise<void>
  readonly stats: RedisStreamWriterStats
}

/**
 * A pipelined, bounded XADD writer for the capture bus. Records queue in memory while Redis is
 * unavailable or slow (one pipeline in flight at a time), up to `maxQueue`; past that they are
 * dropped, counted, and reported through `onGap` once Redis accepts writes again. Use a client
 * from `createRedisClient` (no offline queue) so a dead Redis fails fast instead of buffering.
 *
 * @example
 * ```ts
 * const w = createRedisStreamWriter(redis, { maxlen: 1_000_000, onGap: (g) => files.write({ type: 'sink_gap', ...g }) })
 * w.write(record)
 * ```
 */
export function createRedisStreamWriter(redis: Redis, options: RedisStreamWriterOptions = {}): RedisStreamWriter {
  const stream = options.stream ?? DEFAULT_STREAM
  const maxQueue = options.maxQueue ?? 100_000
  const batchSize = options.batchSize ?? 512
  const trim: string[] = options.maxlen ? ['MAXLEN', '~', String(options.maxlen)] : []
  // A ring of pending entries: [fields, ts] — shift() on a large array is O(n), so use a head index.
  let queue: Array<{ fields: string[]; ts: string }> = []
  let head = 0
  let inFlight = false
  let closed = false
  let gap: { dropped: number; from: string; to: string } | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let waiters: Array<() => void> = []
  const stats: RedisStreamWriterStats = { written: 0, dropped: 0, queued: 0, failures: 0 }

  const pending = () => queue.length - head
  const wakeWaiters = () => {
    const w = waiters
    waiters = []
    for (const f of w) f()
  }

  const scheduleRetry = () => {
    if (retryTimer || closed) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      pump()
    }, 100)
    retryTimer.unref()
  }

  const pump = (): void => {
    if (inFlight) return
    if (pending() === 0) return wakeWaiters()
    if (redis.status !== 'ready') {
      wakeWaiters() // nothing can be sent now; flush() must not hang on a dead Redis
      return scheduleRetry()
    }
    const n = Math.min(pending(), options.unpipelined ? 1 : batchSize)
    const batch = queue.slice(head, head + n)
    inFlight = true
    const send = options.unpipelined
      ? redis.xadd(stream, ...(trim as []), '*', ...batch[0]!.fields).then(() => undefined)
      : (() => {
          const p = redis.pipeline()
          for (const e of batch) p.xadd(stream, ...(trim as []), '*', ...e.fields)
          return p.exec().then((res) => {
            const failed = res?.find(([err]) => err)
            if (failed) throw failed[0]
          })
        })()
    send.then(
      () => {
        inFlight = false
        head += n
        if (head > 4096 && head * 2 > queue.length) {
          queue = queue.slice(head)
          head = 0
        }
        stats.written += n
        if (gap) {
          const g = gap
          gap = undefined
          options.onGap?.(g)
        }
        pump()
      },
      (err: Error) => {
        inFlight = false
        stats.failures++
        options.onError?.(err)
        wakeWaiters()
        scheduleRetry()
      },
    )
  }

  return {
    get stats() {
      stats.queued = pending()
      return stats
    },
    write(record, json) {
      if (closed) return false
      const ts = typeof record.ts === 'string' ? record.ts : new Date().toISOString()
      if (pending() >= maxQueue) {
        stats.dropped++
        if (gap) {
          gap.dropped++
          gap.to = ts
        } else gap = { dropped: 1, from: ts, to: ts }
        return false
      }
      queue.push({ fields: encodeEntry(record, json), ts })
      pump()
      return true
    },
    flush() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve)
        pump()
      })
    },
    async close(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))])
      clearTimeout(timer)
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      stats.dropped += pending()
      queue = []
      head = 0
    },
  }
}
