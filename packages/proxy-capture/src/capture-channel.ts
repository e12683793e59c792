import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureEngine, type CaptureEngineOptions, type CaptureOp } from './capture-engine.js'
import type { FileSinkOptions } from './file-sink.js'
import type { CaptureSink } from './types.js'

/** The proxy's handle on the capture: ops in, records out, wherever the engine runs. */
export interface CaptureChannel {
  /** Queues an op; ops go to the engine in one batch at the end of the event-loop turn. */
  post(op: CaptureOp): void
  /** Whether records come back to the proxy (for its subscribers). Always on in-process. */
  forward(on: boolean): void
  /** Everything posted so far is captured and written (flow_ends of ended flows included). */
  flush(): Promise<void>
  /** Flushes, then closes the sinks. */
  close(): Promise<void>
  readonly stats: { capturedFlows: number; events: number }
  /**
   * The capture thread has more than {@link HIGH_WATER} bytes of traffic still to process: the
   * data path should stop reading until {@link CaptureChannel.whenDrained} calls back, so memory
   * stays bounded and nothing is dropped (the stream slows to what the capture can take).
   */
  readonly congested: boolean
  /** Traffic bytes posted to the capture thread and not yet processed (0 inline). */
  readonly backlog: number
  whenDrained(fn: () => void): void
  /** `'thread'` when the engine runs on its own thread. */
  readonly mode: 'thread' | 'inline'
}

/** Traffic bytes posted to the capture thread and not yet processed, above which it is congested. */
export const HIGH_WATER = 8 * 1024 * 1024
const LOW_WATER = 2 * 1024 * 1024
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

interface Out {
  /** Records, for the proxy's subscribers (and its sinks, in-process). */
  emit(record: CaptureRecord): void
  log(level: 'debug' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void
}

/**
 * In-process: the engine runs on the proxy's thread, after the event-loop turn that carried the
 * bytes (the client's copy is already on its way), and writes to the given sinks.
 */
export function inlineChannel(engineOpts: CaptureEngineOptions, sinks: CaptureSink[], out: Out): CaptureChannel {
  const engine = createCaptureEngine(engineOpts, {
    emit(record) {
      for (const s of sinks) {
        try {
          s.write(record)
        } catch (err) {
          out.log('error', { err: (err as Error).message, flow_id: record.flow_id }, 'sink write failed')
        }
      }
      out.emit(record)
    },
    raw(name) {
      for (const s of sinks) if (s.raw) return s.raw(name)
      return undefined
    },
    log: out.log,
  })
  let queue: CaptureOp[] = []
  let scheduled = false
  const run = (): void => {
    scheduled = false
    const batch = queue
    queue = []
    engine.apply(batch)
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
    forward() {},
    congested: false,
    backlog: 0,
    whenDrained(fn) {
      fn()
    },
    async flush() {
      run()
      await engine.drain()
      await Promise.all(sinks.map((s) => s.flush().catch((err: unknown) => out.log('error', { err: String(err) }, 'sink flush failed'))))
    },
    async close() {
      run()
      await engine.drain()
      await Promise.all(sinks.map((s) => s.flush().catch((err: unknown) => out.log('error', { err: String(err) }, 'sink flush failed'))))
      await Promise.all(sinks.map((s) => s.close().catch((err: unknown) => out.log('error', { err: String(err) }, 'sink close failed'))))
    },
    stats: engine.stats,
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
 * bytes into a batch per event-loop turn. Records come back only while someone subscribes.
 * Returns undefined when the worker script cannot be found or started.
 */
export function threadChannel(engineOpts: CaptureEngineOptions, sinkOpts: Omit<FileSinkOptions, 'onError'>, out: Out): CaptureChannel | undefined {
  const script = workerScript()
  if (!script) return undefined
  let worker: Worker
  try {
    worker = new Worker(script, { workerData: { engine: engineOpts, sink: sinkOpts } })
  } catch (err) {
    out.log('warn', { err: (err as Error).message }, 'could not start the capture thread; capturing on the main thread')
    return undefined
  }
  const stats = { capturedFlows: 0, events: 0 }
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
  let drained: Array<() => void> = []

  worker.on('message', (m: { type: string; records?: CaptureRecord[]; stats?: typeof stats; level?: 'debug' | 'warn' | 'error'; obj?: Record<string, unknown>; msg?: string; id?: number; error?: string }) => {
    if (m.stats) Object.assign(stats, m.stats)
    if (m.type === 'ack') {
      pending -= (m as { bytes?: number }).bytes ?? 0
      if (pending < LOW_WATER && drained.length > 0) for (const f of drained.splice(0)) f()
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
      if (queuedBytes >= BATCH_BYTES) send()
      else timer ??= setTimeout(send, BATCH_MS)
    },
    forward(on) {
      if (!dead) worker.postMessage({ type: 'forward', on })
    },
    get congested() {
      return pending > HIGH_WATER
    },
    get backlog() {
      return Math.max(0, pending)
    },
    whenDrained(fn) {
      if (pending < LOW_WATER) fn()
      else drained.push(fn)
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
    stats,
  }
}
