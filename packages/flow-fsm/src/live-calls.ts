import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLedger, type ModelCall } from '@agenttap/ledger'

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

/** A streaming ledger: what `@agenttap/ledger`'s `createLedger` returns. */
export interface LedgerLike {
  feed(record: unknown): void
  end(): void
  reset(): void
}

/** Options of {@link createLiveCalls}. */
export interface LiveCallsOptions {
  /** Flows whose calls are held at most; past it the least recently fed is forgotten. @defaultValue 10000 */
  maxFlows?: number
  /** Bad input the ledger reports (malformed stream data, records out of place): for diagnostics. */
  onError?(e: Error): void
  /**
   * The ledger the calls come from, made with the given `onCall`.
   * @defaultValue `createLedger` of `@agenttap/ledger`
   */
  ledger?: (onCall: (call: ModelCall) => void) => LedgerLike
  /** Receives each call as soon as its response ended (the live alerts watch them here). */
  onCall?(call: ModelCall): void
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
    opts.onCall?.(call)
  }
  // A live view shows the session ids the records carry: the ledger's chaining by history is analyze's.
  // A live view may never see a flow's flow record (reading sse_lines.jsonl alone): its records
  // wait for it at most a few hundred records, then the flow is assembled without it.
  const ledger = opts.ledger
    ? opts.ledger(keep)
    : createLedger({ onCall: keep, sessionChain: false, maxOpenFlows: maxFlows, maxPendingRecords: 256, ...(opts.onError ? { onError: opts.onError } : {}) })
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
