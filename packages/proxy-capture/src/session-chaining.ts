/**
 * Sessions of requests that carry no session id of their own (SDK scripts), found by history as
 * the proxy captures them: session-extractor's `SessionChain` (the owner of "a request whose
 * history extends an earlier request's history belongs to that request's session"), one per
 * client, fed each request's history, then its answer or its failure. The id goes into the flow
 * record, so every reader of the capture (the web view, the monitor, analyze) sees one session
 * per conversation.
 */
import { createSessionChain, requestHistory, type SessionChain, type TurnToolCall } from '@agenttap/session-extractor'
import type { AgentEvent } from '@agenttap/stream-normalizer'
import { ProxyCaptureError } from './errors.js'

/** Options of {@link createCaptureSessions} (plain data: they cross to the capture thread). */
export interface SessionChainingOptions {
  /**
   * Histories remembered per client (a request's, and a request's plus its answer); the least
   * recently used are forgotten first.
   * @defaultValue 10000
   */
  maxEntries?: number
  /**
   * Clients (client address and detected client) with a chain of their own; the one seen least
   * recently is forgotten first.
   * @defaultValue 16
   */
  maxClients?: number
  /**
   * Characters of answer text kept per flow to remember its answer. A longer answer is not
   * remembered; the next turn still joins the session by the request's history alone.
   * @defaultValue 1000000
   */
  maxTurnChars?: number
}

/** The request of a flow, as the chain reads it. */
export interface ChainedRequest {
  url: string
  /** The parsed request body (or its text / bytes). */
  body: unknown
  clientIp?: string
  client: string
  provider: string
}

/** A flow whose session came from the chain: it is told the flow's answer or failure. */
export interface ChainedFlow {
  readonly sessionId: string
  /** An event of the flow's response (stream-normalizer's): text, tool calls, its end, an error. */
  event(e: AgentEvent): void
  /** The request got no answer (HTTP ≥ 400, an error event): the same request again is its retry. */
  fail(): void
}

/** The proxy's session chains, one per client. */
export interface CaptureSessions {
  /**
   * The chained session of a request that carries no session id of its own, or `undefined` when
   * it has no history to chain by (not a model request, an empty or unreadable body).
   *
   * @param flowId - the flow's id: what a new session id is made from (like the ledger's chain)
   */
  assign(flowId: string, req: ChainedRequest): ChainedFlow | undefined
  /** Chains kept (clients seen recently). */
  readonly clients: number
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (!Number.isInteger(v) || v < 1) throw new ProxyCaptureError('INVALID_OPTION', `sessionChain.${name} must be a positive integer, received ${String(v)}`)
  return v
}

/**
 * The limits of {@link SessionChainingOptions}, defaults filled in. The proxy checks them where
 * it is created (the capture thread would only fail later).
 * @throws ProxyCaptureError `INVALID_OPTION` for a limit that is not a positive integer
 */
export function sessionChainLimits(opts: SessionChainingOptions): Required<SessionChainingOptions> {
  return {
    maxEntries: positiveInt('maxEntries', opts.maxEntries, 10_000),
    maxClients: positiveInt('maxClients', opts.maxClients, 16),
    maxTurnChars: positiveInt('maxTurnChars', opts.maxTurnChars, 1_000_000),
  }
}

/** Key of a tool call across its start and end events (the ledger's: the item, else the call id, else the index). */
const toolKey = (e: { index?: number; item_id?: string; call_id?: string }): string => e.item_id ?? e.call_id ?? `#${e.index ?? ''}`

class Flow implements ChainedFlow {
  private texts: string[] = []
  private chars = 0
  private overflow = false
  private readonly calls: TurnToolCall[] = []
  private readonly open = new Map<string, TurnToolCall>()
  /** Told the chain already (its answer or its failure): later events change nothing. */
  private done = false

  constructor(
    private readonly chain: SessionChain,
    private readonly historyHash: string,
    readonly sessionId: string,
    private readonly maxChars: number,
  ) {}

  event(e: AgentEvent): void {
    if (this.done) return
    switch (e.type) {
      case 'text_delta':
        if (this.overflow) return
        if (this.chars + e.text.length > this.maxChars) {
          this.overflow = true
          this.texts = []
          return
        }
        this.texts.push(e.text)
        this.chars += e.text.length
        return
      case 'tool_call_start': {
        // Server-side and MCP calls are left out of the turn: the client does not send them back the same way.
        if (e.kind === 'server' || e.server !== undefined) return
        const c: TurnToolCall = { call_id: e.call_id ?? e.item_id ?? '', name: e.name, arguments: '' }
        this.calls.push(c)
        this.open.set(toolKey(e), c)
        return
      }
      case 'tool_call_end': {
        if (e.kind === 'server' || e.server !== undefined) return
        const key = toolKey(e)
        let c = this.open.get(key)
        if (c === undefined) {
          c = { call_id: '', name: e.name, arguments: '' }
          this.calls.push(c)
        }
        this.open.delete(key)
        const call = c as { call_id: string; name: string; arguments: unknown }
        if (e.call_id !== undefined) call.call_id = e.call_id
        if (e.name !== '') call.name = e.name
        call.arguments = e.arguments
        return
      }
      case 'error':
        this.fail()
        return
      case 'message_end':
        if (e.incomplete === true) return
        this.done = true
        if (!this.overflow) this.chain.respond(this.historyHash, this.sessionId, { texts: this.texts, tool_calls: this.calls })
        this.texts = []
        return
      default:
    }
  }

  fail(): void {
    if (this.done) return
    this.done = true
    this.texts = []
    this.chain.failed(this.historyHash, this.sessionId)
  }
}

/**
 * Creates the proxy's session chains. Requests are fed in the order their flow records are
 * written (the capture's order), as the ledger's chain reads them later.
 *
 * @example
 * const sessions = createCaptureSessions()
 * const c = sessions.assign(flowId, { url, body, clientIp, client: 'unknown', provider: 'anthropic' })
 * record.session_id = c?.sessionId ?? info.sessionId // `h…`, the same for every turn of the conversation
 */
export function createCaptureSessions(opts: SessionChainingOptions = {}): CaptureSessions {
  const { maxEntries, maxClients, maxTurnChars: maxChars } = sessionChainLimits(opts)
  const chains = new Map<string, SessionChain>()

  function chainOf(key: string): SessionChain {
    let chain = chains.get(key)
    // Map order is insertion order: deleting first moves the key to the most-recent end.
    if (chain !== undefined) chains.delete(key)
    else chain = createSessionChain({ maxEntries })
    chains.set(key, chain)
    if (chains.size > maxClients) {
      const oldest = chains.keys().next().value
      if (oldest !== undefined) chains.delete(oldest)
    }
    return chain
  }

  return {
    assign(flowId, req) {
      if (req.body === undefined || (!isObj(req.body) && typeof req.body !== 'string')) return undefined
      const history = requestHistory({ url: req.url, body: req.body, client: req.client, provider: req.provider })
      const last = history[history.length - 1]
      if (last === undefined) return undefined
      const chain = chainOf(`${req.clientIp ?? ''}\n${req.client}`)
      const { session_id } = chain.assign(history, flowId)
      return new Flow(chain, last, session_id, maxChars)
    },
    get clients() {
      return chains.size
    },
  }
}
