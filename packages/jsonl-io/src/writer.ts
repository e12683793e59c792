import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, write as fsWrite, writeSync, fsync as fsFsync } from 'node:fs'
import { dirname } from 'node:path'
import { JsonlError } from './errors.js'

/** When the writer calls fsync. */
export type FsyncPolicy = 'never' | 'close' | 'always'

/** Options of {@link createJsonlWriter}. */
export interface JsonlWriterOptions {
  /**
   * `never`: leave it to the OS; `close`: once on close; `always`: after every write batch.
   * @defaultValue 'close'
   */
  fsync?: FsyncPolicy
  /** Create missing parent directories. @defaultValue true */
  mkdir?: boolean
  /** File mode for a new file. @defaultValue 0o600 (captures are private) */
  mode?: number
  /**
   * Most bytes one write syscall carries. Records queued while a write is in flight are sent
   * together (whole lines only) up to this size.
   * @defaultValue 1 MiB
   */
  maxBatchBytes?: number
  /**
   * Append on the calling thread (`writeSync`) instead of through libuv's thread pool. For a
   * thread that only writes (a capture worker): each batch is one syscall where it is made,
   * without a hand-off to a pool thread and a wake-up for its completion. `write` then blocks
   * for the append. @defaultValue false
   */
  sync?: boolean
  /** Write errors (disk full, …) go here; the writer keeps the records it could not write counted in `stats.failed`. */
  onError?(error: JsonlError): void
  /**
   * The lines of a failed append (each without its newline), after `onError`: they are not in
   * the file, and the writer goes on with the next ones. A caller that must account for every
   * record (a capture's `sink_gap`) counts them here.
   */
  onLost?(lines: readonly string[], error: JsonlError): void
}

/** An append-only JSONL writer. */
export interface JsonlWriter {
  /** Queues one record as one line. Never blocks; the line reaches the file in order. */
  write(record: object): void
  /** Queues a line that is already serialized JSON (no newline). */
  writeLine(json: string): void
  /** Resolves once everything written so far is in the file. */
  flush(): Promise<void>
  /** Flushes, applies the fsync policy and closes. Later writes throw. */
  close(): Promise<void>
  /** Same as close, but synchronous, for exit handlers. */
  closeSync(): void
  readonly path: string
  readonly stats: { records: number; bytes: number; failed: number; pendingBytes: number }
}

/**
 * Opens `path` for appending (O_APPEND) and returns a writer that puts each record on its own
 * line. Every write syscall carries whole lines only, so several writers (processes) appending
 * to one file never interleave inside a line, and a crash leaves at most the last line torn.
 *
 * @example
 * ```ts
 * const w = createJsonlWriter('/tmp/capture/sse_lines.jsonl')
 * w.write({ v: 1, type: 'sse', ts: new Date().toISOString(), flow_id: 'f1', session_id: 's1', seq: 0, data: '{}' })
 * await w.close()
 * ```
 */
