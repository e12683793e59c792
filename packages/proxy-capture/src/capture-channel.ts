import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker, type MessagePort } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureEngine, type CaptureEngineOptions, type CaptureOp } from './capture-engine.js'
import { createFileSink, type FileSinkOptions } from './file-sink.js'
import type { CaptureSink } from './types.js'

/** Counters of the capture side (engine and files), wherever it runs. */
export interface CaptureSideStats {
  capturedFlows: number
  events: number
  /** Records the files could not take (disk full, …): counted, reported, and a `sink_gap` once writable again. */
  lostRecords: number
}

/** The proxy's handle on the capture: ops in, records out, wherever the engine runs. */
export interface CaptureChannel {
  /** Queues an op; ops go to the engine in batches (see {@link ChannelOptions}). */
  post(op: CaptureOp): void
  /** Whether records come back to the proxy's thread (for its subscribers and extra sinks). */
  forward(on: boolean): void
  /** Everything posted so far is captured, written and forwarded (flow_ends of ended flows included). */
  flush(): Promise<void>
  /** Flushes, then closes the files. */
  close(): Promise<void>
  readonly stats: CaptureSideStats
  /**
   * The capture has more than its backlog limit of traffic still to process: the data path
   * should stop reading until {@link CaptureChannel.whenDrained} calls back, so memory stays
   * bounded and nothing is dropped (the stream slows to what the capture can take).
   */
  readonly congested: boolean
  /** Traffic bytes posted and not yet processed. */
  readonly backlog: number
  /** The largest backlog so far. */
  readonly maxBacklog: number
  /** Times the data path was told to wait for the capture. */
  readonly stalls: number
  whenDrained(fn: () => void): void
  /** `'thread'` when the engine runs on its own thread. */
  readonly mode: 'thread' | 'inline'
  /** Thread mode only: the capture thread also posts its records to `port` (a sink's own thread, see `CaptureSink.recordPort`). */
  attach?(port: MessagePort): void
}

/** What the capture side is made of: the engine and its files. Plain data (it crosses to the thread). */
export interface ChannelOptions {
  engine: CaptureEngineOptions
  /** The capture files (written where the engine runs), or `false` for none. */
  files: Omit<FileSinkOptions, 'onError' | 'onLost'> | false
  /** Traffic bytes not yet processed past which the data path waits. @defaultValue 8 MiB */
  maxBacklogBytes?: number
}

