import { createLedger, type LedgerOptions } from './ledger.js'
import type { LedgerError } from './errors.js'
import type { FlowFacts, LedgerContent, ModelCall, TelemetryFact } from './types.js'

/** Everything a ledger emitted for a set of records. */
export interface LedgerResult {
  calls: ModelCall[]
  flows: FlowFacts[]
  contents: LedgerContent[]
  errors: LedgerError[]
  /** What `telemetry` records in the input said, joined to the calls (see `onTelemetry`). */
  telemetry: TelemetryFact[]
}

/**
 * Runs records through a new ledger and returns all it emitted (`end()` included: flows without
 * a flow_end come out as `open`). For tests, tools and small captures; a live view or an index
 * uses {@link createLedger} directly.
 *
 * @param records - canonical records, in any order between flows
 * @param opts - ledger options other than the callbacks
 * @example
 * const { calls } = ledgerFromRecords(readFileSync('fixtures/codex-websocket.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l)))
 * calls.map((c) => c.usage?.output) // [340, 150, 230]
 */
export function ledgerFromRecords(records: Iterable<unknown>, opts: Omit<LedgerOptions, 'onCall' | 'onFlow' | 'onContent' | 'onError' | 'onTelemetry'> = {}): LedgerResult {
  const out: LedgerResult = { calls: [], flows: [], contents: [], errors: [], telemetry: [] }
  const ledger = createLedger({
    ...opts,
    onCall: (c) => out.calls.push(c),
    onFlow: (f) => out.flows.push(f),
    onContent: (c) => out.contents.push(c),
    onError: (e) => out.errors.push(e),
    onTelemetry: (f) => out.telemetry.push(f),
  })
  for (const r of records) ledger.feed(r)
  ledger.end()
  return out
}
