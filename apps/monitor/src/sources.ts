import { existsSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { follow, readJsonlBatches, type JsonlError } from '@agenttap/jsonl-io'
import { consumeRedisStream, createRedisClient, DEFAULT_STREAM, readRedisStream } from '@agenttap/jsonl-io/redis'
import { MonitorError } from './errors.js'

/** One item a source yields: a parsed value and where it came from (when read from text). */
export interface SourceItem {
  value: unknown
  /** 1-based line number in `file` (or in stdin). */
  line?: number
  file?: string
  /** In-band read error (malformed line), in its place among the records. `value` is undefined. */
  error?: JsonlError | undefined
}

/** The three files a proxy writes under `<log root>/all-mitm-sse/`. */
const LINES = 'sse_lines.jsonl'
const SIBLINGS = ['sse_flows.jsonl', 'sse_flow_ends.jsonl'] as const

/**
 * Default log root: `--log-dir`, else `AGENTTAP_LOG_DIR`, else `~/centralized-logs`.
 */
export function defaultLogDir(env: NodeJS.ProcessEnv = process.env): string {
  const d = env.AGENTTAP_LOG_DIR
  return d && d !== '' ? resolve(d) : join(homedir(), 'centralized-logs')
}

/**
 * Resolves what to read: a file as given; a directory holding `sse_lines.jsonl` → that file; a
 * log root → `<root>/all-mitm-sse/sse_lines.jsonl`; nothing → the default log root's.
 * With `siblings`, `sse_flows.jsonl` / `sse_flow_ends.jsonl` next to an `sse_lines.jsonl` are
 * read too (client, URL, outcome and duration live there), when they exist (when following
 * `all-mitm-sse/`, also when they do not exist yet). A path that does not exist and does not end
 * in `.jsonl` is taken as a log root that has not been created yet.
 */
export function resolveSourceFiles(path: string | undefined, opts: { logDir?: string; siblings?: boolean; follow?: boolean } = {}): string[] {
  let file: string
  if (path === undefined) file = join(opts.logDir ?? defaultLogDir(), 'all-mitm-sse', LINES)
  else {
    const p = resolve(path)
    let isDir = false
    try {
      isDir = statSync(p).isDirectory()
    } catch {
      isDir = false
    }
    if (isDir) file = existsSync(join(p, LINES)) ? join(p, LINES) : join(p, 'all-mitm-sse', LINES)
    else if (!existsSync(p) && basename(p) !== LINES && !p.endsWith('.jsonl')) {
      // A log root that does not exist yet (the proxy has not run): its all-flows file.
      file = join(p, 'all-mitm-sse', LINES)
    } else file = p
  }
  const files = [file]
  if (opts.siblings !== false && basename(file) === LINES) {
    for (const s of SIBLINGS) {
      const f = join(dirname(file), s)
      // Following the proxy's all-flows directory: its siblings may appear later, wait for them.
      if (existsSync(f) || (opts.follow === true && basename(dirname(file)) === 'all-mitm-sse')) files.push(f)
    }
  }
  return files
}

/**
 * Merges async iterables as items arrive (live sources: one slow file never blocks another).
 * Ends when all end; an error in one ends the merge with that error.
 */
export async function* mergeLive<T extends { file?: string }>(sources: readonly AsyncIterable<T>[], files?: readonly string[]): AsyncGenerator<T> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>()
  const pull = (i: number) => pending.set(i, (its[i] as AsyncIterator<T>).next().then((r) => ({ i, r })))
  its.forEach((_, i) => pull(i))
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values())
      if (r.done) {
        pending.delete(i)
        continue
      }
      pull(i)
      if (files && files[i] !== undefined) r.value.file = files[i]
      yield r.value
    }
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}

function tsOf(item: SourceItem): number {
  const ts = (item.value as { ts?: unknown } | null)?.ts
  const ms = typeof ts === 'string' ? Date.parse(ts) : NaN
  return Number.isNaN(ms) ? -Infinity : ms
}

