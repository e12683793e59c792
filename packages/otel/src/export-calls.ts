import type { LedgerContent, ModelCall } from '@agenttap/ledger'
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics'
import type { SpanExporter } from '@opentelemetry/sdk-trace'
import { OtelError } from './errors.js'
import { createCallMetrics } from './metrics.js'
import { createSpanBuilder } from './span-builder.js'
import { createSpanSender } from './span-sender.js'
import type { CallsInput, ExportStats, OtlpTarget, SpanOptions } from './types.js'

/** Options of {@link exportCalls}. */
export interface ExportCallsOptions extends OtlpTarget, SpanOptions {
  /** Also export the GenAI client metrics. @defaultValue true */
  metrics?: boolean
  /** Spans per OTLP request. @defaultValue 512 */
  batchSize?: number
  /** Reported refusals (the export goes on with the next batch). */
  onError?(err: OtelError): void
  /** Called every `progressEvery` calls. */
  onProgress?(stats: ExportStats): void
  /** @defaultValue 10_000 */
  progressEvery?: number
  /** Exporters instead of OTLP/HTTP protobuf (tests). */
  spanExporter?: SpanExporter
  metricExporter?: PushMetricExporter
}

/** A history export fed one call at a time (see {@link exportCalls}). */
export interface CallsExport {
  /** One call; resolves when the endpoint is close enough behind (back-pressure, nothing dropped). */
  feed(call: ModelCall): Promise<void>
  /** Ends open turns and tool calls, sends the rest, shuts the exporters down. */
  end(): Promise<ExportStats>
  readonly stats: ExportStats
}

/**
 * The push form of {@link exportCalls}: `feed` each call (awaiting it keeps the export a few
 * batches ahead of the endpoint), then `end`. `contentOf` gives the system prompts for `content`.
 */
export function createCallsExport(opts: ExportCallsOptions & { contentOf?(hash: string): LedgerContent | undefined }): CallsExport {
  const batchSize = opts.batchSize ?? 512
  const sender = createSpanSender({
    endpoint: opts.endpoint,
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.timeoutMillis !== undefined ? { timeoutMillis: opts.timeoutMillis } : {}),
    ...(opts.spanExporter ? { exporter: opts.spanExporter } : {}),
    batchSize,
    maxQueue: Number.MAX_SAFE_INTEGER,
    ...(opts.onError ? { onError: opts.onError } : {}),
  })
  const metrics = opts.metrics === false ? undefined : createCallMetrics({ endpoint: opts.endpoint, ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.resource ? { resource: opts.resource } : {}), ...(opts.metricExporter ? { exporter: opts.metricExporter } : {}), intervalMillis: 60_000 })
  const stats: ExportStats = { calls: 0, spans: 0, exported: 0, failed: 0, dropped: 0, metricPoints: 0 }
  const builder = createSpanBuilder({
    onSpan: (s) => {
      stats.spans++
      sender.push(s)
    },
    ...(opts.content ? { content: true } : {}),
    ...(opts.contentOf ? { contentOf: opts.contentOf } : {}),
    ...(opts.includeAux ? { includeAux: true } : {}),
    ...(opts.resource ? { resource: opts.resource } : {}),
  })
  const every = opts.progressEvery ?? 10_000
  const sync = (): ExportStats => {
    stats.exported = sender.stats.exported
    stats.failed = sender.stats.failed
    return stats
  }
  let ended = false
  return {
    get stats() {
      return sync()
    },
    async feed(call) {
      if (ended) throw new OtelError('INVALID_OPTION', 'createCallsExport: feed() after end()')
      if (call.kind === 'aux' && !opts.includeAux) return
      builder.feed(call)
      stats.calls++
      if (metrics) stats.metricPoints += metrics.record(call)
      // Back-pressure: a few batches ahead of the endpoint, never the whole capture in memory.
      if (stats.calls % 64 === 0) await sender.below(batchSize * 4)
      if (opts.onProgress && stats.calls % every === 0) opts.onProgress(sync())
    },
    async end() {
      if (!ended) {
        ended = true
        builder.end()
        await sender.close()
        await metrics?.close()
      }
      return sync()
    },
  }
}

/**
 * Exports a capture's model calls (history) as OTLP spans and metrics, waiting for the endpoint
 * when it is slower than the calls come (nothing is dropped). Ids are stable (see
 * `createSpanBuilder`): exporting the same calls again gives the same trace and span ids, which
 * OTLP backends store once.
 *
 * @example
 * ```ts
 * const { calls, contents } = ledgerFromRecords(records)
 * const stats = await exportCalls({ calls, contents: new Map(contents.map((c) => [c.hash, c])) }, { endpoint: 'http://127.0.0.1:4318' })
 * console.log(stats.exported, 'spans exported')
 * ```
 */
export async function exportCalls(input: CallsInput, opts: ExportCallsOptions): Promise<ExportStats> {
  if (!input || typeof input !== 'object' || !input.calls) throw new OtelError('INVALID_OPTION', 'exportCalls: expected { calls } as the first argument')
  const contents = input.contents
  const exp = createCallsExport({ ...opts, ...(contents ? { contentOf: (h: string) => contents.get(h) } : {}) })
  try {
    for await (const call of input.calls as AsyncIterable<ModelCall>) await exp.feed(call)
  } finally {
    await exp.end()
  }
  return exp.stats
}
