import { BUNDLED_PRICES, cacheWrite1h, LedgerError, parsePriceTable as parseLedgerPrices, priceFor } from '@agenttap/ledger/pricing'
import { ExtractError } from './errors.js'
import type { PriceTable } from './types.js'

/**
 * The price table lives in `@agenttap/ledger` (`pricing.ts`, read through its light `./pricing` entry) so that every reader of model calls
 * prices tokens the same way; analyze keeps its names and its error class.
 */
export { BUNDLED_PRICES, cacheWrite1h, priceFor }

/**
 * Checks a user-supplied price table (`--prices <file>`, parsed JSON) and returns it typed.
 * @throws ExtractError `BAD_PRICES` naming the first bad field.
 */
export function parsePriceTable(value: unknown, source = 'price table'): PriceTable {
  try {
    return parseLedgerPrices(value, source)
  } catch (e) {
    if (e instanceof LedgerError && e.code === 'BAD_PRICES') throw new ExtractError('BAD_PRICES', e.message, { cause: e })
    throw e
  }
}
