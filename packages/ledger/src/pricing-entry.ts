/**
 * `@agenttap/ledger/pricing`: the price table, the ledger's error class and its version without
 * the ledger (stream-normalizer, session-extractor): a reader that only prices calls already in
 * an index (`agenttap-analyze usage` on a current index), or a transcript reader that stamps
 * calls with `LEDGER_VERSION`, does not load the whole call assembly.
 * Built with code splitting: `LedgerError` here is the class the main entry throws.
 */
export { BUNDLED_PRICES, cacheWrite1h, parsePriceTable, priceFor } from './pricing.js'
export type { ModelPrice, PriceTable } from './pricing.js'
export { LedgerError } from './errors.js'
export { LEDGER_VERSION } from './types.js'
export type { LedgerErrorCode } from './errors.js'
