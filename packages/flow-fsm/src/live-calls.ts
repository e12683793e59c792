import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLedger, type ModelCall, type SharedNormalizerOptions } from '@agenttap/ledger'
import type { StreamNormalizer } from '@agenttap/stream-normalizer'

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
  /**
   * The flow's stream normalizer, shared with the calls' ledger (absent with a ledger that cannot
   * share one): a view that renders the events gets them from it, so each `sse` record is decoded
   * once. Feed each `sse` record to {@link LiveCalls.feed} first, then to it.
   */
  normalizer?(flow_id: string, opts: SharedNormalizerOptions): StreamNormalizer
  /** Ends one flow as {@link LiveCalls.end} would (absent with a ledger that cannot). */
  endFlow?(flow_id: string): void
}

/** A streaming ledger: what `@agenttap/ledger`'s `createLedger` returns. */
export interface LedgerLike {
  feed(record: unknown): void
  end(): void
  reset(): void
  /** See `@agenttap/ledger`'s `Ledger.normalizer`. */
  normalizer?(flow_id: string, opts: SharedNormalizerOptions): StreamNormalizer
  /** See `@agenttap/ledger`'s `Ledger.endFlow`. */
  endFlow?(flow_id: string): void
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
  /**
   * What the default ledger reads of each request: `'call'` when only end lines are shown (no
   * prompt, tool results or fingerprints on the calls; see `@agenttap/ledger`'s `requestFacts`),
   * and then nothing of the responses' text either (calls with empty `text`, `reasoning` and
   * `tool_calls`; the ledger's `callText: false`).
   * @defaultValue 'all'
   */
  requestFacts?: 'all' | 'call'
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
    : createLedger({ onCall: keep, sessionChain: false, maxOpenFlows: maxFlows, maxPendingRecords: 256, ...(opts.requestFacts ? { requestFacts: opts.requestFacts } : {}), ...(opts.requestFacts === 'call' ? { callText: false } : {}), ...(opts.onError ? { onError: opts.onError } : {}) })
  const shared = ledger.normalizer?.bind(ledger)
  const endFlow = ledger.endFlow?.bind(ledger)
  return {
    ...(shared !== undefined ? { normalizer: shared } : {}),
    ...(endFlow !== undefined ? { endFlow } : {}),
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
