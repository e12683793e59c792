// The capture thread: runs the capture engine and the file sink off the proxy's event loop.
// Messages in: an array = a batch of CaptureOps; {type:'forward', on} (send records back for
// the proxy's subscribers); {type:'flush'|'close', id}. Messages out: {type:'records'},
// {type:'log'}, {type:'done', id}, each with the engine's counters.
import { parentPort, workerData } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureEngine, type CaptureEngineOptions, type CaptureOp } from './capture-engine.js'
import { createFileSink, type FileSinkOptions } from './file-sink.js'

if (!parentPort) throw new Error('capture-worker.js runs as a worker thread of the capture proxy')
const port = parentPort
const data = workerData as { engine: CaptureEngineOptions; sink: Omit<FileSinkOptions, 'onError'> }
const sink = createFileSink({ ...data.sink, onError: (err) => port.postMessage({ type: 'log', level: 'error', obj: { err: err.message }, msg: 'capture file write failed' }) })
let forward = false
// Processed traffic is acknowledged in bulk (the proxy only needs it to bound its backlog).
const ACK_BYTES = 1024 * 1024
const ACK_MS = 10
let unacked = 0
let ackTimer: ReturnType<typeof setTimeout> | undefined
function ack(): void {
  if (ackTimer !== undefined) clearTimeout(ackTimer)
  ackTimer = undefined
  if (unacked === 0) return
  port.postMessage({ type: 'ack', bytes: unacked })
  unacked = 0
}
let out: CaptureRecord[] = []
let scheduled = false

const engine = createCaptureEngine(data.engine, {
  emit(r) {
    sink.write(r)
    if (!forward) return
    out.push(r)
    if (!scheduled) {
      scheduled = true
      setImmediate(sendRecords)
    }
  },
  raw: (name) => sink.raw?.(name),
  log: (level, obj, msg) => port.postMessage({ type: 'log', level, obj, msg }),
})

function sendRecords(): void {
  scheduled = false
  if (out.length === 0) return
  port.postMessage({ type: 'records', records: out, stats: engine.stats })
  out = []
}

// Counters for the proxy's stats() while nothing is forwarded.
let last = ''
setInterval(() => {
  const s = JSON.stringify(engine.stats)
  if (s !== last) {
    last = s
    port.postMessage({ type: 'stats', stats: engine.stats })
  }
}, 250).unref()

port.on('message', (m: CaptureOp[] | { type: 'forward'; on: boolean } | { type: 'flush' | 'close'; id: number }) => {
  if (Array.isArray(m)) {
    engine.apply(m)
    // Tell the proxy how much traffic is off its books (it stops reading past a high-water mark).
    let bytes = 0
    for (const op of m) {
      if (op[0] === 'req') bytes += op[2].length
      else if (op[0] === 'body') bytes += op[3].length
      else if (op[0] === 'ws') bytes += op[4].length
    }
    unacked += bytes
    if (unacked >= ACK_BYTES) ack()
    else if (unacked > 0) ackTimer ??= setTimeout(ack, ACK_MS)
    return
  }
  if (m.type === 'forward') {
    forward = m.on
    return
  }
  const id = m.id
  const close = m.type === 'close'
  void (async () => {
    await engine.drain()
    sendRecords()
    await (close ? sink.close() : sink.flush())
    // The ack goes first, so the proxy's backlog reads 0 once its flush() resolves.
    ack()
    port.postMessage({ type: 'done', id, stats: engine.stats })
  })().catch((err: unknown) => port.postMessage({ type: 'done', id, stats: engine.stats, error: String((err as Error)?.message ?? err) }))
})
