import { describe, expect, it } from 'vitest'
import { LedgerError } from './errors.js'
import { BUNDLED_PRICES, parsePriceTable, priceFor } from './pricing.js'

describe('pricing', () => {
  it('the longest model-id prefix wins, dated snapshots find their family', () => {
    expect(priceFor(BUNDLED_PRICES, 'claude-sonnet-4-5-20250929')?.key).toBe('claude-sonnet-4-5')
    expect(priceFor(BUNDLED_PRICES, 'gpt-5.1-codex-mini')?.key).toBe('gpt-5.1-codex-mini')
    expect(priceFor(BUNDLED_PRICES, 'llama-3')).toBeUndefined()
    expect(priceFor(BUNDLED_PRICES, undefined)).toBeUndefined()
  })

  it('a user table gets defaults (cache prices = input, 1h writes = 2 × input) and bad fields are named', () => {
    const t = parsePriceTable({ version: 'v', models: { m: { input: 2, output: 4 } } })
    expect(t.models['m']).toEqual({ input: 2, output: 4, cache_read: 2, cache_write: 2, cache_write_1h: 4 })
    expect(() => parsePriceTable({ version: 'v', models: { m: { input: -1, output: 1 } } }, 'p.json')).toThrow(LedgerError)
    expect(() => parsePriceTable({ models: {} }, 'p.json')).toThrow(/p.json: missing "version"/)
  })
})
