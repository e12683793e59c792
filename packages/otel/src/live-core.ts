import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLedger, type LedgerContent, type LedgerError } from '@agenttap/ledger'
import { OtelError } from './errors.js'
import type { OtlpLiveExport, OtlpLiveExportOptions, OtlpLiveStats } from './live-export.js'
import { createCallMetrics, type CallMetrics } from './metrics.js'
import { createSpanBuilder } from './span-builder.js'
import { createSpanSender } from './span-sender.js'

/**
 * The live export where it is called (the export thread, or the caller's thread with `thread:
 * false`): `write` only queues the record (bounded); the ledger assembles calls a slice per tick;
 * spans go to a bounded queue in front of the official OTLP exporter, and what the endpoint cannot
 * take in time is dropped and counted, like the Redis sink.
 */
export function createLiveExportCore(opts: OtlpLiveExportOptions): OtlpLiveExport {
  const maxRecords = opts.maxRecords ?? 100_000
  const perTick = opts.recordsPerTick ?? 2_000
  if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new OtelError('INVALID_OPTION', `createOtlpLiveExport: expected maxRecords to be a positive integer, received ${String(maxRecords)}`)
  if (!Number.isInteger(perTick) || perTick < 1) throw new OtelError('INVALID_OPTION', `createOtlpLiveExport: expected recordsPerTick to be a positive integer, received ${String(perTick)}`)
  const stats: OtlpLiveStats = { records: 0, droppedRecords: 0, calls: 0, spans: 0, exported: 0, failed: 0, dropped: 0 }
  const report = (err: OtelError | LedgerError): void => {
    try {
      opts.onError?.(err)
    } catch {
      // A reporting callback never takes the export (or the proxy) down.
    }
  }
  const sender = createSpanSender({
    endpoint: opts.endpoint,
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.timeoutMillis !== undefined ? { timeoutMillis: opts.timeoutMillis } : {}),
    ...(opts.spanExporter ? { exporter: opts.spanExporter } : {}),
    maxQueue: opts.maxQueue ?? 20_000,
    onError: report,
  })
  const metrics: CallMetrics | undefined =
    opts.metrics === false ? undefined : createCallMetrics({ endpoint: opts.endpoint, ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.resource ? { resource: opts.resource } : {}), ...(opts.metricExporter ? { exporter: opts.metricExporter } : {}) })
  const contents = new Map<string, LedgerContent>()
  const builder = createSpanBuilder({
    onSpan: (s) => {
      stats.spans++
      if (!sender.push(s)) {
        stats.dropped = sender.stats.dropped
        if (stats.dropped === 1 || stats.dropped % 1000 === 0) report(new OtelError('QUEUE_FULL', `the OTLP endpoint fell behind: ${stats.dropped} spans dropped so far`))
      }
    },
    ...(opts.content ? { content: true, contentOf: (h: string) => contents.get(h) } : {}),
    ...(opts.includeAux ? { includeAux: true } : {}),
    ...(opts.resource ? { resource: opts.resource } : {}),
  })
  const ledger = createLedger({
    onCall: (call) => {
      if (call.kind === 'aux' && !opts.includeAux) return
      stats.calls++
      builder.feed(call)
      metrics?.record(call)
    },
    ...(opts.content
      ? {
          onContent: (c: LedgerContent) => {
            // System prompts only (the one content a span records); bounded like the ledger's own hash set.
            if (c.kind === 'system' && contents.size < 10_000) contents.set(c.hash, c)
          },
        }
      : {}),
    onError: report,
  })
  const idleMs = opts.turnIdleMs ?? 300_000
  if (!Number.isFinite(idleMs) || idleMs <= 0) throw new OtelError('INVALID_OPTION', `createOtlpLiveExport: expected turnIdleMs to be a positive number, received ${String(idleMs)}`)
  // Never keeps the process alive; a throw from a timer would take the proxy down, so none escapes.
  const idleTimer = setInterval(() => {
    try {
      builder.endIdle(idleMs)
    } catch (err) {
      report(new OtelError('INVALID_OPTION', `ending idle turns failed: ${(err as Error).message}`, { cause: err }))
    }
  }, Math.max(10, Math.min(idleMs / 2, 30_000)))
  idleTimer.unref()
  let inbox: CaptureRecord[] = []
  let head = 0
  let scheduled = false
  let closed = false

  const drain = (limit: number): void => {
    const stop = Math.min(inbox.length, head + limit)
    for (; head < stop; head++) {
      const r = inbox[head] as CaptureRecord
      try {
        ledger.feed(r)
      } catch (err) {
        report(new OtelError('INVALID_OPTION', `a record could not be assembled: ${(err as Error).message}`, { cause: err }))
      }
    }
    if (head === inbox.length) {
      inbox = []
      head = 0
    } else if (head > 4096 && head * 2 > inbox.length) {
      inbox = inbox.slice(head)
      head = 0
    }
  }
  const tick = (): void => {
    scheduled = false
    drain(perTick)
    if (head < inbox.length) schedule()
  }
  const schedule = (): void => {
    if (scheduled) return
    scheduled = true
    setImmediate(tick)
  }
  const sync = (): OtlpLiveStats => {
    stats.exported = sender.stats.exported
    stats.failed = sender.stats.failed
    stats.dropped = sender.stats.dropped
    return stats
  }

  return {
    mode: 'inline',
    get stats() {
      return sync()
    },
    write(record) {
      if (closed) return
      if (inbox.length - head >= maxRecords) {
        stats.droppedRecords++
        if (stats.droppedRecords === 1 || stats.droppedRecords % 1000 === 0) report(new OtelError('QUEUE_FULL', `the live OTLP export fell behind: ${stats.droppedRecords} records dropped so far`))
        return
      }
      stats.records++
      inbox.push(record)
      schedule()
    },
    async flush() {
      drain(Number.MAX_SAFE_INTEGER)
      await sender.flush()
      await metrics?.flush()
      sync()
    },
    async close() {
      if (closed) return
      drain(Number.MAX_SAFE_INTEGER)
      closed = true
      clearInterval(idleTimer)
      ledger.end()
      builder.end()
      await sender.close()
      await metrics?.close()
      sync()
    },
  }
}
