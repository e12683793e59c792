import { SCHEMA_VERSION, type CaptureRecord, type SinkGapRecord } from '@agenttap/jsonl-io'
import { createRedisClient, createRedisStreamWriter, DEFAULT_STREAM, type RedisStreamWriterStats } from '@agenttap/jsonl-io/redis'
import type { Redis } from 'ioredis'
import type { CaptureSink } from './types.js'

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
  /** Called with a `sink_gap` record (`sink: "redis"`) once Redis takes records again after drops: pass it to the proxy's `write`, so the files say what the stream misses. */
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
 * let proxy: CaptureProxy | undefined
 * const redis = await createRedisSink({ redis: 'redis://127.0.0.1:6379', onGap: (g) => proxy?.write(g) })
 * proxy = createCaptureProxy({ logDir, sinks: [redis] })
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
        opts.onGap?.({ v: SCHEMA_VERSION, type: 'sink_gap', ts: new Date().toISOString(), flow_id: '-', session_id: '-', sink: 'redis', stream, ...g })
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
