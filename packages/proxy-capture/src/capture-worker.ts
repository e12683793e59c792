// The capture thread: runs the capture side (engine + file sink) off the proxy's event loop.
// Messages in: {type:'batch'} = a batch of CaptureOps (a WireBatch: ops as JSON, their bytes in
// one transferred buffer); {type:'forward', on} (send records back for the proxy's subscribers
// and extra sinks); {type:'port', port} (records also go to that port: a sink's own thread);
// {type:'flush'|'close', id}. Messages out: {type:'ack', bytes} per batch,
// {type:'records'}, {type:'log'}, {type:'stats'}, {type:'done', id}, each with the counters.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureSide, fromWire, type ChannelOptions, type WireBatch } from './capture-channel.js'

if (!parentPort) throw new Error('capture-worker.js runs as a worker thread of the capture proxy')
const port = parentPort
let forward = false
/** Sinks on threads of their own, fed from here without the proxy's thread in between. */
const ports: MessagePort[] = []
// Processed traffic is acknowledged per batch (the proxy only needs it to bound its backlog).
let unacked = 0
function ack(): void {
  if (unacked === 0) return
  port.postMessage({ type: 'ack', bytes: unacked })
  unacked = 0
}
let out: CaptureRecord[] = []
let scheduled = false

// This thread does nothing else: appends are made here (no thread-pool hand-off and wake-up per
// file per batch), at the end of each batch's turn (batches already come every few ms).
const side = createCaptureSide(
  workerData as ChannelOptions,
  {
    emit(r) {
      if (!forward && ports.length === 0) return
      out.push(r)
      if (!scheduled) {
        scheduled = true
        setImmediate(sendRecords)
      }
    },
    log: (level, obj, msg) => port.postMessage({ type: 'log', level, obj, msg }),
  },
  true,
)

function sendRecords(): void {
  scheduled = false
  if (out.length === 0) return
  if (forward) port.postMessage({ type: 'records', records: out, stats: side.stats })
  for (const p of ports) p.postMessage({ type: 'records', records: out })
  out = []
}

// Counters for the proxy's stats() while nothing is forwarded.
let last = ''
setInterval(() => {
  const s = JSON.stringify(side.stats)
  if (s !== last) {
    last = s
    port.postMessage({ type: 'stats', stats: side.stats })
  }
}, 250).unref()

port.on('message', (m: WireBatch | { type: 'forward'; on: boolean } | { type: 'port'; port: MessagePort } | { type: 'flush' | 'close'; id: number }) => {
  if (m.type === 'batch') {
    const { ops, bytes } = fromWire(m)
    side.apply(ops)
    // Tell the proxy how much traffic is off its books (it stops reading past a high-water mark).
    // Batches come every few ms at most: one ack per batch, in the same turn (a timer of its
    // own would wake this thread once more per batch).
    unacked += bytes
    ack()
    return
  }
  if (m.type === 'forward') {
    forward = m.on
    return
  }
  if (m.type === 'port') {
    ports.push(m.port)
    return
  }
  const id = m.id
  const close = m.type === 'close'
  void (async () => {
    await side.drain()
    sendRecords()
    await (close ? side.close() : side.flush())
    // Records a flush made (a sink_gap) go out too; the ack goes first, so the proxy's backlog reads 0 once its flush() resolves.
    sendRecords()
    ack()
    port.postMessage({ type: 'done', id, stats: side.stats })
  })().catch((err: unknown) => port.postMessage({ type: 'done', id, stats: side.stats, error: String((err as Error)?.message ?? err) }))
})
