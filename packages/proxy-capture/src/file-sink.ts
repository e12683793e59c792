import { createWriteStream, mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CAPTURE_FILES, CLIENT_DIRS, createJsonlWriter, defaultLogRoot, resolveCapture, SCHEMA_VERSION, type CaptureRecord, type JsonlError, type SinkGapRecord } from '@agenttap/jsonl-io'
import { createBodyLog } from './body-log.js'
import type { CaptureSink, RawWriter } from './types.js'

/** The default log root: `$AGENTTAP_LOG_DIR` or `~/centralized-logs` (jsonl-io's `defaultLogRoot`). */
export function defaultLogDir(): string {
  return defaultLogRoot()
}

/** Raw bodies up to this size are buffered and appended to the body log when the flow ends. */
const RAW_BUFFER_BYTES = 256 * 1024

/** Lines queued for one JSONL file before they are handed to its writer without waiting. */
const MAX_QUEUED_LINE_CHARS = 1024 * 1024

/** Marks the proxy's own file sinks: passing one as an extra sink would write every record twice. */
export const FILE_SINK = Symbol.for('agenttap.proxy-capture.file-sink')

/** Options of {@link createFileSink}. */
export interface FileSinkOptions {
  /** Log root, or a capture directory (see jsonl-io's `resolveCapture`). @defaultValue {@link defaultLogDir}() */
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
  /** I/O failures of raw body files. */
  onError?(err: Error): void
  /**
   * Records or bodies could not be written (disk full, …): called once when the losses start,
   * and once when the files take writes again (with the count). The lost records are counted in
   * `stats.lostRecords` and a `sink_gap` record (`sink: "files"`) is written once they can be.
   */
  onWarn?(message: string, detail: Record<string, unknown>): void
}

type Writer = ReturnType<typeof createJsonlWriter>

/** Lines waiting for one JSONL writer; joined into one `writeLine` (one syscall) per batch. */
interface LineQueue {
  writer: Writer
  lines: string[]
  chars: number
}

/** Records of one file lost since the last `sink_gap` went out. */
interface Gap {
  dropped: number
  from: string | undefined
  to: string | undefined
}

/** The `ts` of a serialized record (it comes early in the line: no full parse). */
function tsOf(line: string): string | undefined {
  return /"ts":"([^"]{1,40})"/.exec(line.slice(0, 400))?.[1]
}

/**
 * The file sink: `<logDir>/all-mitm-sse/{sse_flows,sse_lines,sse_flow_ends}.jsonl`, raw bodies
 * in `all-mitm-sse/sse_logs/`, and each `sse` / `client_frame` record also in
 * `<logDir>/claude/sse_lines.jsonl` or `<logDir>/codex/sse_lines.jsonl` by the flow's detected
 * client. Directories are created 0700, files 0600: captures hold prompts.
 *
 * Each record is serialized once, queued per file and appended in batches (see
 * {@link FileSinkOptions.batchMs}); every write carries whole lines only. Raw bodies up to
 * 256 KiB are kept in memory until their flow ends and then appended to this process's body
 * log, `sse_logs/bodies-<start>-<pid>.log` (each body after a `=== agenttap <name> <n> bytes ===`
 * line; its ref is `sse_logs/bodies-….log#bytes=<first>-<last>`); larger ones stream to a file
 * of their own, `sse_logs/<name>`.
 *
 * A full disk loses records, never silently: each failed append is taken out of the file again
 * (no torn line is left in the middle of a file), the lost records are counted
 * (`stats.lostRecords`), `onWarn` says so, and once the files take writes again a `sink_gap`
 * record per file (`sink: "files"`, `file`, `dropped`, `from`, `to`) goes to
 * `sse_flow_ends.jsonl`.
 */
