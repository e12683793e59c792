import { ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace'
import { signalUrls } from './endpoint.js'
import { OtelError } from './errors.js'
import type { OtlpTarget } from './types.js'

/** Options of {@link createSpanSender}. */
export interface SpanSenderOptions extends OtlpTarget {
  /** Spans held while the endpoint is slow or down; past it new spans are dropped and counted. @defaultValue 20_000 */
  maxQueue?: number
  /** Spans per OTLP request. @defaultValue 512 */
  batchSize?: number
  /** OTLP requests in flight at once. @defaultValue 2 */
  maxInFlight?: number
  /** A span exporter instead of OTLP/HTTP protobuf to `endpoint` (tests, other transports). */
  exporter?: SpanExporter
  /** A refused or failed batch (its spans are counted in `failed`, not retried beyond the exporter's own retries). */
  onError?(err: OtelError): void
}

/** Counters of a {@link SpanSender}. */
export interface SpanSenderStats {
  queued: number
  sent: number
  exported: number
  failed: number
  dropped: number
}

/** A bounded queue of spans in front of the official OTLP exporter. */
export interface SpanSender {
  /** Queues a span; false when the queue is full (the span is dropped and counted). Never blocks. */
  push(span: ReadableSpan): boolean
  /** Resolves when fewer than `n` spans are queued or in flight (back-pressure for a producer that can wait). */
  below(n: number): Promise<void>
  /** Sends everything queued and resolves when the endpoint answered for all of it. */
  flush(): Promise<void>
  /** flush, then shuts the exporter down. */
  close(): Promise<void>
  readonly stats: SpanSenderStats
}

/**
 * A span queue that never blocks its producer: spans are batched to the official OTLP/HTTP
 * protobuf exporter (`@opentelemetry/exporter-trace-otlp-proto`), a few requests in flight; while
 * the endpoint is slow or down the queue fills up to `maxQueue`, then new spans are dropped and
 * counted (like the Redis sink's bounded queue).
 */
export function createSpanSender(opts: SpanSenderOptions): SpanSender {
  const maxQueue = opts.maxQueue ?? 20_000
  const batchSize = opts.batchSize ?? 512
  const maxInFlight = opts.maxInFlight ?? 2
  for (const [name, v] of [['maxQueue', maxQueue], ['batchSize', batchSize], ['maxInFlight', maxInFlight]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new OtelError('INVALID_OPTION', `createSpanSender: expected ${name} to be a positive integer, received ${String(v)}`)
  }
  const exporter: SpanExporter =
    opts.exporter ??
    new OTLPTraceExporter({
      url: signalUrls(opts.endpoint).traces,
      ...(opts.headers ? { headers: opts.headers } : {}),
      timeoutMillis: opts.timeoutMillis ?? 10_000,
      concurrencyLimit: maxInFlight + 1,
    })
  let queue: ReadableSpan[] = []
  let inFlight = 0
  let inFlightSpans = 0
  let scheduled = false
  const stats: SpanSenderStats = { queued: 0, sent: 0, exported: 0, failed: 0, dropped: 0 }
  const waiters: { n: number; resolve: () => void }[] = []

  const wake = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i] as { n: number; resolve: () => void }
      if (queue.length + inFlightSpans < w.n || (queue.length === 0 && inFlight === 0)) {
        waiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  const pump = (): void => {
    scheduled = false
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.length <= batchSize ? queue : queue.slice(0, batchSize)
      queue = queue.length <= batchSize ? [] : queue.slice(batchSize)
      inFlight++
      inFlightSpans += batch.length
      stats.sent += batch.length
      exporter.export(batch, (result) => {
        inFlight--
        inFlightSpans -= batch.length
        if (result.code === ExportResultCode.SUCCESS) stats.exported += batch.length
        else {
          stats.failed += batch.length
          opts.onError?.(new OtelError('EXPORT_FAILED', `OTLP export of ${batch.length} spans failed: ${result.error?.message ?? 'unknown error'}`, { cause: result.error }))
        }
        stats.queued = queue.length
        schedule()
        wake()
      })
    }
    stats.queued = queue.length
    wake()
  }

  const schedule = (): void => {
    if (scheduled || queue.length === 0 || inFlight >= maxInFlight) return
    scheduled = true
    // Batches form across the records of one tick; the producer's call returns at once.
    setImmediate(pump)
  }

  return {
    stats,
    push(span) {
      if (queue.length + inFlightSpans >= maxQueue) {
        stats.dropped++
        return false
      }
      queue.push(span)
      stats.queued = queue.length
      if (queue.length >= batchSize) schedule()
      else if (!scheduled) schedule()
      return true
    },
    below(n) {
      if (queue.length + inFlightSpans < n) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ n, resolve }))
    },
    async flush() {
      schedule()
      await new Promise<void>((resolve) => {
        if (queue.length === 0 && inFlight === 0) resolve()
        else waiters.push({ n: 0, resolve })
      })
    },
    async close() {
      await this.flush()
      await exporter.shutdown()
    },
  }
}
