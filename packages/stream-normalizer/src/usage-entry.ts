/**
 * `@agenttap/stream-normalizer/usage`: the usage and rate-limit readers without the stream
 * normalizer (its adapters, framer and SSE parser): a transcript reader that only counts tokens
 * (`agenttap-analyze daily --source transcripts` after one new session) does not load them.
 * Built with code splitting: the main entry exports these same functions.
 */
export { normalizeUsage, readAnthropicUsage } from './usage.js'
export type { NormalizedUsage } from './usage.js'
export { rateLimitHeaders, readCodexRateLimits } from './rate-limits.js'
