import { consumeRedisStream, createRedisClient, DEFAULT_STREAM, readRedisStream } from '@agenttap/jsonl-io/redis'
import type { RedisSourceOptions, SourceItem } from './types.js'

/**
 * Records from a Redis stream (written by `agenttap-proxy --redis`) as source items. In a
 * consumer group each record is acknowledged (XACK) once the reader asks for the next one, i.e.
 * after it was handled, so a monitor killed and restarted under the same consumer name shows what
 * it had not finished, and nothing it had. Entries that are not canonical records come in-band as
 * errors.
 *
 * @example
 * for await (const it of redisSource('redis://127.0.0.1:6379', { group: 'agenttap-monitor', consumer: 'laptop-1' })) …
 */
export async function* redisSource(url: string, opts: RedisSourceOptions = {}): AsyncGenerator<SourceItem> {
  const redis = await createRedisClient(url)
  const stream = opts.stream ?? DEFAULT_STREAM
  const signal = opts.signal ? { signal: opts.signal } : {}
  try {
    if (opts.group) {
      const it = consumeRedisStream(redis, { stream, group: opts.group, consumer: opts.consumer ?? 'monitor', startId: opts.fromStart ? '0' : '$', inBandErrors: true, ...signal })
      for await (const e of it) {
        if (e.error) yield { value: undefined, error: e.error }
        else {
          yield { value: e.record }
          await e.ack()
        }
      }
    } else {
      for await (const e of readRedisStream(redis, { stream, from: opts.fromStart ? '0' : '$', inBandErrors: true, ...signal })) {
        yield e.error ? { value: undefined, error: e.error } : { value: e.record }
      }
    }
  } finally {
    redis.disconnect()
  }
}
