import { createReadStream } from 'node:fs'
import type { JsonlError } from './errors.js'
import { createJsonlParser, type LineInfo } from './parser.js'

/** A parsed line and where it was. */
export interface JsonlItem extends LineInfo {
  value: unknown
  error?: undefined
}

/** A line that could not be read, in its place among the records. */
export interface JsonlErrorItem extends LineInfo {
  value?: undefined
  error: JsonlError
}

/** What {@link readJsonlBatches} yields: records and errors in file order. */
export type JsonlEntry = JsonlItem | JsonlErrorItem

/** Options of {@link readJsonl}. */
export interface ReadJsonlOptions {
  onError?(error: JsonlError): void
  /** @defaultValue 16 MiB */
  maxLineBytes?: number
  signal?: AbortSignal
  /** File name for error reports when reading a stream. */
  file?: string
  /** Read size in bytes. @defaultValue 1 MiB */
  chunkBytes?: number
}

/**
 * Reads a JSONL file (by path) or any byte stream as batches: one array per chunk read, records
 * and errors (`{ error }` entries) in file order. The cheapest way to read a large file: one
 * async step per chunk instead of per line.
 *
 * @example
 * ```ts
 * for await (const batch of readJsonlBatches(process.stdin, { file: 'stdin' })) {
 *   for (const e of batch) e.error ? console.warn(e.error.message) : handle(e.value)
 * }
 * ```
 */
export async function* readJsonlBatches(source: string | AsyncIterable<Uint8Array | string>, options: Omit<ReadJsonlOptions, 'onError'> = {}): AsyncGenerator<JsonlEntry[]> {
  const file = options.file ?? (typeof source === 'string' ? source : undefined)
  let batch: JsonlEntry[] = []
  const parser = createJsonlParser({
    onRecord: (value, info) => batch.push({ value, line: info.line, offset: info.offset }),
    onError: (error) => batch.push({ error, line: error.line, offset: error.offset }),
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    ...(file ? { file } : {}),
  })
  const stream =
    typeof source === 'string'
      ? createReadStream(source, { highWaterMark: options.chunkBytes ?? 1024 * 1024, ...(options.signal ? { signal: options.signal } : {}) })
      : source
  try {
    for await (const chunk of stream) {
      if (options.signal?.aborted) return
      parser.feed(chunk as Uint8Array | string)
      if (batch.length > 0) {
        const out = batch
        batch = []
        yield out
      }
    }
  } catch (err) {
    if (options.signal?.aborted || (err as { name?: string }).name === 'AbortError') return
    throw err
  }
  parser.end()
  if (batch.length > 0) yield batch
}

/**
 * Reads a JSONL file (by path) or any byte stream (e.g. `process.stdin`) as parsed lines.
 * Malformed lines go to `onError` with their location, in order with the records around them,
 * and reading continues.
 *
 * @example
 * ```ts
 * for await (const { value, line } of readJsonl('sse_lines.jsonl', { onError: (e) => console.warn(e.message) })) { … }
 * ```
 */
export async function* readJsonl(source: string | AsyncIterable<Uint8Array | string>, options: ReadJsonlOptions = {}): AsyncGenerator<JsonlItem> {
  const { onError, ...rest } = options
  for await (const batch of readJsonlBatches(source, rest)) {
    for (const e of batch) {
      if (e.error) onError?.(e.error)
      else yield e
    }
  }
}
