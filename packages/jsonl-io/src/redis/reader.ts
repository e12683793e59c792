import type { Redis } from 'ioredis'
import type { JsonlError } from '../errors.js'
import { DEFAULT_STREAM, decodeEntry, type StreamEntry } from './codec.js'

type RawEntries = Array<[string, unknown]>

/**
 * Waits until a connection is ready: clients made without an offline queue reject commands
 * sent while they are still connecting (or reconnecting).
 */
async function ready(conn: Redis, signal?: AbortSignal): Promise<void> {
  while (conn.status !== 'ready') {
    if (signal?.aborted) return
    if (conn.status === 'end') throw new Error('the Redis connection was closed')
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, 250)
      function done() {
        clearTimeout(t)
        conn.off('ready', done)
        resolve()
      }
      conn.once('ready', done)
    })
  }
}

/** Options shared by the stream readers. */
interface ReadBase {
  /** @defaultValue 'agenttap:events' */
  stream?: string
  /** Entries per call. @defaultValue 500 */
  count?: number
  /** How long one blocking read waits, in ms (then it loops, checking `signal`). @defaultValue 1000 */
  blockMs?: number
  /** Stops the iteration cleanly. */
  signal?: AbortSignal
  /** Entries that are not canonical records (reported, then skipped — and acked in a group). */
  onError?(error: JsonlError): void
  /**
   * Yield entries that are not canonical records as `{ id, error }` items, in their place,
   * instead of calling `onError` (a view can show the warning at once, even when nothing follows).
   */
  inBandErrors?: boolean
}

/** An entry that is not a canonical record, yielded in place with `inBandErrors`. */
export interface StreamErrorEntry {
  id: string
  error: JsonlError
  record?: undefined
}

/** Options of {@link readRedisStream}. */
export interface ReadRedisStreamOptions extends ReadBase {
  /** Start after this id; `'$'` = only new entries, `'0'` = from the beginning. @defaultValue '$' */
  from?: string
  /** Stop at the end of what is there instead of waiting for more. @defaultValue false */
  untilEnd?: boolean
  /** Stop after this id (inclusive; `ms` or `ms-seq`). */
  to?: string
}

/** Compares two stream ids (`ms-seq`, or `ms` meaning `ms-0` as a start / `ms-max` as an end). */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-')
  const [bm = '0', bs = '0'] = b.split('-')
  const d = BigInt(am) - BigInt(bm)
  if (d !== 0n) return d < 0n ? -1 : 1
  const e = BigInt(as) - BigInt(bs)
  return e === 0n ? 0 : e < 0n ? -1 : 1
}

/**
 * Reads canonical records from a stream with plain `XREAD` (no group, nothing acknowledged):
 * from an id, from the start (`'0'`) or only new entries (`'$'`). Blocking reads use a
 * duplicate connection so `redis` stays free for other commands.
 *
 * @example
 * ```ts
 * for await (const { id, record } of readRedisStream(redis, { from: '0', untilEnd: true })) console.log(id, record.type)
 * ```
 */
export function readRedisStream(redis: Redis, options: ReadRedisStreamOptions & { inBandErrors: true }): AsyncGenerator<StreamEntry | StreamErrorEntry>
export function readRedisStream(redis: Redis, options?: ReadRedisStreamOptions): AsyncGenerator<StreamEntry>
export async function* readRedisStream(redis: Redis, options: ReadRedisStreamOptions = {}): AsyncGenerator<StreamEntry | StreamErrorEntry> {
  const stream = options.stream ?? DEFAULT_STREAM
  const count = options.count ?? 500
  const blockMs = options.blockMs ?? 1000
  await ready(redis, options.signal)
  const conn = options.untilEnd ? redis : redis.duplicate()
  await ready(conn, options.signal)
  let last = options.from ?? '$'
  if (last === '$' && !options.untilEnd) {
    // Resolve '$' once: re-sending '$' after each batch would skip entries added in between.
    const info = (await redis.call('XREVRANGE', stream, '+', '-', 'COUNT', '1')) as RawEntries
    last = info[0]?.[0] ?? '0'
  }
  try {
    while (!options.signal?.aborted) {
      const args: Array<string | number> = ['COUNT', count]
      if (!options.untilEnd) args.push('BLOCK', blockMs)
      const res = (await conn.call('XREAD', ...args, 'STREAMS', stream, last)) as Array<[string, RawEntries]> | null
      const entries = res?.[0]?.[1] ?? []
      if (entries.length === 0) {
        if (options.untilEnd) return
        continue
      }
      for (const [id, fields] of entries) {
        last = id
        if (options.to !== undefined && compareStreamIds(id, options.to.includes('-') ? options.to : `${options.to}-18446744073709551615`) > 0) return
        const e = decodeEntry(stream, id, fields)
        if (!(e instanceof Error)) yield e
        else if (options.inBandErrors) yield { id, error: e }
        else options.onError?.(e)
      }
    }
  } finally {
    if (conn !== redis) conn.disconnect()
  }
}