export function createJsonlWriter(path: string, options: JsonlWriterOptions = {}): JsonlWriter {
  const policy = options.fsync ?? 'close'
  const maxBatch = options.maxBatchBytes ?? 1024 * 1024
  if (options.mkdir !== false) mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, options.mode ?? 0o600)

  let queue: string[] = []
  let queuedBytes = 0
  let inFlight = false
  let closed = false
  let waiters: Array<() => void> = []
  const stats = { records: 0, bytes: 0, failed: 0, pendingBytes: 0 }

  const settle = () => {
    if (!inFlight && queue.length === 0 && waiters.length > 0) {
      const w = waiters
      waiters = []
      for (const f of w) f()
    }
  }

  const pump = () => {
    if (inFlight || queue.length === 0) return settle()
    // Take whole lines up to maxBatch bytes (at least one line).
    let take = 0
    let bytes = 0
    while (take < queue.length) {
      const len = queue[take]!.length // UTF-16 length: a cheap bound-ish for batching only
      if (take > 0 && bytes + len > maxBatch) break
      bytes += len
      take++
    }
    const lines = take === queue.length ? queue : queue.slice(0, take)
    queue = take === queue.length ? [] : queue.slice(take)
    const buf = Buffer.from(lines.join(''), 'utf8')
    queuedBytes -= bytes
    inFlight = true
    writeAll(buf, 0, lines)
  }

  /**
   * A failed append: what part of it reached the file is taken out again (a line torn in the
   * middle of the file would glue the next record to it), then the loss is reported.
   */
  const failed = (buf: Buffer, written: number, lines: readonly string[], what: string, err: Error) => {
    let note = ''
    if (written > 0) note = rollback(fd, buf, written) ? `; the ${written} byte(s) that were written are taken out again` : `; ${written} byte(s) were written and could not be taken out (another writer appended after them)`
    stats.failed += lines.length
    const error = new JsonlError('IO_ERROR', `could not append ${what}: ${err.message}${note}`, { file: path, cause: err })
    options.onError?.(error)
    options.onLost?.(lines.map((l) => (l.endsWith('\n') ? l.slice(0, -1) : l)), error)
  }

  const writeAll = (buf: Buffer, off: number, lines: readonly string[]) => {
    fsWrite(fd, buf, off, buf.length - off, null, (err, written) => {
      if (err) {
        inFlight = false
        failed(buf, off, lines, `${lines.length} line(s)`, err)
        return pump()
      }
      if (off + written < buf.length) return writeAll(buf, off + written, lines)
      stats.bytes += buf.length
      stats.records += lines.length
      const done = () => {
        inFlight = false
        pump()
      }
      if (policy === 'always') fsFsync(fd, done)
      else done()
    })
  }

  /**
   * Appends whole lines now, on this thread (looped on a short write): sync mode's writes and
   * closeSync's last one. `what` names them in the error.
   */
  const appendNow = (lines: readonly string[], what: string, fsync: boolean) => {
    const buf = Buffer.from(lines.length === 1 ? (lines[0] as string) : lines.join(''), 'utf8')
    let off = 0
    try {
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
    } catch (err) {
      failed(buf, off, lines, what, err as Error)
      return
    }
    stats.bytes += buf.length
    stats.records += lines.length
    if (fsync) {
      try {
        fsyncSync(fd)
      } catch (err) {
        options.onError?.(new JsonlError('IO_ERROR', `could not fsync: ${(err as Error).message}`, { file: path, cause: err }))
      }
    }
  }

  const writeLine = (json: string) => {
    if (closed) throw new JsonlError('WRITER_CLOSED', `write after close of ${path}`, { file: path })
    if (options.sync) return appendNow([`${json}\n`], '1 line(s)', policy === 'always')
    queue.push(`${json}\n`)
    queuedBytes += json.length + 1
    pump()
  }

  const flush = () =>
    new Promise<void>((resolve) => {
      waiters.push(resolve)
      pump()
    })

  return {
    path,
    get stats() {
      stats.pendingBytes = queuedBytes
      return stats
    },
    write: (record) => writeLine(JSON.stringify(record)),
    writeLine,
    flush,
    async close() {
      if (closed) return
      await flush()
      closed = true
      if (policy !== 'never') fsyncSync(fd)
      closeSync(fd)
    },
    closeSync() {
      if (closed) return
      closed = true
      // An async write may still be in flight: its bytes precede ours in the file thanks to O_APPEND order of issue.
      if (queue.length > 0) {
        appendNow(queue, `${queue.length} line(s) on close`, false)
        queue = []
        queuedBytes = 0
      }
      if (policy !== 'never') fsyncSync(fd)
      if (!inFlight) closeSync(fd)
      else setImmediate(function retry() { if (inFlight) setImmediate(retry); else closeSync(fd) })
    },
  }
}

/**
 * Takes the last `written` bytes out of the file again after a failed append (disk full), when
 * they are still its last bytes (no other writer appended after them). Returns whether it did.
 */
function rollback(fd: number, buf: Buffer, written: number): boolean {
  try {
    const size = fstatSync(fd).size
    if (size < written) return false
    const tail = Buffer.allocUnsafe(written)
    let got = 0
    while (got < written) {
      const n = readSync(fd, tail, got, written - got, size - written + got)
      if (n === 0) break
      got += n
    }
    if (got !== written || !tail.equals(buf.subarray(0, written))) return false
    ftruncateSync(fd, size - written)
    return true
  } catch {
    return false
  }
}