export function createFileSink(opts: FileSinkOptions = {}): CaptureSink & { readonly captureDir: string; readonly stats: { lostRecords: number; lostBodies: number } } {
  const layout = resolveCapture(opts.logDir ?? defaultLogDir())
  const captureDir = layout.dir
  const clientRoot = layout.root
  const rawDir = layout.rawDir
  const batchMs = Math.max(0, opts.batchMs ?? 5)
  mkdirSync(rawDir, { recursive: true, mode: 0o700 })
  const gaps = new Map<string, Gap>()
  let lostRecords = 0
  let losing = false
  /** The sink_gap lines on their way to the file: lost again, their counts come back. */
  const gapLines = new Map<string, { file: string; gap: Gap }>()
  const wopts = { fsync: opts.fsync ?? 'never', mkdir: true, sync: opts.syncWrites ?? false } as const

  function lost(name: string, appended: readonly string[], err: JsonlError): void {
    let n = 0
    // Each append carries a batch of records joined by newlines (JSON escapes newlines inside them).
    for (const line of appended.flatMap((a) => a.split('\n'))) {
      const own = gapLines.get(line)
      if (own) {
        // Our own sink_gap did not make it either: its count waits for the next try.
        gapLines.delete(line)
        merge(own.file, own.gap)
        continue
      }
      n++
      merge(name, { dropped: 1, from: tsOf(line), to: tsOf(line) })
    }
    lostRecords += n
    if (!losing && n > 0) {
      losing = true
      opts.onWarn?.(`capture files: could not write ${n} record(s) to ${name} (${err.cause instanceof Error ? err.cause.message : err.message}); records are being lost until the disk takes writes again, then a sink_gap record will say how many`, { file: err.file, lost: n })
    }
  }

  function merge(file: string, g: Gap): void {
    const cur = gaps.get(file)
    if (!cur) {
      gaps.set(file, { ...g })
      return
    }
    cur.dropped += g.dropped
    if (g.from !== undefined && (cur.from === undefined || g.from < cur.from)) cur.from = g.from
    if (g.to !== undefined && (cur.to === undefined || g.to > cur.to)) cur.to = g.to
  }

  const queueFor = (path: string): LineQueue => {
    // Named in a sink_gap by its path under the log root: `all-mitm-sse/sse_lines.jsonl`, `claude/sse_lines.jsonl`.
    const name = relative(clientRoot ?? captureDir, path)
    return { writer: createJsonlWriter(path, { ...wopts, onLost: (ls, err) => lost(name, ls, err) }), lines: [], chars: 0 }
  }
  const flows = queueFor(layout.live.flows)
  const lines = queueFor(layout.live.lines)
  const ends = queueFor(layout.live.ends)
  const perClient = new Map<string, LineQueue>()
  const flowClient = new Map<string, string>()
  const rawOpen = new Set<Promise<void>>()
  const liveStreams = new Set<() => void>()
  const queues: LineQueue[] = [flows, lines, ends]
  let scheduled: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined
  let scheduledIsTimer = false
  let lastDrain = 0
  let closing = false

  const bodies = createBodyLog(rawDir, {
    onError: (err) => opts.onError?.(err),
    onLost: (n, err) => opts.onWarn?.(`capture files: ${err.message}; their refs will read as BODY_MISSING`, { lostBodies: n }),
  })

  function clientQueue(dir: string): LineQueue | undefined {
    if (clientRoot === undefined) return undefined
    let q = perClient.get(dir)
    if (!q) {
      mkdirSync(join(clientRoot, dir), { recursive: true, mode: 0o700 })
      q = queueFor(join(clientRoot, dir, CAPTURE_FILES.lines))
      perClient.set(dir, q)
      queues.push(q)
    }
    return q
  }

  /** The lost records of each file, as `sink_gap` records, ahead of the flow ends (tried at every drain until they are in). */
  function queueGaps(): void {
    if (gaps.size === 0) return
    const total = [...gaps.values()].reduce((n, g) => n + g.dropped, 0)
    for (const [file, gap] of gaps) {
      const rec: SinkGapRecord = { v: SCHEMA_VERSION, type: 'sink_gap', ts: new Date().toISOString(), flow_id: '-', session_id: '-', sink: 'files', file, dropped: gap.dropped }
      if (gap.from !== undefined) rec.from = gap.from
      if (gap.to !== undefined) rec.to = gap.to
      const line = JSON.stringify(rec)
      // Bounded: with thread-pool writes a gap line that made it is never heard of again.
      if (gapLines.size >= 64) gapLines.delete(gapLines.keys().next().value as string)
      gapLines.set(line, { file, gap })
      ends.lines.unshift(line)
    }
    gaps.clear()
    if (losing) {
      losing = false
      opts.onWarn?.(`capture files: writing again; ${total} record(s) were lost (see the sink_gap records in ${CAPTURE_FILES.flowEnds})`, { lost: total })
    }
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
    queueGaps()
    for (const q of queues) drainQueue(q)
    // A gap line that went out with no loss reported is in the file (sync writes report at once).
    if (opts.syncWrites) gapLines.clear()
    bodies.pump()
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

  function track(p: Promise<void>): void {
    rawOpen.add(p)
    void p.then(() => rawOpen.delete(p))
  }

  return {
    [FILE_SINK]: true,
    captureDir,
    get stats() {
      return { lostRecords, lostBodies: bodies.lostBodies }
    },
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
          const q = dir === undefined ? undefined : clientQueue(dir)
          if (q) enqueue(q, line)
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
          ref = bodies.append(name, data)
          schedule()
        },
      }
    },
    async flush() {
      drain()
      // Raw bodies of ended flows too: a reader told "flushed" may open sse_logs/ right away.
      await Promise.all([...rawOpen])
      bodies.pump()
      await Promise.all(queues.map((q) => q.writer.flush()))
    },
    async close() {
      if (closing) return
      closing = true
      for (const stop of [...liveStreams]) stop()
      drain()
      await Promise.all([...rawOpen])
      await Promise.all(queues.map((q) => q.writer.close()))
      bodies.close()
    },
  } as CaptureSink & { readonly captureDir: string; readonly stats: { lostRecords: number; lostBodies: number } }
}
