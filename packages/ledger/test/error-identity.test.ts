// Every error the ledger can pass on is an agenttap error: its own class extends jsonl-io's
// AgenttapError, and the two layer-1 packages it builds on (which import nothing) carry the same
// Symbol.for marker, so one `AgenttapError.isInstance` check catches them all, from any copy.
import { describe, expect, it } from 'vitest'
import { AgenttapError } from '@agenttap/jsonl-io'
import { SessionExtractorError, createRedactor } from '@agenttap/session-extractor'
import { NormalizerError } from '@agenttap/stream-normalizer'
import { LedgerError } from '../src/index.js'

describe('one error identity across the layers', () => {
  it('the ledger, session-extractor and stream-normalizer errors are all AgenttapError.isInstance', () => {
    const thrown = (() => {
      try {
        createRedactor({ hashKey: '' })
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(thrown).toBeInstanceOf(SessionExtractorError)
    expect(AgenttapError.isInstance(thrown)).toBe(true)
    const n = new NormalizerError('MALFORMED_JSON', 'x', { flow_id: 'f', seq: 3 })
    expect(AgenttapError.isInstance(n)).toBe(true)
    expect(n).toMatchObject({ code: 'MALFORMED_JSON', flow_id: 'f', seq: 3, name: 'NormalizerError' })
    const l = new LedgerError('INVALID_RECORD', 'bad record', { file: 'a.jsonl', line: 2 })
    expect(AgenttapError.isInstance(l)).toBe(true)
    expect(l).toMatchObject({ name: 'LedgerError', file: 'a.jsonl', line: 2 })
    // a plain Error is not one
    expect(AgenttapError.isInstance(new Error('x'))).toBe(false)
  })

  it('the built ./pricing entry shares the main entry\'s LedgerError and price table (one copy, not two)', async () => {
    const main = await import('@agenttap/ledger')
    const pricing = await import('@agenttap/ledger/pricing')
    expect(pricing.LedgerError).toBe(main.LedgerError)
    expect(pricing.BUNDLED_PRICES).toBe(main.BUNDLED_PRICES)
    expect(() => pricing.parsePriceTable({ version: 'v', currency: 'USD', models: { m: { input: -1 } } })).toThrow(main.LedgerError)
  })
})