/**
 * A sort key for a record's `ts`: the string itself when it is canonical (ISO-8601 UTC with ms,
 * `2026-11-20T10:00:00.000Z`: lexicographic order is time order, no Date.parse per record),
 * else its canonical form, '' when absent or invalid (sorts first).
 */
function timeKey(item: SourceItem): string {
  const ts = (item.value as { ts?: unknown } | null)?.ts
  if (typeof ts !== 'string') return ''
  if (ts.length === 24 && ts.charCodeAt(23) === 90 /* Z */ && ts.charCodeAt(10) === 84 /* T */) return ts
  const ms = Date.parse(ts)
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString()
}

/**
 * Merges finished files by record time (`ts`), so a replay of the three capture files shows a
 * flow's request, stream and end in the order they happened. Each input must be in time order
 * (as a proxy writes them); ties keep input order. `files[i]` is put on the items of input `i`.
 */
export async function* mergeByTime(sources: readonly AsyncIterable<SourceItem>[], files?: readonly string[]): AsyncGenerator<SourceItem> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const n = its.length
  const heads: (SourceItem | undefined)[] = new Array<SourceItem | undefined>(n)
  const keys: string[] = new Array<string>(n).fill('')
  const take = async (i: number) => {
    const r = await (its[i] as AsyncIterator<SourceItem>).next()
    if (r.done) heads[i] = undefined
    else {
      const item = r.value
      if (files && files[i] !== undefined) item.file = files[i]
      heads[i] = item
      keys[i] = timeKey(item)
    }
  }
  await Promise.all(its.map((_, i) => take(i)))
  try {
    for (;;) {
      let best = -1
      let second = -1
      for (let i = 0; i < n; i++) {
        if (heads[i] === undefined) continue
        if (best === -1 || (keys[i] as string) < (keys[best] as string)) {
          second = best
          best = i
        } else if (second === -1 || (keys[i] as string) < (keys[second] as string)) second = i
      }
      if (best === -1) return
      // Run ahead on the best input while it stays before the next input's head.
      const limit = second === -1 ? undefined : (keys[second] as string)
      do {
        yield heads[best] as SourceItem
        await take(best)
      } while (heads[best] !== undefined && (limit === undefined || (keys[best] as string) <= limit))
    }
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}

/**
 * Reads a JSONL file or byte stream as batches of items (one batch per read chunk), malformed
 * lines in-band where they were: jsonl-io's batch reader, with the file name on each item.
 */