/** Where the capture side's output goes on the proxy's thread. */
export interface ChannelOutput {
  /** Records, for the proxy's subscribers and extra sinks (only while forwarding is on). */
  emit(record: CaptureRecord): void
  log(level: 'debug' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void
}

/** Default traffic backlog past which the data path waits for the capture. */
export const DEFAULT_MAX_BACKLOG_BYTES = 8 * 1024 * 1024
/** Ops wait at most this long for the capture thread, or until this many bytes are queued. */
const BATCH_MS = 16
const BATCH_BYTES = 256 * 1024
/** First size of a batch's byte buffer (it doubles when a batch needs more). */
const ARENA_BYTES = 32 * 1024

/** Where an op's bytes are in its batch's buffer: offset, length. */
type ArenaSlice = [offset: number, length: number]

/**
 * A batch of ops as it crosses to the capture thread: the byte payloads of `req`, `body` and
 * `ws` ops are {@link ArenaSlice}s of `bytes`, which is transferred, not copied.
 */
export interface WireBatch {
  type: 'batch'
  /** The ops, as JSON (`undefined` in an op reads back as `null`; the engine takes both). */
  ops: string
  bytes: ArrayBuffer | undefined
}

/**
 * The capture thread's side of {@link WireBatch}: puts each op's bytes back as a view of the
 * batch's buffer (no copy) and returns how many traffic bytes the batch carried.
 */
export function fromWire(batch: WireBatch): { ops: CaptureOp[]; bytes: number } {
  const buf = batch.bytes
  const ops = JSON.parse(batch.ops) as CaptureOp[]
  let total = 0
  const view = (s: unknown): Uint8Array => {
    const [off, len] = s as ArenaSlice
    total += len
    return buf ? new Uint8Array(buf, off, len) : new Uint8Array(0)
  }
  for (const op of ops) {
    if (op[0] === 'req') op[2] = view(op[2])
    else if (op[0] === 'body') op[3] = view(op[3])
    else if (op[0] === 'ws') op[4] = view(op[4])
  }
  return { ops, bytes: total }
}

/** The capture side as a worker or in-process: the engine writing to its files, records forwarded on request. */
export interface CaptureSide {
  apply(ops: readonly CaptureOp[]): void
  drain(): Promise<void>
  flush(): Promise<void>
  close(): Promise<void>
  readonly stats: CaptureSideStats
}

/**
 * Builds the capture side: the engine, the file sink it writes to (unless `files` is `false`),
 * lost records counted. Runs on the capture thread (capture-worker.ts), or in-process.
 */
export function createCaptureSide(opts: ChannelOptions, out: { emit(record: CaptureRecord): void; log: ChannelOutput['log'] }, syncWrites: boolean): CaptureSide {
  const stats: CaptureSideStats = { capturedFlows: 0, events: 0, lostRecords: 0 }
  const files: (CaptureSink & { readonly stats?: { lostRecords: number } }) | undefined =
    opts.files === false
      ? undefined
      : createFileSink({
          ...(syncWrites ? { batchMs: 0, syncWrites: true } : {}),
          ...opts.files,
          onError: (err) => out.log('error', { err: err.message }, err.message),
          onWarn: (msg, obj) => out.log('warn', obj, msg),
        })
  const engine = createCaptureEngine(opts.engine, {
    emit(r) {
      try {
        files?.write(r)
      } catch (err) {
        out.log('error', { err: (err as Error).message, flow_id: r.flow_id }, 'capture file write failed')
      }
      out.emit(r)
    },
    raw: (name) => files?.raw?.(name),
    log: out.log,
  })
  const sync = (): CaptureSideStats => {
    stats.capturedFlows = engine.stats.capturedFlows
    stats.events = engine.stats.events
    stats.lostRecords = files?.stats?.lostRecords ?? 0
    return stats
  }
  return {
    apply: (ops) => engine.apply(ops),
    drain: () => engine.drain(),
    async flush() {
      await engine.drain()
      await files?.flush()
    },
    async close() {
      await engine.drain()
      await files?.close()
    },
    get stats() {
      return sync()
    },
  }
}

/**
 * In-process (`captureThread: false`, or no worker possible): the capture side runs on the
 * proxy's thread, after the event-loop turn that carried the bytes (the client's copy is
 * already on its way).
 */
export function inlineChannel(opts: ChannelOptions, out: ChannelOutput): CaptureChannel {
  let forwarding = false
  const side = createCaptureSide(opts, { emit: (r) => forwarding && out.emit(r), log: out.log }, false)
  let queue: CaptureOp[] = []
  let scheduled = false
  const run = (): void => {
    scheduled = false
    const batch = queue
    queue = []
    side.apply(batch)
  }
  return {
    mode: 'inline',
    post(op) {
      queue.push(op)
      if (!scheduled) {
        scheduled = true
        setImmediate(run)
      }
    },
    forward(on) {
      forwarding = on
    },
    congested: false,
    backlog: 0,
    maxBacklog: 0,
    stalls: 0,
    whenDrained(fn) {
      fn()
    },
    async flush() {
      run()
      await side.flush()
    },
    async close() {
      run()
      await side.close()
    },
    get stats() {
      return side.stats
    },
  }
}

/** Where the capture thread's script is: next to this module in dist, or dist when run from src (tests). */
function workerScript(): URL | undefined {
  for (const rel of ['./capture-worker.js', '../dist/capture-worker.js']) {
    const u = new URL(rel, import.meta.url)
    if (existsSync(fileURLToPath(u))) return u
  }
  return undefined
}

/**
 * On a thread of its own: the engine and the file sink run beside the relay, which only copies
 * bytes into a batch every few ms. Records come back only while forwarding is on. Returns
 * undefined when the worker script cannot be found or started.
 */
export function threadChannel(opts: ChannelOptions, out: ChannelOutput): CaptureChannel | undefined {
  const script = workerScript()
  if (!script) return undefined
  let worker: Worker
  try {
    worker = new Worker(script, { workerData: opts })
  } catch (err) {
    out.log('warn', { err: (err as Error).message }, 'could not start the capture thread; capturing on the main thread')
    return undefined
  }
  const highWater = opts.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES
  const lowWater = Math.floor(highWater / 4)
  const stats: CaptureSideStats = { capturedFlows: 0, events: 0, lostRecords: 0 }
  let queue: CaptureOp[] = []
  // The batch's traffic bytes, copied back to back into one buffer that moves (not copied
  // again) to the thread with the batch: one transfer per batch instead of one per chunk.
  let arena: Buffer | undefined
  let used = 0
  let queuedBytes = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let dead: Error | undefined
  let nextId = 0
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()
  let pending = 0
  let stalls = 0
  let maxBacklog = 0
  let drained: Array<() => void> = []

  worker.on('message', (m: { type: string; records?: CaptureRecord[]; stats?: CaptureSideStats; bytes?: number; level?: 'debug' | 'warn' | 'error'; obj?: Record<string, unknown>; msg?: string; id?: number; error?: string }) => {
    if (m.stats) Object.assign(stats, m.stats)
    if (m.type === 'ack') {
      pending -= m.bytes ?? 0
      if (pending < lowWater && drained.length > 0) for (const f of drained.splice(0)) f()
    } else if (m.type === 'records') for (const r of m.records ?? []) out.emit(r)
    else if (m.type === 'log') out.log(m.level ?? 'error', m.obj ?? {}, m.msg ?? '')
    else if (m.type === 'done') {
      const w = waiting.get(m.id ?? -1)
      waiting.delete(m.id ?? -1)
      if (m.error) w?.reject(new Error(m.error))
      else w?.resolve()
    }
  })
  const fail = (err: Error): void => {
    if (dead) return
    dead = err
    out.log('error', { err: err.message }, 'the capture thread died: flows in progress are lost, nothing more is captured until restart')
    for (const w of waiting.values()) w.reject(err)
    waiting.clear()
    // Nothing will be acknowledged any more: let the traffic flow.
    pending = 0
    for (const f of drained.splice(0)) f()
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`capture thread exited with code ${code}`)))

  const send = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (queue.length === 0) return
    // One JSON string, not the op objects: V8's structured clone costs ~6 µs per small op
    // (header maps included), JSON.stringify a fraction of that, and strings cross as one copy.
    const batch: WireBatch = { type: 'batch', ops: JSON.stringify(queue), bytes: arena ? (arena.buffer as ArrayBuffer) : undefined }
    queue = []
    arena = undefined
    used = 0
    queuedBytes = 0
    if (!dead) worker.postMessage(batch, batch.bytes ? [batch.bytes] : [])
  }
  const request = (type: 'flush' | 'close'): Promise<void> => {
    send()
    if (dead) return Promise.reject(dead)
    const id = nextId++
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve, reject })
      worker.postMessage({ type, id })
    })
  }
  /** Copies a byte view into the batch's buffer; returns where it is, as the op's payload. */
  const own = (u: Uint8Array): ArenaSlice => {
    if (!arena || used + u.length > arena.length) {
      // allocUnsafeSlow: a buffer of its own (never a slice of Node's shared pool), so it can move.
      const next = Buffer.allocUnsafeSlow(Math.max(ARENA_BYTES, 2 * (arena?.length ?? 0), used + u.length))
      if (arena) arena.copy(next, 0, 0, used)
      arena = next
    }
    arena.set(u, used)
    const slice: ArenaSlice = [used, u.length]
    used += u.length
    pending += u.length
    if (pending > maxBacklog) maxBacklog = pending
    queuedBytes += u.length
    return slice
  }

  return {
    mode: 'thread',
    post(op) {
      if (dead) return
      // The op's bytes become a slice of the batch's buffer (see fromWire on the thread).
      if (op[0] === 'req') op[2] = own(op[2]) as never
      else if (op[0] === 'body') op[3] = own(op[3]) as never
      else if (op[0] === 'ws') op[4] = own(op[4]) as never
      queue.push(op)
      // One message per few ms, not per event-loop turn: every message wakes the thread, and
      // at one small request at a time the wake-ups would cost more than the capture. The
      // records keep their wire times; only their arrival on disk moves by these ms.
      if (queuedBytes >= Math.min(BATCH_BYTES, highWater)) send()
      else timer ??= setTimeout(send, BATCH_MS)
    },
    forward(on) {
      if (!dead) worker.postMessage({ type: 'forward', on })
    },
    attach(port) {
      if (!dead) worker.postMessage({ type: 'port', port }, [port])
    },
    get congested() {
      return pending > highWater
    },
    get backlog() {
      return Math.max(0, pending)
    },
    get stalls() {
      return stalls
    },
    get maxBacklog() {
      return maxBacklog
    },
    whenDrained(fn) {
      if (pending < lowWater) fn()
      else {
        stalls++
        // What is queued must reach the thread, or the backlog could never drain.
        send()
        drained.push(fn)
      }
    },
    flush: () => request('flush'),
    async close() {
      try {
        await request('close')
      } finally {
        worker.removeAllListeners('exit')
        await worker.terminate()
      }
    },
    get stats() {
      return stats
    },
  }
}
