import { follow, readJsonl, type CaptureRecord, type JsonlError } from '@agenttap/jsonl-io'
import { lastLineStart, type CapturePaths } from './capture-store.js'
import { WebError } from './errors.js'
import type { FlowIndex, RecordLocation } from './flow-index.js'

/** What the ingest needs from the server around it. */
export interface IngestContext {
  paths: CapturePaths
  index: FlowIndex
  /** Stops every reader. */
  signal: AbortSignal
  /** Malformed lines and read failures (counted in the page's status bar). */
  report(err: Error): void
  /** Notices that are not bad data (a file rotated or truncated). */
  notice(err: Error): void
  /** The files as they were at start are indexed. */
  historyDone(): void
  pollMs?: number
}

/** Where in-process records begin in the files: detail of evicted in-memory flows is scanned from here. */
export interface ScanFrom {
  flows: number
  lines: number
}

const FILES = [
  ['flows', (p: CapturePaths) => p.flows],
  ['lines', (p: CapturePaths) => p.lines],
  ['flow_ends', (p: CapturePaths) => p.flowEnds],
] as const

/** Indexes one line; a JSON value that is not a canonical record is reported with its place. */
function feedChecked(ctx: IngestContext, item: { value: unknown; line: number; offset: number }, file: RecordLocation['file'], path: string): void {
  if (ctx.index.feed(item.value, { file, offset: item.offset }) !== undefined) return
  const v = item.value
  const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? `an object without ${typeof (v as Record<string, unknown>)['flow_id'] === 'string' ? 'type' : 'flow_id'}` : typeof v
  ctx.report(new WebError('BAD_RECORD', `${path}:${item.line} (byte ${item.offset}): expected a canonical record with string "type" and "flow_id", got ${got}; skipped`))
}

/**
 * Follows the three capture files from their start: history, then live updates, each record at
 * its byte offset (memory stays flat). History is done when every file reached the line that was
 * its last at start.
 */
export async function ingestFollow(ctx: IngestContext): Promise<void> {
  const marks = await Promise.all(FILES.map(([, p]) => lastLineStart(p(ctx.paths))))
  let pending = marks.filter((m) => m.last >= 0).length
  const doneOne = (): void => {
    if (--pending === 0) ctx.historyDone()
  }
  if (pending === 0) ctx.historyDone()
  await Promise.all(
    FILES.map(async ([file, p], i) => {
      const path = p(ctx.paths)
      const mark = (marks[i] as { last: number }).last
      let reached = mark < 0
      // The last history line may be malformed: its error report marks the end of history too.
      const onError = (err: JsonlError): void => {
        if (err.code === 'FILE_ROTATED' || err.code === 'FILE_TRUNCATED') {
          // Not bad data: offsets into the old content are void now.
          ctx.index.fileReset(file)
          ctx.notice(err)
        } else ctx.report(err)
        if (!reached && err.offset >= mark && err.code !== 'FILE_ROTATED' && err.code !== 'FILE_TRUNCATED') {
          reached = true
          doneOne()
        }
      }
      try {
        for await (const item of follow(path, { fromStart: true, signal: ctx.signal, onError, ...(ctx.pollMs ? { pollMs: ctx.pollMs } : {}) })) {
          feedChecked(ctx, item, file, path)
          if (!reached && item.offset >= mark) {
            reached = true
            doneOne()
          }
        }
      } catch (err) {
        if (!ctx.signal.aborted) ctx.report(new WebError('READ_FAILED', `following ${path} failed: ${(err as Error).message}`, { cause: err }))
      }
      if (!reached) doneOne()
    }),
  )
}

/**
 * History from the files (as they were at start), then live records from an in-process stream
 * (a proxy's hub). Sets `scanFrom` to where the in-process records begin in the files.
 */
export async function ingestRecords(ctx: IngestContext, records: AsyncIterable<CaptureRecord>, scanFrom: ScanFrom): Promise<void> {
  // Subscribe before measuring the files, so nothing falls between history and live. Live
  // records are pulled only once history is indexed: a flow that spans the start then gets its
  // early events from the file (with offsets) and later ones from the stream, never skipped as
  // duplicates of a later seq. (The stream's own bounded queue holds them meanwhile.)
  const it = records[Symbol.asyncIterator]()
  const marks = await Promise.all(FILES.map(([, p]) => lastLineStart(p(ctx.paths))))
  scanFrom.flows = marks[0]?.size ?? 0
  scanFrom.lines = marks[1]?.size ?? 0
  await Promise.all(
    FILES.map(async ([file, p], i) => {
      const path = p(ctx.paths)
      const size = (marks[i] as { size: number }).size
      try {
        for await (const item of readJsonl(path, { onError: ctx.report, signal: ctx.signal })) {
          if (item.offset >= size) break // written after start: the record stream has it
          feedChecked(ctx, item, file, path)
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !ctx.signal.aborted) {
          ctx.report(new WebError('READ_FAILED', `reading ${path} failed: ${(err as Error).message}`, { cause: err }))
        }
      }
    }),
  )
  ctx.historyDone()
  // Runs until the stream ends; the signal ends it (a hub iterator may never settle, so it is not awaited).
  void (async () => {
    const onAbort = (): void => void it.return?.()
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    try {
      for (;;) {
        const next = await it.next()
        if (next.done || ctx.signal.aborted) break
        ctx.index.feed(next.value)
      }
    } catch (err) {
      if (!ctx.signal.aborted) ctx.report(new WebError('READ_FAILED', `record stream failed: ${(err as Error).message}`, { cause: err }))
    }
  })()
}

/** Reads the three files once (no following). */
export async function ingestOnce(ctx: IngestContext): Promise<void> {
  await Promise.all(
    FILES.map(async ([file, p]) => {
      const path = p(ctx.paths)
      try {
        for await (const item of readJsonl(path, { onError: ctx.report, signal: ctx.signal })) feedChecked(ctx, item, file, path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !ctx.signal.aborted) ctx.report(new WebError('READ_FAILED', `reading ${path} failed: ${(err as Error).message}`))
      }
    }),
  )
  ctx.historyDone()
}