export async function* readBatches(
  source: string | AsyncIterable<Uint8Array | string>,
  opts: {
    file?: string
    signal?: AbortSignal
    /** Read size. 256 KiB keeps the buffers in flight (RSS) small at no cost in speed. @defaultValue 262144 */
    chunkBytes?: number
    maxLineBytes?: number
  } = {},
): AsyncGenerator<SourceItem[]> {
  const file = opts.file ?? (typeof source === 'string' ? source : undefined)
  const batches = readJsonlBatches(source, {
    chunkBytes: opts.chunkBytes ?? 256 * 1024,
    ...(file !== undefined ? { file } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
  })
  for await (const batch of batches) {
    yield batch.map((e): SourceItem => {
      const item: SourceItem = e.error ? { value: undefined, error: e.error, line: e.line } : { value: e.value, line: e.line }
      if (file !== undefined) item.file = file
      return item
    })
  }
}

/**
 * Merges time-ordered batch streams by record time into batches (see {@link mergeByTime}). Holds
 * one batch per input; awaits only when an input's batch is used up.
 */
export async function* mergeBatchesByTime(sources: readonly AsyncIterable<SourceItem[]>[], outBatch = 4096): AsyncGenerator<SourceItem[]> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const n = its.length
  const bufs: (SourceItem[] | undefined)[] = new Array<SourceItem[] | undefined>(n)
  const pos: number[] = new Array<number>(n).fill(0)
  const keys: string[] = new Array<string>(n).fill('')
  const refill = async (i: number): Promise<void> => {
    for (;;) {
      const r = await (its[i] as AsyncIterator<SourceItem[]>).next()
      if (r.done) {
        bufs[i] = undefined
        return
      }
      if (r.value.length === 0) continue
      bufs[i] = r.value
      pos[i] = 0
      keys[i] = timeKey(r.value[0] as SourceItem)
      return
    }
  }
  await Promise.all(its.map((_, i) => refill(i)))
  let out: SourceItem[] = []
  try {
    for (;;) {
      let best = -1
      let second = -1
      for (let i = 0; i < n; i++) {
        if (bufs[i] === undefined) continue
        if (best === -1 || (keys[i] as string) < (keys[best] as string)) {
          second = best
          best = i
        } else if (second === -1 || (keys[i] as string) < (keys[second] as string)) second = i
      }
      if (best === -1) break
      const limit = second === -1 ? undefined : (keys[second] as string)
      const buf = bufs[best] as SourceItem[]
      let p = pos[best] as number
      // Run ahead on the best input while it stays at or before the next input's head.
      for (;;) {
        out.push(buf[p] as SourceItem)
        p++
        if (p >= buf.length) break
        const k = timeKey(buf[p] as SourceItem)
        keys[best] = k
        if (limit !== undefined && k > limit) break
      }
      pos[best] = p
      if (out.length >= outBatch) {
        yield out
        out = []
      }
      if (p >= buf.length) await refill(best)
    }
    if (out.length > 0) yield out
  } finally {
    await Promise.allSettled(its.map((it) => it.return?.()))
  }
}

/** Options of {@link openSource}. */
export interface OpenSourceOptions {
  /** Keep reading as files grow (tail -f). Off: read to the end and stop (replay, batch). */
  follow: boolean
  /** With `follow`: start at the beginning instead of the end. */
  fromStart?: boolean
  /** Malformed lines, truncation / rotation notices. */
  onError(e: JsonlError): void
  signal?: AbortSignal
  /** Poll interval of followed files. @defaultValue 250 */
  pollMs?: number
  /**
   * Followed sibling `sse_flow_ends.jsonl`: hold each `flow_end` this long so the flow's last
   * `sse` lines (another file, polled separately) are read first. @defaultValue 2 × pollMs
   */
  flowEndHoldMs?: number
}

async function* delayed(src: AsyncIterable<SourceItem>, ms: number, signal: AbortSignal | undefined): AsyncGenerator<SourceItem> {
  // Each item leaves `ms` after it arrived, in arrival order; reading goes on meanwhile, so a
  // burst of records is held once, not once per record.
  const q: { item: SourceItem; at: number }[] = []
  let done = false
  let failure: { error: unknown } | undefined
  let wake: (() => void) | undefined
  const it = src[Symbol.asyncIterator]()
  void (async () => {
    try {
      for (;;) {
        const r = await it.next()
        if (r.done) break
        q.push({ item: r.value, at: Date.now() + ms })
        wake?.()
      }
    } catch (error) {
      failure = { error }
    } finally {
      done = true
      wake?.()
    }
  })()
  try {
    for (;;) {
      const head = q[0]
      if (head) {
        const wait = head.at - Date.now()
        if (wait > 0) await sleep(wait, signal)
        if (signal?.aborted) return
        q.shift()
        yield head.item
        continue
      }
      if (failure) throw failure.error
      if (done || signal?.aborted) return
      await new Promise<void>((r) => {
        wake = r
      })
      wake = undefined
    }
  } finally {
    // Not awaited: the reader may be parked in next() until its own signal stops it.
    void it.return?.()
  }
}


/**
 * Opens files (one or several) as one stream. stdin is `-`. Reading to the end (no `follow`)
 * yields batches (arrays) of items with malformed lines in-band; following yields single items.
 * Items of several followed files carry their `file`; a single file's items do not (the caller
 * knows it).
 */
