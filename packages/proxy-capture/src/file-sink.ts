import { closeSync, createWriteStream, mkdirSync, openSync, writeSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CAPTURE_FILES, createJsonlWriter, type CaptureRecord } from '@agenttap/jsonl-io'
import type { CaptureSink, RawWriter } from './types.js'

/** The default log root: `$AGENTTAP_LOG_DIR` or `~/centralized-logs`. */
export function defaultLogDir(): string {
  return process.env['AGENTTAP_LOG_DIR'] ?? join(homedir(), 'centralized-logs')
}

/** Raw bodies up to this size are buffered and appended to the body log when the flow ends. */
const RAW_BUFFER_BYTES = 256 * 1024

/** A body log is closed and a new one started past this size. */
const BODY_LOG_BYTES = 1024 * 1024 * 1024

/** Lines queued for one JSONL file before they are handed to its writer without waiting. */
const MAX_QUEUED_LINE_CHARS = 1024 * 1024

/** Where a client's per-agent view of `sse_lines.jsonl` lives, by detected client. */
const CLIENT_DIRS: Record<string, string> = { 'claude-code': 'claude', codex: 'codex' }

const NEWLINE = Buffer.from('\n')

/** Options of {@link createFileSink}. */
export interface FileSinkOptions {
  /** Log root. @defaultValue {@link defaultLogDir}() */
  logDir?: string
  /** jsonl-io fsync policy. @defaultValue `'never'` (whole lines per write; at most the last line tears on a crash) */
  fsync?: 'never' | 'close' | 'always'
  /**
   * Records are appended in batches: at most one write per file per `batchMs` while records
   * keep coming (a record after a quiet period goes out at the end of the current event-loop
   * turn). Bounds how late a `tail -f` reader sees a record, and what a SIGKILL can lose.
   * `0` writes at the end of every event-loop turn. {@link CaptureSink.flush} writes at once.
   * @defaultValue 5
   */
  batchMs?: number
  /**
   * Append the JSONL batches on the sink's own thread (jsonl-io's `sync` writers) instead of
   * through libuv's thread pool. Meant for a thread that does nothing else (the capture
   * thread): no hand-off to a pool thread and no wake-up per batch per file.
   * @defaultValue false
   */
  syncWrites?: boolean
  /** I/O failures of raw files (records go through jsonl-io's writer). */
  onError?(err: Error): void
}

type Writer = ReturnType<typeof createJsonlWriter>

/** Lines waiting for one JSONL writer; joined into one `writeLine` (one syscall) per batch. */
interface LineQueue {
  writer: Writer
  lines: string[]
  chars: number
}

/**
 * The file sink: `<logDir>/all-mitm-sse/{sse_flows,sse_lines,sse_flow_ends}.jsonl`, raw bodies
 * in `all-mitm-sse/sse_logs/`, and each `sse` record also in `<logDir>/claude/sse_lines.jsonl`
 * or `<logDir>/codex/sse_lines.jsonl` by the flow's detected client. Directories are created
 * 0700: captures hold prompts.
 *
 * Each record is serialized once, queued per file and appended in batches (see
 * {@link FileSinkOptions.batchMs}); every write carries whole lines only. Raw bodies up to
 * 256 KiB are kept in memory until their flow ends and then appended to this process's body
 * log, `sse_logs/bodies-<start>-<pid>.log` (each body after a `=== agenttap <name> <n> bytes ===`
 * line; its ref is `sse_logs/bodies-….log#bytes=<first>-<last>`); larger ones stream to a file
 * of their own, `sse_logs/<name>`.
 */
