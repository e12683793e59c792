import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import { CAPTURE_FILES, follow } from '@agenttap/jsonl-io'
import { CaptureSourceError } from './errors.js'
import { mergeBatchesByTime, mergeLive } from './merge.js'
import { ReadRounds, heldUntilRead } from './hold-ends.js'
import { readBatches } from './read-batches.js'
import type { OpenSourceOptions, SourceItem } from './types.js'

/**
 * Opens files (one or several) as one stream of records. stdin is `-`. Reading to the end (no
 * `follow`) yields batches (arrays) of items with malformed lines in-band, the files merged by
 * record time; following yields single items as they are appended, surviving truncation and
 * rotation (jsonl-io `follow`). Items of several followed files carry their `file`; a single
 * file's items do not (the caller knows it).
 *
 * @example
 * for await (const x of openSource(resolveSourceFiles(logDir), { follow: true, onError: warn })) …
 */
export function openSource(files: readonly string[], opts: OpenSourceOptions): AsyncIterable<SourceItem | SourceItem[]> {
  const signal = opts.signal
  if (files.length === 1 && files[0] === '-') {
    return readBatches(opts.stdin ?? (process.stdin as AsyncIterable<Uint8Array>), { file: 'stdin', ...(signal ? { signal } : {}) })
  }
  if (!opts.follow) {
    for (const f of files) {
      if (!existsSync(f)) throw new CaptureSourceError('SOURCE_ERROR', `cannot read ${f}: no such file (pass a capture file, a log directory, or - for stdin)`, { file: f })
    }
    if (files.length === 1) return readBatches(files[0] as string, signal ? { signal } : {})
    // Ties (records of one millisecond) go in the order the proxy writes a flow: its flow record,
    // its lines, its end — the merge breaks ties by input order, so the inputs are put in that order.
    const rank = (f: string): number => {
      const b = basename(f)
      return b.startsWith(CAPTURE_FILES.flows) ? 0 : b.startsWith(CAPTURE_FILES.flowEnds) ? 2 : 1
    }
    const ordered = files.map((f, i) => ({ f, i, r: rank(f) })).sort((a, b) => a.r - b.r || a.i - b.i)
    return mergeBatchesByTime(ordered.map(({ f }) => readBatches(f, signal ? { signal } : {})))
  }
  const pollMs = opts.pollMs ?? 250
  // A flow's end waits until the other files were read past it (its lines are in another file).
  const endsAt = files.length > 1 ? files.findIndex((f) => basename(f) === CAPTURE_FILES.flowEnds) : -1
  const others = files.map((_, i) => i).filter((i) => i !== endsAt)
  const read = new ReadRounds(others.length)
  const its = files.map((f, i) => {
    const lane = others.indexOf(i)
    const it: AsyncIterable<SourceItem> = follow(f, {
      onError: opts.onError,
      pollMs,
      chunkBytes: 256 * 1024,
      fromStart: opts.fromStart ?? false,
      ...(lane >= 0 ? { onCaughtUp: () => read.caughtUp(lane) } : {}),
      ...(signal ? { signal } : {}),
    })
    return i === endsAt ? heldUntilRead(it, read, opts.flowEndHoldMs, signal) : it
  })
  return its.length === 1 ? (its[0] as AsyncIterable<SourceItem>) : mergeLive(its, files)
}
