import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { LedgerError, type LedgerErrorCode } from '@agenttap/ledger'
import { OtelError, type OtelErrorCode } from './errors.js'
import type { OtlpLiveExport, OtlpLiveExportOptions, OtlpLiveStats } from './live-export.js'

/** Where the export thread's script is: next to this module in dist, or dist when run from src (tests). */
function workerScript(): URL | undefined {
  for (const rel of ['./live-worker.js', '../dist/live-worker.js']) {
    const u = new URL(rel, import.meta.url)
    if (existsSync(fileURLToPath(u))) return u
  }
  return undefined
}

/**
 * The live export on the export thread (`live-worker`): this side only queues records for it (or
 * hands a port to the capture thread) and keeps its counters. Returns undefined when the thread
 * cannot be started (the caller then runs the export where it is).
 */
export function threadLiveExport(opts: OtlpLiveExportOptions): OtlpLiveExport | undefined {
  const script = workerScript()
  if (!script) return undefined
  const { onError, spanExporter: _s, metricExporter: _m, resource: _r, thread: _t, ...plain } = opts
  let worker: Worker
  try {
    worker = new Worker(script, { workerData: plain })
  } catch {
    return undefined
  }
  const maxRecords = opts.maxRecords ?? 100_000
  // Never keeps the process alive by itself; it does while a flush or close waits for it.
  worker.unref()
  const report = (err: OtelError | LedgerError): void => {
    try {
      onError?.(err)
    } catch {
      // A reporting callback never takes the export (or the proxy) down.
    }
  }
  let stats: OtlpLiveStats = { records: 0, droppedRecords: 0, calls: 0, spans: 0, exported: 0, failed: 0, dropped: 0 }
  /** Records this side could not hand over (the thread died, or the batch was full). */
  let lost = 0
  let batch: CaptureRecord[] = []
  let scheduled = false
  let dead: Error | undefined
  let closed = false
  let nextId = 0
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()

  worker.on('message', (m: { type: string; stats?: OtlpLiveStats; name?: string; code?: string; message?: string; id?: number; error?: string }) => {
    if (m.stats) stats = m.stats
    if (m.type === 'error') {
      report(m.name === 'LedgerError' ? new LedgerError(m.code as LedgerErrorCode, m.message ?? '') : new OtelError(m.code as OtelErrorCode, m.message ?? ''))
    } else if (m.type === 'done') {
      const w = waiting.get(m.id ?? -1)
      waiting.delete(m.id ?? -1)
      if (waiting.size === 0) worker.unref()
      if (m.error) w?.reject(new Error(m.error))
      else w?.resolve()
    }
  })
  const fail = (err: Error): void => {
    if (dead) return
    dead = err
    report(new OtelError('EXPORT_FAILED', `the live OTLP export thread stopped (${err.message}): nothing more is exported`, { cause: err }))
    for (const w of waiting.values()) w.reject(err)
    waiting.clear()
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)))

  const send = (): void => {
    scheduled = false
    if (batch.length === 0) return
    if (!dead) worker.postMessage({ type: 'records', records: batch })
    else lost += batch.length
    batch = []
  }
  const request = (type: 'flush' | 'close'): Promise<void> => {
    send()
    if (dead) return Promise.reject(dead)
    const id = nextId++
    worker.ref()
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve, reject })
      worker.postMessage({ type, id })
    })
  }

  return {
    mode: 'thread',
    get stats() {
      return { ...stats, droppedRecords: stats.droppedRecords + lost }
    },
    write(record) {
      if (closed) return
      if (dead || batch.length >= maxRecords) {
        lost++
        return
      }
      batch.push(record)
      if (!scheduled) {
        scheduled = true
        setImmediate(send)
      }
    },
    recordPort() {
      if (dead || closed) return undefined
      const { port1, port2 } = new MessageChannel()
      worker.postMessage({ type: 'port', port: port2 }, [port2])
      return port1
    },
    flush: () => request('flush'),
    async close() {
      if (closed) return
      try {
        await request('close')
      } finally {
        closed = true
        worker.removeAllListeners('exit')
        await worker.terminate()
      }
    },
  }
}
