import { join } from 'node:path'
import { CAPTURE_FILES, captureFileFor, createJsonlWriter, type JsonlWriter } from '@agenttap/jsonl-io'
import { createRedisClient, DEFAULT_STREAM, readRedisStream } from '@agenttap/jsonl-io/redis'

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

async function* records(range: StreamRange) {
  const redis = await createRedisClient(range.url)
  try {
    for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50))
    if (redis.status !== 'ready') throw new Error(`cannot reach Redis at ${range.url}`)
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
  const dir = join(root, 'all-mitm-sse')
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
