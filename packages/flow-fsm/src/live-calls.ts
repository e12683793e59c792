import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { ModelCall } from '@agenttap/ledger'
import type { FlowFsmError } from './errors.js'
import { createInterimLedger, type LedgerLike } from './interim-ledger.js'

/**
 * Where every live view gets the facts of its end lines, usage and errors: the model calls of
 * the ledger, one per model response, so the terminal monitor, the web view and analyze print
 * the same numbers by construction. A live view feeds it every record it reads and asks for a
 * flow's calls when it shows the flow's end.
 */
export interface LiveCalls {
  /** Feeds one capture record (`flow`, `sse`, `client_frame`, `flow_end`; others are ignored). */
  feed(record: CaptureRecord): void
  /**
   * The calls of a flow known so far: those whose response ended, in order (after `end()`, also
   * the ones still open then, with outcome `open`). Empty for a flow with no finished call.
   */
  calls(flow_id: string): readonly ModelCall[]
  /** The view is done with the flow: its calls can go. */
  forget(flow_id: string): void
  /** End of all input: the calls still open are given as they are (outcome `open`). */
  end(): void
}

/** Options of {@link createLiveCalls}. */
export interface LiveCallsOptions {
  /** Flows whose calls are held at most; past it the least recently fed is forgotten. @defaultValue 10000 */
  maxFlows?: number
  /** Bad input of the ledger (malformed stream data): for diagnostics. */
  onError?(e: FlowFsmError): void
  /**
   * The ledger the calls come from, made with the given `onCall`.
   * @defaultValue the interim ledger (`createLedger` of `@agenttap/ledger` once it is merged)
   */
  ledger?: (onCall: (call: ModelCall) => void) => LedgerLike
}

/**
 * Creates the live views' calls: a ledger fed the records, its calls kept per flow until the view
 * forgets the flow.
 *
 * @example
 * ```ts
 * const calls = createLiveCalls()
 * for (const r of records) calls.feed(r)
 * const [call] = calls.calls('flow-1') // { outcome: 'completed', usage: { input: 9, … }, … }
 * ```
 */
export function createLiveCalls(opts: LiveCallsOptions = {}): LiveCalls {
  const maxFlows = opts.maxFlows ?? 10_000
  const byFlow = new Map<string, ModelCall[]>()
  const keep = (call: ModelCall): void => {
    let list = byFlow.get(call.flow_id)
    if (!list) {
      byFlow.set(call.flow_id, (list = []))
      if (byFlow.size > maxFlows) {
        const first = byFlow.keys().next()
        if (!first.done) byFlow.delete(first.value)
      }
    }
    list.push(call)
  }
  const ledger = opts.ledger ? opts.ledger(keep) : createInterimLedger({ onCall: keep, maxOpenFlows: maxFlows, ...(opts.onError ? { onError: opts.onError } : {}) })
  return {
    feed(record) {
      ledger.feed(record)
    },
    calls(flow_id) {
      return byFlow.get(flow_id) ?? []
    },
    forget(flow_id) {
      byFlow.delete(flow_id)
    },
    end() {
      ledger.end()
    },
  }
}
