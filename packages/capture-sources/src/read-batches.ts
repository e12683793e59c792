import { readJsonlBatches } from '@agenttap/jsonl-io'
import type { SourceItem } from './types.js'

/**
 * Reads a JSONL file or byte stream as batches of items (one batch per read chunk), malformed
 * lines in-band where they were: jsonl-io's batch reader, with the file name on each item.
 *
 * @example
 * for await (const batch of readBatches('capture/all-mitm-sse/sse_lines.jsonl')) for (const it of batch) use(it)
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
      const item: SourceItem = e.error ? { value: undefined, error: e.error, line: e.line, offset: e.offset } : { value: e.value, line: e.line, offset: e.offset }
      if (file !== undefined) item.file = file
      return item
    })
  }
}
