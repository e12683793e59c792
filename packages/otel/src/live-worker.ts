// The export thread of the live OTLP export: the ledger, the span building and the OTLP exporters
// run here, off the thread that relays the traffic. Messages in: {type:'records', records} (from
// the sink's `write`), {type:'port', port} (a port the capture thread posts its records to),
// {type:'flush'|'close', id}. Messages out: {type:'stats', stats} (every 250 ms when they
// changed), {type:'error', name, code, message}, {type:'done', id, stats, error?}.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLiveExportCore } from './live-core.js'
import type { OtlpLiveExportOptions } from './live-export.js'

if (!parentPort) throw new Error('live-worker.js runs as the export thread of createOtlpLiveExport')
const parent = parentPort
const core = createLiveExportCore({
  ...(workerData as OtlpLiveExportOptions),
  onError: (err) => parent.postMessage({ type: 'error', name: err.name, code: err.code, message: err.message }),
})
type RecordsMessage = { type: 'records'; records: CaptureRecord[] }
const take = (m: RecordsMessage): void => {
  for (const r of m.records) core.write(r)
}
const ports: MessagePort[] = []
/** What the capture thread posted so far, taken at once (before a flush, so none is left behind). */
const drainPorts = (): void => {
  for (const p of ports) for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) take(m.message as RecordsMessage)
}

let last = ''
setInterval(() => {
  const s = JSON.stringify(core.stats)
  if (s !== last) {
    last = s
    parent.postMessage({ type: 'stats', stats: core.stats })
  }
}, 250).unref()

parent.on('message', (m: RecordsMessage | { type: 'port'; port: MessagePort } | { type: 'flush' | 'close'; id: number }) => {
  if (m.type === 'records') return take(m)
  if (m.type === 'port') {
    ports.push(m.port)
    m.port.on('message', take)
    return
  }
  const { id, type } = m
  drainPorts()
  ;(type === 'close' ? core.close() : core.flush()).then(
    () => {
      if (type === 'close') for (const p of ports) p.close()
      parent.postMessage({ type: 'done', id, stats: core.stats })
    },
    (err: unknown) => parent.postMessage({ type: 'done', id, stats: core.stats, error: String((err as Error)?.message ?? err) }),
  )
})
