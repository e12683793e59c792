import { readJsonlBatches, type JsonlError } from '@agenttap/jsonl-io'
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
    yield batch.map((e): SourceItem => new Item(e.error ? undefined : e.value, e.line, e.offset, file, e.error))
  }
}

/**
 * A {@link SourceItem} made by a constructor, not an object literal: V8 pretenures the objects of
 * a literal whose objects were seen to survive, and these items both wait long (a flows file's
 * batch waits in the merge for its flows' lines) and die at once (most lines are shown as they
 * are read). Once pretenured, every item went to the old generation and, dead there, kept its
 * young record alive through the scavenges until the next full GC: ~3x the bytes promoted, a
 * third more time in GC. Same fields as before (`file` and `error` only when set).
 */
class Item implements SourceItem {
  // `declare`: no class fields (they would define `file` and `error` on every item); set in order below.
  declare value: unknown
  declare line: number
  declare offset: number
  declare file?: string
  declare error?: JsonlError
  constructor(value: unknown, line: number, offset: number, file: string | undefined, error: JsonlError | undefined) {
    this.value = value
    if (error !== undefined) this.error = error
    this.line = line
    this.offset = offset
    if (file !== undefined) this.file = file
  }
}