export function createFileSink(opts: FileSinkOptions = {}): CaptureSink & { readonly captureDir: string } {
  const logDir = opts.logDir ?? defaultLogDir()
  const captureDir = join(logDir, 'all-mitm-sse')
  const rawDir = join(captureDir, CAPTURE_FILES.rawDir)
  const batchMs = Math.max(0, opts.batchMs ?? 5)
  mkdirSync(rawDir, { recursive: true, mode: 0o700 })
  const wopts = { fsync: opts.fsync ?? 'never', mkdir: true, sync: opts.syncWrites ?? false } as const
  const queueFor = (path: string): LineQueue => ({ writer: createJsonlWriter(path, wopts), lines: [], chars: 0 })
  const flows = queueFor(join(captureDir, CAPTURE_FILES.flows))
  const lines = queueFor(join(captureDir, CAPTURE_FILES.lines))
  const ends = queueFor(join(captureDir, CAPTURE_FILES.flowEnds))
  const perClient = new Map<string, LineQueue>()
  const flowClient = new Map<string, string>()
  const rawOpen = new Set<Promise<void>>()
  const liveStreams = new Set<() => void>()
  const queues: LineQueue[] = [flows, lines, ends]
  let scheduled: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined
  let scheduledIsTimer = false
  let lastDrain = 0
  let closing = false

  function clientQueue(dir: string): LineQueue {
    let q = perClient.get(dir)
    if (!q) {
      mkdirSync(join(logDir, dir), { recursive: true, mode: 0o700 })
      q = queueFor(join(logDir, dir, CAPTURE_FILES.lines))
      perClient.set(dir, q)
      queues.push(q)
    }
    return q
  }

  function drainQueue(q: LineQueue): void {
    if (q.lines.length === 0) return
    const batch = q.lines
    q.lines = []
    q.chars = 0
    try {
      // One "line" holding several: jsonl-io appends it with one write, whole lines only.
      q.writer.writeLine(batch.length === 1 ? (batch[0] as string) : batch.join('\n'))
    } catch (err) {
      opts.onError?.(err as Error)
    }
  }

  function drain(): void {
    if (scheduled !== undefined) {
      if (scheduledIsTimer) clearTimeout(scheduled as ReturnType<typeof setTimeout>)
      else clearImmediate(scheduled as ReturnType<typeof setImmediate>)
      scheduled = undefined
    }
    lastDrain = performance.now()
    for (const q of queues) drainQueue(q)
    drainRaw()
  }

  function schedule(): void {
    if (scheduled !== undefined) return
    const wait = lastDrain + batchMs - performance.now()
    scheduledIsTimer = wait >= 1
    scheduled = scheduledIsTimer ? setTimeout(drain, wait) : setImmediate(drain)
  }

  function enqueue(q: LineQueue, line: string): void {
    q.lines.push(line)
    q.chars += line.length
    // A full queue drains every queue, flows first: a reader never sees a flow's lines before its flow.
    if (q.chars >= MAX_QUEUED_LINE_CHARS) drain()
    else schedule()
  }

  // --- small raw bodies: appended to this process's body log, one write per batch
  // A file per body would cost a file creation each (50-200 µs of kernel time here, two per
  // flow); an append costs a few µs. Offsets are assigned here, in order, so a ref is known the
  // moment a body ends; the appends are synchronous, so the file is in that order.
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  let logSeq = 0
  let log: { name: string; fd: number | undefined; size: number; queue: Buffer[]; failed: boolean } | undefined

  function bodyLog(): NonNullable<typeof log> {
    if (log && log.size < BODY_LOG_BYTES) return log
    if (log) retire(log)
    const name = `bodies-${stamp}-${process.pid}${logSeq++ === 0 ? '' : `-${logSeq}`}.log`
    let fd: number | undefined
    let failed = false
    try {
      fd = openSync(join(rawDir, name), 'a', 0o600)
    } catch (err) {
      opts.onError?.(err as Error)
      failed = true
    }
    log = { name, fd, size: 0, queue: [], failed }
    return log
  }

  /**
   * Writes a body log's queue in one synchronous append, like the JSONL writer's batches: no
   * thread-pool round trip per batch (on the capture thread that is the cheaper way; inline it
   * is one write per batch, as for the records).
   */
  function pump(l: NonNullable<typeof log>): void {
    if (l.queue.length === 0 || l.fd === undefined) {
      l.queue = []
      return
    }
    const buf = l.queue.length === 1 ? (l.queue[0] as Buffer) : Buffer.concat(l.queue)
    l.queue = []
    try {
      for (let off = 0; off < buf.length; ) off += writeSync(l.fd, buf, off, buf.length - off)
    } catch (err) {
      if (!l.failed) opts.onError?.(new Error(`could not append to ${l.name}: ${(err as Error).message}`))
      l.failed = true
    }
  }

  /** Writes what a body log still holds and closes it. */
  function retire(l: NonNullable<typeof log>): void {
    pump(l)
    if (l.fd === undefined) return
    try {
      closeSync(l.fd)
    } catch (err) {
      opts.onError?.(err as Error)
    }
    l.fd = undefined
  }

  /** Appends one body with a header line naming it; returns its ref (`…#bytes=first-last`). */
  function appendBody(name: string, data: Buffer): string {
    const l = bodyLog()
    const head = Buffer.from(`=== agenttap ${name} ${data.length} bytes ===\n`)
    const first = l.size + head.length
    l.queue.push(head, data, NEWLINE)
    l.size += head.length + data.length + 1
    schedule()
    return `${CAPTURE_FILES.rawDir}/${l.name}#bytes=${first}-${first + data.length - 1}`
  }

  function drainRaw(): void {
    if (log && log.queue.length > 0) pump(log)
  }

  function track(p: Promise<void>): void {
    rawOpen.add(p)
    void p.then(() => rawOpen.delete(p))
  }

  return {
    captureDir,
    write(record: CaptureRecord) {
      if (closing) throw new Error(`file sink for ${captureDir} is closed: record of flow ${record.flow_id} not written`)
      switch (record.type) {
        case 'flow': {
          enqueue(flows, JSON.stringify(record))
          const dir = typeof record.client === 'string' ? CLIENT_DIRS[record.client] : undefined
          if (dir) flowClient.set(record.flow_id, dir)
          break
        }
        case 'sse':
        case 'client_frame': {
          // Serialized once for both files.
          const line = JSON.stringify(record)
          enqueue(lines, line)
          const dir = flowClient.get(record.flow_id)
          if (dir) enqueue(clientQueue(dir), line)
          break
        }
        case 'flow_end':
          enqueue(ends, JSON.stringify(record))
          flowClient.delete(record.flow_id)
          break
        default:
          // Other types (a sink's `sink_gap` notice, newer writers' types) sit with the flow ends,
          // as jsonl-io's captureFileFor says, out of the way of SSE readers.
          enqueue(ends, JSON.stringify(record))
      }
    },
    raw(name: string): RawWriter {
      let ws: ReturnType<typeof createWriteStream> | undefined
      let pending: (Uint8Array | string)[] = []
      let pendingBytes = 0
      let ended = false
      let closed: Promise<void> | undefined
      const open = (): ReturnType<typeof createWriteStream> => {
        // Only bodies past RAW_BUFFER_BYTES get here: most never need a path of their own.
        const s = createWriteStream(join(rawDir, name), { flags: 'a', mode: 0o600 })
        closed = new Promise<void>((resolve) => {
          s.on('close', resolve)
          s.on('error', (err) => {
            opts.onError?.(err)
            resolve()
          })
        })
        const stop = (): void => {
          if (closed) track(closed)
          if (!s.destroyed && !s.writableEnded) s.end()
        }
        liveStreams.add(stop)
        void closed.then(() => liveStreams.delete(stop))
        return s
      }
      let ref = `${CAPTURE_FILES.rawDir}/${name}`
      return {
        get ref() {
          return ref
        },
        write(chunk) {
          if (ended) return
          if (ws) {
            if (!ws.destroyed) ws.write(chunk)
            return
          }
          if (chunk.length === 0) return
          pending.push(chunk)
          pendingBytes += chunk.length
          // Small bodies (most LLM responses) are kept and appended to the body log in one
          // piece at the end; only a body that outgrows the buffer gets a file of its own.
          if (pendingBytes > RAW_BUFFER_BYTES) {
            ws = open()
            for (const c of pending) ws.write(c)
            pending = []
          }
        },
        end() {
          if (ended) return
          ended = true
          if (ws) {
            // Tracked from its end on: flush() waits for finished bodies, never for live ones.
            if (closed) track(closed)
            if (!ws.destroyed && !ws.writableEnded) ws.end()
            return
          }
          if (closing || pendingBytes === 0) {
            ref = ''
            pending = []
            return
          }
          const data = pending.length === 1 && typeof pending[0] !== 'string' ? Buffer.from((pending[0] as Uint8Array).buffer, (pending[0] as Uint8Array).byteOffset, (pending[0] as Uint8Array).byteLength) : Buffer.concat(pending.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))
          pending = []
          ref = appendBody(name, data)
        },
      }
    },
    async flush() {
      drain()
      // Raw bodies of ended flows too: a reader told "flushed" may open sse_logs/ right away.
      await Promise.all([...rawOpen])
      if (log) pump(log)
      await Promise.all(queues.map((q) => q.writer.flush()))
    },
    async close() {
      if (closing) return
      closing = true
      for (const stop of [...liveStreams]) stop()
      drain()
      await Promise.all([...rawOpen])
      await Promise.all(queues.map((q) => q.writer.close()))
      if (log) retire(log)
    },
  }
}
