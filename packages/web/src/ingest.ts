import { createTimeMerge, timeKey, type TimeMerge } from '@agenttap/capture-sources'
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

type Item = { value: unknown; line: number; offset: number }

/**
 * The three files' history merged by record time (capture-sources' merge), each item indexed with
 * its place. The files are read side by side, each at its own pace: a reader of the lines file
 * runs ahead of the flows file when requests are large (Claude Code sends its whole history each
 * time), and a flow's lines would reach the index long before its flow record — the calls' ledger
 * waits for a flow record only a few hundred records, then assembles the call without its request
 * facts (and the session plot missed it). Merged by time (ties: flows, lines, ends), the history
 * comes in the order the proxy wrote it: a flow record before its lines, its lines before its end.
 */
function historyMerge(ctx: IngestContext): TimeMerge<Item> {
  return createTimeMerge<Item>({
    lanes: FILES.length,
    key: timeKey,
    onItem: (lane, item) => {
      const [file, p] = FILES[lane] as (typeof FILES)[number]
      feedChecked(ctx, item, file, p(ctx.paths))
    },
  })
}

/** Indexes one line; a JSON value that is not a canonical record is reported with its place. */
function feedChecked(ctx: IngestContext, item: { value: unknown; line: number; offset: number }, file: RecordLocation['file'], path: string): void {
  if (ctx.index.feed(item.value, { file, offset: item.offset }) !== undefined) return
  const v = item.value
  const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? `an object without ${typeof (v as Record<string, unknown>)['flow_id'] === 'string' ? 'type' : 'flow_id'}` : typeof v
  ctx.report(new WebError('BAD_RECORD', `${path}:${item.line} (byte ${item.offset}): expected a canonical record with string "type" and "flow_id", got ${got}; skipped`))
}

/**
 * Follows the three capture files from their start: history (merged by record time across the
 * files), then live updates, each record at its byte offset (memory stays flat). History is done
 * when every file's line that was its last at start is indexed.
 */
export async function ingestFollow(ctx: IngestContext): Promise<void> {
  const marks = await Promise.all(FILES.map(([, p]) => lastLineStart(p(ctx.paths))))
  // History is fed in time order across the files (a flow record before its lines), then each
  // file's live records as they come.
  const merge = historyMerge(ctx)
  let historyIndexed = false
  void merge.done.then(() => {
    historyIndexed = true
    ctx.historyDone()
  })
  await Promise.all(
    FILES.map(async ([file, p], i) => {
      const path = p(ctx.paths)
      const mark = (marks[i] as { last: number }).last
      let inHistory = mark >= 0
      if (!inHistory) merge.end(i)
      const endHistory = (): void => {
        if (!inHistory) return
        inHistory = false
        merge.end(i)
      }
      // The last history line may be malformed: its error report marks the end of history too.
      const onError = (err: JsonlError): void => {
        if (err.code === 'FILE_ROTATED' || err.code === 'FILE_TRUNCATED') {
          // Not bad data: offsets into the old content are void now (and the history read so far is all there is).
          ctx.index.fileReset(file)
          ctx.notice(err)
          endHistory()
        } else ctx.report(err)
        if (err.offset >= mark && err.code !== 'FILE_ROTATED' && err.code !== 'FILE_TRUNCATED') endHistory()
      }
      try {
        // The lines file's reads to its end release flow ends held for lines that are not there
        // (once history is indexed: until then the merge may hold lines this reader has read).
        // The flows file's, as well, release ends held for a flow record that is not there.
        const caughtUp =
          file === 'lines'
            ? { onCaughtUp: () => historyIndexed && ctx.index.linesCaughtUp() }
            : file === 'flows'
              ? { onCaughtUp: () => historyIndexed && ctx.index.flowsCaughtUp() }
              : {}
        for await (const item of follow(path, { fromStart: true, signal: ctx.signal, onError, ...caughtUp, ...(ctx.pollMs ? { pollMs: ctx.pollMs } : {}) })) {
          if (inHistory) {
            const last = item.offset >= mark
            if (last) inHistory = false
            const wait = merge.feed(i, item, last)
            if (wait !== undefined) await wait
            continue
          }
          const wait = merge.released(i)
          if (wait !== undefined) await wait
          feedChecked(ctx, item, file, path)
        }
      } catch (err) {
        if (!ctx.signal.aborted) ctx.report(new WebError('READ_FAILED', `following ${path} failed: ${(err as Error).message}`, { cause: err }))
      }
      endHistory()
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
  const merge = historyMerge(ctx)
  await Promise.all(
    FILES.map(async ([, p], i) => {
      const path = p(ctx.paths)
      const size = (marks[i] as { size: number }).size
      try {
        for await (const item of readJsonl(path, { onError: ctx.report, signal: ctx.signal })) {
          if (item.offset >= size) break // written after start: the record stream has it
          const wait = merge.feed(i, item, false)
          if (wait !== undefined) await wait
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !ctx.signal.aborted) {
          ctx.report(new WebError('READ_FAILED', `reading ${path} failed: ${(err as Error).message}`, { cause: err }))
        }
      }
      merge.end(i)
    }),
  )
  await merge.done
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

/** Reads the three files once (no following), merged by time. */
export async function ingestOnce(ctx: IngestContext): Promise<void> {
  const merge = historyMerge(ctx)
  await Promise.all(
    FILES.map(async ([, p], i) => {
      const path = p(ctx.paths)
      try {
        for await (const item of readJsonl(path, { onError: ctx.report, signal: ctx.signal })) {
          const wait = merge.feed(i, item, false)
          if (wait !== undefined) await wait
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !ctx.signal.aborted) ctx.report(new WebError('READ_FAILED', `reading ${path} failed: ${(err as Error).message}`))
      }
      merge.end(i)
    }),
  )
  await merge.done
  ctx.historyDone()
}
