import { createReadStream } from 'node:fs'
import type { JsonlError } from './errors.js'
import { createJsonlParser, type LineInfo } from './parser.js'

/** A parsed line and where it was. */
export interface JsonlItem extends LineInfo {
  value: unknown
}

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
 * Reads a JSONL file (by path) or any byte stream (e.g. `process.stdin`) as parsed lines.
 * Malformed lines go to `onError` with their location and reading continues.
 *
 * @example
 * ```ts
 * for await (const { value, line } of readJsonl('sse_lines.jsonl', { onError: (e) => console.warn(e.message) })) { … }
 * ```
 */
export async function* readJsonl(source: string | AsyncIterable<Uint8Array | string>, options: ReadJsonlOptions = {}): AsyncGenerator<JsonlItem> {
  const file = options.file ?? (typeof source === 'string' ? source : undefined)
  let batch: JsonlItem[] = []
  const parser = createJsonlParser({
    onRecord: (value, info) => batch.push({ value, line: info.line, offset: info.offset }),
    ...(options.onError ? { onError: options.onError } : {}),
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
        yield* out
      }
    }
  } catch (err) {
    if (options.signal?.aborted && (err as { name?: string }).name === 'AbortError') return
    throw err
  }
  parser.end()
  yield* batch
}
