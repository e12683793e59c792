/**
 * @agenttap/ledger — capture records in, model calls out: the one place provider semantics
 * become facts.
 */
export { LEDGER_VERSION } from './types.js'
export type {
  CallApi,
  CallError,
  CallOutcome,
  CallRequest,
  CallSegment,
  CallSource,
  CallTransport,
  CallUsage,
  CompactionEvent,
  FlowFacts,
  FlowKind,
  LedgerContent,
  LedgerToolCall,
  LedgerToolKind,
  LedgerToolResult,
  ModelCall,
  TelemetryFact,
} from './types.js'
export { createLedger } from './ledger.js'
export type { Ledger, LedgerOptions, RecordLocation, SharedNormalizerOptions } from './ledger.js'
export { ledgerFromRecords } from './from-records.js'
export { telemetryFactOf } from './telemetry-join.js'
export type { LedgerResult } from './from-records.js'
export { BUNDLED_PRICES, cacheWrite1h, parsePriceTable, priceFor } from './pricing.js'
export type { ModelPrice, PriceTable } from './pricing.js'
export { LedgerError } from './errors.js'
export type { LedgerErrorCode } from './errors.js'
