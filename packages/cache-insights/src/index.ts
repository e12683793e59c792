/**
 * @agenttap/cache-insights — why the prompt cache missed (cause, first divergent offset, wasted
 * dollars), how full the context window is, how much quota each session used, and live alerts:
 * pure functions over `@agenttap/ledger`'s model calls.
 */
export { createCacheAnalyzer, findCacheBreaks, firstDivergence, laneOf, lostSplit, toolsDiff, wastedUsd } from './breaks.js'
export type { CacheAnalyzer, CacheAnalyzerOptions } from './breaks.js'
export { explainDivergence } from './explain.js'
export type { ExplainOptions, Explanation } from './explain.js'
export { CONTEXT_WINDOWS, contextTimeline, contextWindowOf, summaryHash } from './context.js'
export type { ContextOptions, ContextPoint } from './context.js'
export { quotaTimeline, readQuota } from './quota.js'
export type { QuotaPoint, QuotaReading, QuotaShare } from './quota.js'
export { createAlertMonitor } from './alerts.js'
export type { Alert, AlertKind, AlertMonitor, AlertOptions } from './alerts.js'
export { CacheInsightsError } from './errors.js'
export type { CacheInsightsErrorCode } from './errors.js'
export type { BreakCause, CacheBreak, InsightCall, MessageChange, ToolsDiff } from './types.js'
