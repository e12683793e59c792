import type { ModelCall } from '@agenttap/ledger'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics'
import type { Attributes, Histogram } from '@opentelemetry/api'
import type { Resource } from '@opentelemetry/resources'
import { signalUrls } from './endpoint.js'
import { defaultResource, SCOPE } from './resource.js'
import { ATTR, DURATION_BUCKETS, METRIC, TOKEN_BUCKETS } from './semconv.js'
import { inputTokensOf, providerName } from './span-builder.js'
import type { OtlpTarget } from './types.js'

/** Options of {@link createCallMetrics}. */
export interface CallMetricsOptions extends Partial<OtlpTarget> {
  resource?: Resource
  /** Export interval of the periodic reader. @defaultValue 15_000 */
  intervalMillis?: number
  /** A metric exporter instead of OTLP/HTTP protobuf to `endpoint`. */
  exporter?: PushMetricExporter
}

/** The GenAI client metrics of model calls. */
export interface CallMetrics {
  /** Records one call's token usage (input and output) and duration. Returns the data points recorded. */
  record(call: ModelCall): number
  /** Exports what was recorded so far. */
  flush(): Promise<void>
  /** Exports and shuts the meter provider down. */
  close(): Promise<void>
}

/**
 * `gen_ai.client.token.usage` (histogram, `{token}`, `gen_ai.token.type` = `input` | `output`) and
 * `gen_ai.client.operation.duration` (histogram, `s`) of model calls, through the official
 * metrics SDK and its OTLP/HTTP protobuf exporter. Input tokens follow the spans' rule (cache
 * reads and writes included).
 */
export function createCallMetrics(opts: CallMetricsOptions): CallMetrics {
  const exporter = opts.exporter ?? new OTLPMetricExporter({ url: signalUrls(opts.endpoint ?? '').metrics, ...(opts.headers ? { headers: opts.headers } : {}), timeoutMillis: opts.timeoutMillis ?? 10_000 })
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: opts.intervalMillis ?? 15_000 })
  const provider = new MeterProvider({ resource: opts.resource ?? defaultResource(), readers: [reader] })
  const meter = provider.getMeter(SCOPE.name, SCOPE.version)
  const tokens: Histogram = meter.createHistogram(METRIC.tokenUsage, { unit: '{token}', description: 'Number of input and output tokens used.', advice: { explicitBucketBoundaries: TOKEN_BUCKETS } })
  const duration: Histogram = meter.createHistogram(METRIC.operationDuration, { unit: 's', description: 'GenAI operation duration.', advice: { explicitBucketBoundaries: DURATION_BUCKETS } })
  let closed = false
  return {
    record(call) {
      if (closed) return 0
      const attrs: Attributes = { [ATTR.operationName]: 'chat', [ATTR.providerName]: providerName(call.provider) }
      const model = call.request.model ?? call.model
      if (model !== undefined) attrs[ATTR.requestModel] = model
      if (call.model !== undefined) attrs[ATTR.responseModel] = call.model
      let points = 0
      if (call.usage) {
        tokens.record(inputTokensOf(call.usage), { ...attrs, [ATTR.tokenType]: 'input' })
        tokens.record(call.usage.output, { ...attrs, [ATTR.tokenType]: 'output' })
        points += 2
      }
      if (call.duration_ms !== undefined) {
        const d: Attributes = call.outcome === 'completed' || call.outcome === 'open' ? attrs : { ...attrs, [ATTR.errorType]: call.error?.type ?? call.error?.code ?? call.outcome }
        duration.record(call.duration_ms / 1000, d)
        points++
      }
      return points
    },
    flush: () => provider.forceFlush(),
    async close() {
      if (closed) return
      closed = true
      // shutdown() collects and exports once more: a forceFlush before it would send the same cumulative points twice.
      await provider.shutdown()
    },
  }
}