export function openSource(files: readonly string[], opts: OpenSourceOptions): AsyncIterable<SourceItem | SourceItem[]> {
  const signal = opts.signal
  if (files.length === 1 && files[0] === '-') {
    return readBatches(process.stdin as AsyncIterable<Uint8Array>, { file: 'stdin', ...(signal ? { signal } : {}) })
  }
  if (!opts.follow) {
    for (const f of files) {
      if (!existsSync(f)) throw new MonitorError('SOURCE_ERROR', `cannot read ${f}: no such file (pass a capture file, a log directory, or - for stdin)`)
    }
    const its = files.map((f) => readBatches(f, signal ? { signal } : {}))
    return its.length === 1 ? (its[0] as AsyncIterable<SourceItem[]>) : mergeBatchesByTime(its)
  }
  const pollMs = opts.pollMs ?? 250
  const hold = opts.flowEndHoldMs ?? 2 * pollMs
  const its = files.map((f) => {
    const it: AsyncIterable<SourceItem> = follow(f, { onError: opts.onError, pollMs, chunkBytes: 256 * 1024, fromStart: opts.fromStart ?? false, ...(signal ? { signal } : {}) })
    return basename(f) === 'sse_flow_ends.jsonl' && files.length > 1 && hold > 0 ? delayed(it, hold, signal) : it
  })
  return its.length === 1 ? (its[0] as AsyncIterable<SourceItem>) : mergeLive(its, files)
}

/** Options of {@link paced}. */
export interface PaceOptions {
  /** Fixed delay per record in ms (0: as fast as possible). Overrides the recorded pace. */
  delayMs?: number
  /** Recorded pace speed factor (2 = twice as fast). @defaultValue 1 */
  speed?: number
  /** Longest pause between two records at recorded pace, in ms. @defaultValue 2000 */
  maxGapMs?: number
  signal?: AbortSignal
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolveSleep) => {
    if (ms <= 0 || signal?.aborted) return resolveSleep()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolveSleep()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/**
 * Replays items at their recorded pace (`ts` deltas, divided by `speed`, gaps capped at
 * `maxGapMs`) or with a fixed `delayMs` between records.
 */
export async function* paced(src: AsyncIterable<SourceItem>, opts: PaceOptions): AsyncGenerator<SourceItem> {
  const speed = opts.speed ?? 1
  const maxGap = opts.maxGapMs ?? 2000
  let prev: number | undefined
  // Sleep debt below 1 ms is carried over instead of rounded away.
  let debt = 0
  for await (const item of src) {
    if (opts.signal?.aborted) return
    if (opts.delayMs !== undefined) {
      if (opts.delayMs > 0) await sleep(opts.delayMs, opts.signal)
    } else {
      const t = tsOf(item)
      if (Number.isFinite(t)) {
        if (prev !== undefined && t > prev) debt += Math.min(maxGap, (t - prev) / speed)
        prev = t
        if (debt >= 1) {
          const start = Date.now()
          await sleep(debt, opts.signal)
          debt -= Date.now() - start
          if (debt < 0) debt = 0
        }
      }
    }
    yield item
  }
}

/** Options of {@link redisSource}. */
export interface RedisSourceOptions {
  /** @defaultValue 'agenttap:events' */
  stream?: string
  /** Consumer group; without one the stream is read with plain XREAD (nothing acknowledged). */
  group?: string
  /** This consumer's name: keep it stable so a restart resumes its unacknowledged records. */
  consumer?: string
  /** A new group (or a plain read) starts at the beginning of the stream instead of new entries. */
  fromStart?: boolean
  signal?: AbortSignal
}

/**
 * Records from a Redis stream as source items. In a consumer group each record is acknowledged
 * (XACK) once the monitor asks for the next one, i.e. after it was handled, so a monitor that is
 * killed and restarted under the same consumer name shows what it had not finished, and nothing
 * it had. Entries that are not canonical records come in-band as errors.
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
