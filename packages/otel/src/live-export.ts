import type { MessagePort } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { LedgerError } from '@agenttap/ledger'
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics'
import type { SpanExporter } from '@opentelemetry/sdk-trace'
import type { OtelError } from './errors.js'
import { createLiveExportCore } from './live-core.js'
import { threadLiveExport } from './live-thread.js'
import type { OtlpTarget, SpanOptions } from './types.js'

/** Options of {@link createOtlpLiveExport}. */
export interface OtlpLiveExportOptions extends OtlpTarget, SpanOptions {
  /** Records waiting to be assembled; past it new records are dropped (counted in `droppedRecords`). @defaultValue 100_000 */
  maxRecords?: number
  /** Spans waiting for the endpoint; past it new spans are dropped (counted in `dropped`). @defaultValue 20_000 */
  maxQueue?: number
  /** Records assembled per tick (the rest wait for the next one, so the event loop stays free for the traffic). @defaultValue 2_000 */
  recordsPerTick?: number
  /** Also export the GenAI client metrics. @defaultValue true */
  metrics?: boolean
  /**
   * A turn no call joined for this long is ended and its `invoke_agent` span sent (a later call of
   * the same session and agent then starts a turn of its own). @defaultValue 300_000 (5 minutes)
   */
  turnIdleMs?: number
  /**
   * Assemble and export on a thread of its own (the export thread), so the ledger, the span
   * building and the protobuf encoding never run on the thread that relays the traffic. With a
   * capture proxy whose capture runs on its thread, records go from the capture thread to the
   * export thread directly (`recordPort`). `false`, or options that cannot cross to a thread
   * (`spanExporter`, `metricExporter`, `resource`), keep it on the caller's thread.
   * @defaultValue true
   */
  thread?: boolean
  /** Export failures and drops (first of a run, then every 1000th), the ledger's reports. */
  onError?(err: OtelError | LedgerError): void
  /** Exporters instead of OTLP/HTTP protobuf (tests). */
  spanExporter?: SpanExporter
  metricExporter?: PushMetricExporter
}

/** Counters of a live export. */
export interface OtlpLiveStats {
  records: number
  droppedRecords: number
  calls: number
  spans: number
  exported: number
  failed: number
  /** Spans dropped because the endpoint fell behind by more than `maxQueue`. */
  dropped: number
}

/** A capture sink (the shape of proxy-capture's `CaptureSink`) that exports the model calls of the records it is given. */
export interface OtlpLiveExport {
  /** Takes one canonical record; O(1), never blocks, never throws. */
  write(record: CaptureRecord): void
  /** Assembles what is queued and sends the spans made so far. */
  flush(): Promise<void>
  /** Ends the open turns and tool calls, sends everything, shuts the exporters down. */
  close(): Promise<void>
  /** On the export thread: a new port whose records (`{ type: 'records', records }`) go straight to it (proxy-capture's `CaptureSink.recordPort`). */
  recordPort?(): MessagePort | undefined
  /** Counters; on the export thread, as of its last report (every 250 ms, and at `flush`/`close`). */
  readonly stats: OtlpLiveStats
  /** Where it runs: `'thread'` (the export thread) or `'inline'` (the caller's thread). */
  readonly mode: 'thread' | 'inline'
}

/**
 * Live OTLP export of a running capture: records in (a capture sink), GenAI spans and metrics
 * out, on a thread of its own by default. It never stalls the traffic: records are queued
 * (bounded), assembled off the relay's thread, and spans go to a bounded queue in front of the
 * official OTLP exporter; what the endpoint cannot take in time is dropped and counted, like the
 * Redis sink.
 *
 * @example
 * ```ts
 * const otlp = createOtlpLiveExport({ endpoint: 'http://127.0.0.1:4318' })
 * const proxy = createCaptureProxy({ sinks: [otlp] })
 * ```
 */
export function createOtlpLiveExport(opts: OtlpLiveExportOptions): OtlpLiveExport {
  const local = opts.thread === false || opts.spanExporter !== undefined || opts.metricExporter !== undefined || opts.resource !== undefined
  return (local ? undefined : threadLiveExport(opts)) ?? createLiveExportCore(opts)
}