/** Options of {@link consumeRedisStream}. */
export interface ConsumeRedisStreamOptions extends ReadBase {
  /** Consumer group name. */
  group: string
  /** This consumer's name: keep it stable across restarts to resume its own pending entries. */
  consumer: string
  /** Where a new group starts: `'$'` (new entries) or `'0'` (everything). @defaultValue '$' */
  startId?: string
  /** Claim entries pending on other consumers for longer than this (dead consumers). @defaultValue 30_000 */
  claimIdleMs?: number
}

/** An entry delivered to a group consumer: call `ack()` once it is handled. */
export interface GroupEntry extends StreamEntry {
  ack(): Promise<void>
}

/**
 * Consumes a stream as a member of a consumer group (`XREADGROUP`), so a consumer that restarts
 * resumes exactly where it left off: first its own delivered-but-unacknowledged entries, then
 * entries idle on dead consumers (`XAUTOCLAIM`), then new ones. Each entry is acknowledged
 * (`XACK`) only when the caller calls `ack()` after handling it. Malformed entries are
 * reported through `onError` and acknowledged, so they never block the group.
 *
 * @example
 * ```ts
 * for await (const e of consumeRedisStream(redis, { group: 'monitors', consumer: 'laptop-1' })) {
 *   render(e.record)
 *   await e.ack()
 * }
 * ```
 */
export function consumeRedisStream(redis: Redis, options: ConsumeRedisStreamOptions & { inBandErrors: true }): AsyncGenerator<GroupEntry | StreamErrorEntry>
export function consumeRedisStream(redis: Redis, options: ConsumeRedisStreamOptions): AsyncGenerator<GroupEntry>
export async function* consumeRedisStream(redis: Redis, options: ConsumeRedisStreamOptions): AsyncGenerator<GroupEntry | StreamErrorEntry> {
  const stream = options.stream ?? DEFAULT_STREAM
  const { group, consumer } = options
  const count = options.count ?? 500
  const blockMs = options.blockMs ?? 1000
  const claimIdleMs = options.claimIdleMs ?? 30_000
  await ready(redis, options.signal)
  try {
    await redis.call('XGROUP', 'CREATE', stream, group, options.startId ?? '$', 'MKSTREAM')
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err
  }
  const conn = redis.duplicate()
  await ready(conn, options.signal)
  const ack = (id: string) => async () => {
    await redis.call('XACK', stream, group, id)
  }
  const deliver = function* (entries: RawEntries, skipAck: string[]): Generator<GroupEntry | StreamErrorEntry> {
    for (const [id, fields] of entries) {
      if (fields === null) continue // deleted while pending (XAUTOCLAIM/XREADGROUP return nil fields)
      const e = decodeEntry(stream, id, fields)
      if (e instanceof Error) {
        skipAck.push(id)
        if (options.inBandErrors) yield { id, error: e }
        else options.onError?.(e)
      } else yield { ...e, ack: ack(id) }
    }
  }
  try {
    // 1. Our own pending entries (delivered before a restart, never acked).
    let cursor = '0'
    while (!options.signal?.aborted) {
      const res = (await conn.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, cursor)) as Array<[string, RawEntries]> | null
      const entries = res?.[0]?.[1] ?? []
      if (entries.length === 0) break
      const bad: string[] = []
      yield* deliver(entries, bad)
      if (bad.length) await redis.call('XACK', stream, group, ...bad)
      cursor = entries[entries.length - 1]![0]
    }
    let lastClaim = 0
    while (!options.signal?.aborted) {
      // 2. Entries stuck on consumers that died (checked at most every claimIdleMs / 2).
      if (Date.now() - lastClaim >= claimIdleMs / 2) {
        lastClaim = Date.now()
        let start = '0-0'
        do {
          const res = (await redis.call('XAUTOCLAIM', stream, group, consumer, claimIdleMs, start, 'COUNT', count)) as [string, RawEntries, unknown?]
          start = res[0]
          const bad: string[] = []
          yield* deliver(res[1], bad)
          if (bad.length) await redis.call('XACK', stream, group, ...bad)
        } while (start !== '0-0' && !options.signal?.aborted)
      }
      // 3. New entries.
      const res = (await conn.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as Array<[string, RawEntries]> | null
      const entries = res?.[0]?.[1] ?? []
      const bad: string[] = []
      yield* deliver(entries, bad)
      if (bad.length) await redis.call('XACK', stream, group, ...bad)
    }
  } finally {
    conn.disconnect()
  }
}
