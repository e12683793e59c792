import { join } from 'node:path'
import type { RecordSource, SourceEntry } from '@agenttap/extractors'
import { CAPTURE_DIR, CAPTURE_FILES, captureFileFor, createJsonlWriter, type JsonlWriter } from '@agenttap/jsonl-io'

/**
 * jsonl-io's Redis module, loaded by the first Redis command: a mode over capture files or
 * transcripts (every start of the CLI imports this file) never resolves nor compiles it.
 */
const redisIo = (): Promise<typeof import('@agenttap/jsonl-io/redis')> => import('@agenttap/jsonl-io/redis')

/** What to read from a Redis stream. */
export interface StreamRange {
  url: string
  /** @defaultValue 'agenttap:events' */
  stream?: string
  /** Exclusive start id. @defaultValue '0' (the beginning) */
  from?: string
  /** Inclusive end id. */
  to?: string
  /** Keep reading new entries instead of stopping at the end. */
  follow?: boolean
  signal?: AbortSignal
  /** Entries that are not canonical records. */
  onError?(message: string): void
}

async function connect(url: string) {
  const { createRedisClient } = await redisIo()
  const redis = await createRedisClient(url)
  for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50))
  if (redis.status !== 'ready') {
    redis.disconnect()
    throw new Error(`cannot reach Redis at ${url}`)
  }
  return redis
}

async function* records(range: StreamRange) {
  const { DEFAULT_STREAM, readRedisStream } = await redisIo()
  const redis = await connect(range.url)
  try {
    yield* readRedisStream(redis, {
      stream: range.stream ?? DEFAULT_STREAM,
      from: range.from ?? '0',
      untilEnd: range.follow !== true,
      onError: (e) => range.onError?.(e.message),
      ...(range.to !== undefined ? { to: range.to } : {}),
      ...(range.signal ? { signal: range.signal } : {}),
    })
  } finally {
    redis.disconnect()
  }
}

/** Writes a stream range as NDJSON records (the `redis-dump | agenttap-monitor -` workflow). Returns the count. */
export async function dumpToNdjson(range: StreamRange, out: { write(s: string): unknown }): Promise<number> {
  let n = 0
  for await (const { record } of records(range)) {
    out.write(`${JSON.stringify(record)}\n`)
    n++
  }
  return n
}

/**
 * Imports a stream range into a capture directory: `<dir>/all-mitm-sse/{sse_flows,sse_lines,
 * sse_flow_ends}.jsonl` (appended), so every analyze mode and the monitor can read it.
 */
export async function importToDir(range: StreamRange, root: string): Promise<number> {
  const dir = join(root, CAPTURE_DIR)
  const writers = new Map<string, JsonlWriter>()
  let n = 0
  try {
    for await (const { record } of records(range)) {
      const file = captureFileFor(record.type)
      let w = writers.get(file)
      if (!w) writers.set(file, (w = createJsonlWriter(join(dir, file), { fsync: 'never' })))
      w.write(record)
      n++
    }
    // Every mode expects the three files, even when a range holds no record of one type.
    for (const file of [CAPTURE_FILES.flows, CAPTURE_FILES.lines, CAPTURE_FILES.flowEnds]) {
      if (!writers.has(file)) writers.set(file, createJsonlWriter(join(dir, file), { fsync: 'never' }))
    }
  } finally {
    await Promise.all([...writers.values()].map((w) => w.close()))
  }
  return n
}

/**
 * The stream as a record source for the index: entries after the index's cursor (or after
 * `--from`), up to the end of what is there (or `--to`), bad entries in place.
 */
export async function redisSource(range: StreamRange): Promise<RecordSource> {
  const { DEFAULT_STREAM, readRedisStream } = await redisIo()
  const stream = range.stream ?? DEFAULT_STREAM
  return {
    name: `${range.url.replace(/\/\/[^@/]*@/, '//')} ${stream}`,
    async *read(cursor: string | undefined): AsyncIterable<SourceEntry> {
      const redis = await connect(range.url)
      try {
        for await (const e of readRedisStream(redis, {
          stream,
          from: cursor ?? range.from ?? '0',
          untilEnd: true,
          inBandErrors: true,
          ...(range.to !== undefined ? { to: range.to } : {}),
          ...(range.signal ? { signal: range.signal } : {}),
        })) {
          yield e.error !== undefined ? { id: e.id, error: e.error } : { id: e.id, record: e.record }
        }
      } finally {
        redis.disconnect()
      }
    },
  }
}

/** Where the index of a stream lives by default: `<log root>/redis-index/<host>-<port>-<stream>`. */
export async function redisIndexDir(logRoot: string, range: StreamRange): Promise<string> {
  const { DEFAULT_STREAM } = await redisIo()
  let host = 'redis'
  try {
    const u = new URL(range.url)
    host = `${u.hostname}-${u.port || '6379'}${u.pathname.length > 1 ? `-db${u.pathname.slice(1)}` : ''}`
  } catch {
    // not a URL: one index for it all the same
  }
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_')
  return join(logRoot, 'redis-index', `${safe(host)}-${safe(range.stream ?? DEFAULT_STREAM)}`)
}
