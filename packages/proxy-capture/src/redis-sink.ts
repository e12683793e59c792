import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createRedisClient, createRedisStreamWriter, DEFAULT_STREAM, type RedisStreamWriterStats } from '@agenttap/jsonl-io/redis'
import type { Redis } from 'ioredis'
import type { CaptureSink } from './types.js'

/** A `sink_gap` notice: what a sink had to drop. Written to the files by the proxy. */
export interface SinkGapRecord {
  v: 1
  type: 'sink_gap'
  ts: string
  flow_id: string
  session_id: string
  sink: 'redis'
  stream: string
  dropped: number
  /** Time range of the dropped records. */
  from: string
  to: string
  [extra: string]: unknown
}

/** Options of {@link createRedisSink}. */
export interface RedisSinkOptions {
  /** Redis URL (`redis://host:6379`), or an ioredis client made with `createRedisClient`. */
  redis: string | Redis
  /** @defaultValue 'agenttap:events' */
  stream?: string
  /** Approximate stream cap (`XADD … MAXLEN ~ N`). */
  maxlen?: number
  /** Records held while Redis is down or slow; past it they are dropped and counted. @defaultValue 100_000 */
  maxQueue?: number
  /** Called with a `sink_gap` record once Redis takes records again after drops (write it to the file sink). */
  onGap?(record: SinkGapRecord): void
  /** Send failures (the records stay queued and are retried). */
  onError?(err: Error): void
  /** Connection errors (ioredis reconnects by itself). */
  onConnectionError?(err: Error): void
}

/**
 * A capture sink that appends every canonical record to a Redis stream (pipelined XADD, one
 * entry per record), next to the files. It never blocks the proxied traffic: records queue in a
 * bounded buffer while Redis is down or slow, the client reconnects by itself, and what had to
 * be dropped comes back as a `sink_gap` record through `onGap`.
 *
 * @example
 * ```ts
 * const files = createFileSink({ logDir })
 * const redis = await createRedisSink({ redis: 'redis://127.0.0.1:6379', onGap: (g) => files.write(g) })
 * const proxy = createCaptureProxy({ logDir, sinks: [files, redis] })
 * ```
 */
export async function createRedisSink(opts: RedisSinkOptions): Promise<CaptureSink & { readonly stats: RedisStreamWriterStats }> {
  const own = typeof opts.redis === 'string'
  const client = typeof opts.redis === 'string' ? await createRedisClient(opts.redis, {}, opts.onConnectionError) : opts.redis
  const stream = opts.stream ?? DEFAULT_STREAM
  const writer = createRedisStreamWriter(client, {
    stream,
    ...(opts.maxlen !== undefined ? { maxlen: opts.maxlen } : {}),
    ...(opts.maxQueue !== undefined ? { maxQueue: opts.maxQueue } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
    onGap: (g) => {
      try {
        opts.onGap?.({ v: 1, type: 'sink_gap', ts: new Date().toISOString(), flow_id: '-', session_id: '-', sink: 'redis', stream, ...g })
      } catch (err) {
        // e.g. the file sink already closed during shutdown: report, never throw into the writer.
        opts.onError?.(err as Error)
      }
    },
  })
  return {
    get stats() {
      return writer.stats
    },
    write(record: CaptureRecord) {
      writer.write(record)
    },
    flush: () => writer.flush(),
    async close() {
      await writer.close()
      if (own) client.disconnect()
    },
  }
}
