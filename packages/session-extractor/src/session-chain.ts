import { assistantUnit, chainHash, contentHash, type AssistantTurn } from './history-hash.js'
import { SessionExtractorError } from './errors.js'

/** Options of {@link createSessionChain}. */
export interface SessionChainOptions {
  /**
   * Histories remembered (each request's, and each request's plus its response); the least
   * recently used are forgotten first.
   * @defaultValue 100000
   */
  maxEntries?: number
}

/** The session {@link SessionChain.assign} found for a request. */
export interface SessionAssignment {
  session_id: string
  /** true when the request extends an earlier request's history; false for a new conversation. */
  matched: boolean
}

/**
 * Sessions of requests that carry no session id of their own (SDK scripts), found by history:
 * a request whose history extends an earlier request's history (or that history plus the
 * earlier response) belongs to the earlier request's session. Pure, bounded (LRU), no I/O.
 */
export interface SessionChain {
  /**
   * The session of a request, from its history chain (`RequestAnatomy.history`). Looks for the
   * longest prefix of the history that an earlier request had (or had with its response) and
   * returns that request's session; else a new session id made from `seed`. The request's own
   * history is remembered for the requests that follow.
   *
   * A request whose history equals an earlier one's exactly is a retry of it (same session) when
   * it holds two units or more; a one-message history seen again is a new conversation (a script
   * run again with the same first prompt).
   *
   * @param history - the request's chain hashes, oldest first
   * @param seed - what a new session id is made from (the flow id): same seed, same id
   */
  assign(history: readonly string[], seed: string): SessionAssignment
  /**
   * Remembers a request's response, so that a next request carrying it as history matches
   * exactly (not only by the shorter prefix).
   *
   * @param historyHash - the request's `history_hash`
   * @param sessionId - the session {@link assign} gave the request
   * @param turn - the response's text blocks and client-side tool calls
   */
  respond(historyHash: string, sessionId: string, turn: AssistantTurn): void
  /**
   * Remembers that a request got no answer (an HTTP error such as a 429 or 529, an error event):
   * the same history sent again is a retry of it, in its session, even when it is a single
   * message (which otherwise starts a new run).
   *
   * @param historyHash - the failed request's `history_hash`
   * @param sessionId - the session it was given
   */
  failed(historyHash: string, sessionId: string): void
  /** Forgets everything. */
  reset(): void
  /** Histories remembered. */
  readonly size: number
}

interface Entry {
  session_id: string
  /** true: a request's history plus its response; false: a request's own history. */
  response: boolean
  /** The request with this history failed: the same history again is its retry. */
  failed?: boolean
}

class Chain implements SessionChain {
  private entries = new Map<string, Entry>()
  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size
  }

  private remember(key: string, e: Entry): void {
    // Map order is insertion order: deleting first moves the key to the most-recent end.
    this.entries.delete(key)
    this.entries.set(key, e)
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
  }

  assign(history: readonly string[], seed: string): SessionAssignment {
    if (!Array.isArray(history)) throw new SessionExtractorError('INVALID_ARGUMENT', `SessionChain.assign: expected the request's history hashes (an array of strings), received ${typeof history}`)
    const n = history.length
    let found: Entry | undefined
    for (let k = n; k >= 1 && found === undefined; k--) {
      const e = this.entries.get(history[k - 1] as string)
      if (e === undefined) continue
      // The same one-message history again: a script run again, not a continuation — unless
      // the earlier request failed, when this is the client retrying it.
      if (k === n && !e.response && n === 1 && e.failed !== true) continue
      found = e
    }
    const session_id = found?.session_id ?? `h${contentHash(`session\n${seed}`)}`
    const last = history[n - 1]
    if (last !== undefined) this.remember(last, { session_id, response: false })
    return { session_id, matched: found !== undefined }
  }

  respond(historyHash: string, sessionId: string, turn: AssistantTurn): void {
    if (typeof historyHash !== 'string' || historyHash === '') return
    this.remember(chainHash(historyHash, assistantUnit(turn)), { session_id: sessionId, response: true })
  }

  failed(historyHash: string, sessionId: string): void {
    if (typeof historyHash !== 'string' || historyHash === '') return
    this.remember(historyHash, { session_id: sessionId, response: false, failed: true })
  }

  reset(): void {
    this.entries = new Map()
  }
}

/**
 * Creates a session chain. Feed it requests in the order they were sent.
 *
 * @example
 * const chain = createSessionChain()
 * const a = analyzeRequest({ url, body: turn1 })
 * const s1 = chain.assign(a.history, flowId1)          // { session_id: 'h3f…', matched: false }
 * chain.respond(a.history_hash!, s1.session_id, { texts: ['Hi!'], tool_calls: [] })
 * const b = analyzeRequest({ url, body: turn2 })       // turn1's messages + the answer + a new question
 * chain.assign(b.history, flowId2)                      // { session_id: 'h3f…', matched: true }
 */
export function createSessionChain(opts: SessionChainOptions = {}): SessionChain {
  const max = opts.maxEntries ?? 100_000
  if (!Number.isInteger(max) || max < 1) throw new SessionExtractorError('INVALID_OPTION', `createSessionChain: maxEntries must be a positive integer, received ${String(opts.maxEntries)}`)
  return new Chain(max)
}
