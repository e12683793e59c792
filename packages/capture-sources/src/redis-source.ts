import { consumeRedisStream, createRedisClient, DEFAULT_STREAM, readRedisStream } from '@agenttap/jsonl-io/redis'
import { CaptureSourceError } from './errors.js'
import type { RedisSourceOptions, SourceItem } from './types.js'

/** The URL without its credentials, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return '(the given URL)'
  }
}

/** Waits until the client is ready, for at most `ms`; false when it never got there (or the signal aborted). */
function ready(redis: { status: string; once(ev: 'ready', fn: () => void): unknown; off(ev: 'ready', fn: () => void): unknown }, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      signal?.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onReady = (): void => done(true)
    const onAbort = (): void => done(false)
    const timer = setTimeout(() => done(false), ms)
    redis.once('ready', onReady)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

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
  let lastError: Error | undefined
  const redis = await createRedisClient(url, {}, (e) => {
    lastError = e
  })
  const timeoutMs = opts.connectTimeoutMs ?? 5000
  if (!(await ready(redis, timeoutMs, opts.signal))) {
    redis.disconnect()
    if (opts.signal?.aborted) return
    throw new CaptureSourceError('SOURCE_ERROR', `cannot reach Redis at ${shown(url)} (tried for ${Math.round(timeoutMs / 100) / 10} s${lastError ? `: ${lastError.message}` : ''})`, lastError ? { cause: lastError } : {})
  }
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
