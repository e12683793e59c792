import type { Redis, RedisOptions } from 'ioredis'

/**
 * Creates an ioredis client suited to a capture bus: commands fail fast while disconnected
 * (no unbounded offline queue), reconnects forever with a capped backoff. ioredis is an optional
 * peer dependency, loaded only when this is called.
 *
 * @example
 * ```ts
 * const redis = await createRedisClient(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
 * ```
 */
export async function createRedisClient(
  url: string,
  options: RedisOptions = {},
  /** Connection errors (refused, reset, …): ioredis reconnects by itself; default: ignored. */
  onConnectionError: (err: Error) => void = () => undefined,
): Promise<Redis> {
  let RedisCtor: typeof import('ioredis').Redis
  try {
    RedisCtor = (await import('ioredis')).Redis
  } catch (err) {
    throw new Error(`the Redis features need the "ioredis" package: install it next to @agenttap/jsonl-io (${(err as Error).message})`)
  }
  const client = new RedisCtor(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...options,
  })
  client.on('error', onConnectionError)
  return client
}
