import type { LedgerContent, ModelCall } from '@agenttap/ledger'
import type { Resource } from '@opentelemetry/resources'

/** Where and how to send OTLP (HTTP, protobuf). */
export interface OtlpTarget {
  /** OTLP/HTTP base URL (`http://127.0.0.1:4318`); `/v1/traces` and `/v1/metrics` are appended (a URL already ending in `/v1/traces` is used as is for traces). */
  endpoint: string
  /** Extra request headers (e.g. an API key of the backend). */
  headers?: Record<string, string>
  /** Per-request timeout. @defaultValue 10_000 */
  timeoutMillis?: number
}

/** Options shared by the history export and the live export. */
export interface SpanOptions {
  /** Record message content on spans (prompts, answers, tool arguments and results), as redacted on disk. @defaultValue false */
  content?: boolean
  /** Also export auxiliary flows. @defaultValue false */
  includeAux?: boolean
  /** The resource of every span and metric. @defaultValue `service.name=agenttap` */
  resource?: Resource
}

/** Counters of an export. */
export interface ExportStats {
  /** Model calls turned into spans. */
  calls: number
  /** Spans handed to the exporter. */
  spans: number
  /** Spans the endpoint accepted. */
  exported: number
  /** Spans in batches the endpoint refused or that failed to send. */
  failed: number
  /** Spans dropped because the queue was full (live export only). */
  dropped: number
  /** Metric data points recorded (token usage and durations). */
  metricPoints: number
}

/** What {@link exportCalls} takes: calls, and the request contents (system prompts) for `content`. */
export interface CallsInput {
  calls: Iterable<ModelCall> | AsyncIterable<ModelCall>
  /** Contents by hash, as the ledger emitted them (`onContent`), for `gen_ai.system_instructions`. */
  contents?: ReadonlyMap<string, LedgerContent>
}
