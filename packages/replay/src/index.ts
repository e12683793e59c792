/**
 * @agenttap/replay — serve a captured agent session back to a real agent: each request matched
 * to a captured call by its fingerprint, the captured response sent at the recorded pace over SSE
 * or WebSocket, divergences answered with a provider-shaped error (or the real upstream) and
 * written to a report.
 */
export { loadReplayCapture, servedHeaders } from './load.js'
export type { LoadReplayOptions } from './load.js'
export { createReplayServer } from './server.js'
export type { ReplayServer, ReplayServerOptions } from './server.js'
export { requestPrint, firstDifference } from './fingerprint.js'
export type { PrintInput } from './fingerprint.js'
export { defaultReportPath } from './report.js'
export { pace } from './pace.js'
export type { PacedSink } from './pace.js'
export { ReplayError } from './errors.js'
export type { ReplayErrorCode } from './errors.js'
export type {
  Difference,
  DivergenceEntry,
  ReplayCapture,
  ReplayConnection,
  ReplayEvent,
  ReplayExchange,
  ReplaySummary,
  ReplayTransport,
  RequestPrint,
} from './types.js'
