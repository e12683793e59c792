import { SCHEMA_VERSION } from '@agenttap/jsonl-io'
import { createSessionChain, type RequestAnatomy, type SessionChain } from '@agenttap/session-extractor'
import { LedgerError, type LedgerErrorCode } from './errors.js'
import { createStreamNormalizer, type AgentEvent, type NormalizerError, type StreamNormalizer } from '@agenttap/stream-normalizer'
import { FlowAssembler, type AnyRecord, type FlowContext } from './flow-assembler.js'
import { createTelemetryJoin } from './telemetry-join.js'
import type { FlowFacts, LedgerContent, ModelCall, TelemetryFact } from './types.js'

/** Where a record was read from, for error reports (the ledger itself reads nothing). */
export interface RecordLocation {
  /** File the record came from. */
  file?: string
  /** 1-based line number in `file`. */
  line?: number
  /** Byte offset of the line in `file`. */
  offset?: number
}

/** Options of {@link createLedger}. */
export interface LedgerOptions {
  /** Receives each model call as soon as its response ended (a WebSocket flow gives one per response while it is open). */
  onCall(call: ModelCall): void
  /** Receives each flow's facts when the flow ends (or at `end()` for flows still open). */
  onFlow?(flow: FlowFacts): void
  /** Receives each piece of request content (system prompt, tool definition, tool list) once per distinct hash. */
  onContent?(content: LedgerContent): void
  /** Receives bad-input reports; nothing is thrown for bad input. */
  onError?(error: LedgerError): void
  /**
   * Receives what the agents' own telemetry (`telemetry` records with `signal: "log"`) says, joined
   * to the model calls it names (by request id or tool call id; a fact waits, bounded, for a call not
   * seen yet). Without it, `telemetry` records are ignored.
   */
  onTelemetry?(fact: TelemetryFact): void
  /**
   * Finds the session of flows whose `session_source` is `derived` (no session id of their own)
   * by their history; `false` keeps the derived ids. Share one chain between ledgers that see the
   * same clients' flows (it must see them in the order they were sent).
   * @defaultValue a new `createSessionChain()`
   */
  sessionChain?: SessionChain | false
  /**
   * Records kept while they wait for their flow's `flow` record (all flows together). Over it, the
   * flow waiting longest is assembled without its flow record (reported as `PENDING_LIMIT`).
   * @defaultValue 200000
   */
  maxPendingRecords?: number
  /**
   * Flows open at once. Over it, the oldest is closed as `open` (reported as `OPEN_FLOWS_LIMIT`).
   * @defaultValue 100000
   */
  maxOpenFlows?: number
  /** Characters of text and reasoning kept per call. @defaultValue 16777216 */
  maxCallChars?: number
  /** Distinct content hashes remembered, so content is emitted once. @defaultValue 100000 */
  maxContentHashes?: number
  /**
   * Also emit each request cache segment's JSON as `LedgerContent` of kind `segment` (once per
   * hash), to show how two requests diverge. Off by default: it is most of a capture's bytes.
   * @defaultValue false
   */
  segmentTexts?: boolean
  /** WebSocket calls of one flow that may wait for their request (older captures' loose client frames). @defaultValue 1024 */
  maxHeldCalls?: number
  /**
   * What is read of each request: `'all'`, or `'call'` — what a live view's end line needs (kind,
   * api, model, settings, tool names), without the prompt, tool results, content and
   * fingerprints (calls then carry no `prompt`, no `tool_results`, no hashes; no content is
   * emitted; flows without a session id keep their derived ids). @defaultValue 'all'
   */
  requestFacts?: 'all' | 'call'
  /**
   * Keep each response's text, reasoning and tool calls on its call. `false`: only what a live
   * view's end line needs — calls carry `text: ''`, `reasoning: ''`, `tool_calls: []` (their
   * outcome, usage, model, times, status and errors are the same). @defaultValue true
   */
  callText?: boolean
}

/** Options of {@link Ledger.normalizer}. */
export interface SharedNormalizerOptions {
  /** What the flow record said (as `createStreamNormalizer`'s `flow`). */
  flow?: { url?: string; provider?: string; client?: string }
  /** Each event, after the ledger took it. */
  onEvent(e: AgentEvent): void
  /** Malformed stream data (the ledger does not report what the caller is told here). */
  onError?(e: NormalizerError): void
  /** Tool-argument fragments as events (a view renders them; the ledger takes the joined arguments). @defaultValue true */
  toolArgDeltas?: boolean
}

/** A streaming ledger: canonical records in, model calls, flow facts and request content out. */
export interface Ledger {
  /**
   * Feeds one canonical record: `flow`, `sse`, `client_frame` or `flow_end` (`telemetry` with
   * `onTelemetry`; other types are ignored), of any flow, in any order between flows; within a flow, `sse` and `client_frame`
   * records in `seq` order. A flow's `sse` / `client_frame` / `flow_end` records may come before
   * its `flow` record (they wait for it), and its `flow_end` before some of its `sse` records (it
   * waits for the `events` it announces).
   *
   * @param record - a parsed record
   * @param at - where it was read, put on any error this record causes
   */
  feed(record: unknown, at?: RecordLocation): void
  /**
   * Ends the input: flows still open emit their calls and facts with outcome `open` (an index
   * keeps those pending and feeds the flow again later); records whose flow record never came are
   * assembled without it (reported as `MISSING_FLOW`). The ledger can then be fed again.
   */
  end(): void
  /**
   * A stream normalizer for a flow, shared with the ledger: for a caller that decodes the flow's
   * stream anyway (a live view renders its events), so each `sse` record is decoded once. The
   * caller feeds the flow's `sse` records to the ledger (`feed`) first, then to this normalizer;
   * each event it gives goes to the ledger before `onEvent`. The ledger ends the normalizer when
   * the flow ends (its flushed events reach `onEvent` too); ending it again does nothing. Asked
   * again for the same flow, it returns the same normalizer.
   *
   * @param flow_id - the flow
   * @param opts - how the caller's normalizer is made (flow hints) and where its events and errors go
   */
  normalizer(flow_id: string, opts: SharedNormalizerOptions): StreamNormalizer
  /**
   * Ends one flow now, as {@link Ledger.end} ends every flow (still open: its calls and facts say
   * `open`; without its flow record: `MISSING_FLOW`). Nothing happens for a flow not open.
   */
  endFlow(flow_id: string): void
  /** Forgets everything: open flows, remembered content hashes, the session chain it made. */
  reset(): void
  /** Flows started and not yet ended. */
  readonly openFlows: number
  /** Records waiting for their flow record. */
  readonly pendingRecords: number
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSseRecord = (r: unknown): r is AnyRecord & { flow_id: string } =>
  typeof r === 'object' && r !== null && (r as AnyRecord)['type'] === 'sse' && typeof (r as AnyRecord)['flow_id'] === 'string'

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (!Number.isInteger(v) || v < 1) throw new LedgerError('INVALID_OPTION', `createLedger: ${name} must be a positive integer, received ${String(v)}`)
  return v
}

/** A bounded set: the least recently added entries are forgotten first. */
class RecentSet {
  private readonly set = new Set<string>()
  constructor(private readonly max: number) {}
  /** Adds `key`; true when it was not there. */
  add(key: string): boolean {
    if (this.set.has(key)) return false
    this.set.add(key)
    if (this.set.size > this.max) {
      const oldest = this.set.values().next().value
      if (oldest !== undefined) this.set.delete(oldest)
    }
    return true
  }
  has(key: string): boolean {
    return this.set.has(key)
  }
  clear(): void {
    this.set.clear()
  }
}

/**
 * Creates a ledger: the one place capture records become model calls. Responses are decoded by
 * `@agenttap/stream-normalizer`, requests by `@agenttap/session-extractor`; the ledger assembles
 * one {@link ModelCall} per model response (a Codex WebSocket flow holds many), one
 * {@link FlowFacts} per flow, and each piece of request content once. Pure: no I/O.
 *
 * Bodies stored out of line are the caller's to resolve: a flow's `request_body` or a flow_end's
 * `body` of the form `{"$ref": …}` (read it with jsonl-io's `readRawRef`, parse it, set it on the
 * record before `feed`), a client_frame's `data_ref` (set its text as `data`), and an older capture's `flow_end.client_frames` file (feed each of its
 * lines as `{ type: 'client_frame', flow_id, data }` without a `seq`, before the flow_end: the
 * k-th such frame is the request of the flow's response k+1).
 *
 * @example
 * ```ts
 * import { createLedger } from '@agenttap/ledger'
 * import { readJsonl } from '@agenttap/jsonl-io'
 *
 * const ledger = createLedger({
 *   onCall: (c) => console.log(c.key, c.outcome, c.usage, c.prompt),
 *   onError: (e) => console.error(e.code, e.message),
 * })
 * for (const file of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'])
 *   for await (const item of readJsonl(`${dir}/${file}`)) if ('record' in item) ledger.feed(item.record, { file, line: item.line })
 * ledger.end()
 * ```
 */
export function createLedger(opts: LedgerOptions): Ledger {
  if (!isObj(opts) || typeof opts.onCall !== 'function') throw new LedgerError('INVALID_OPTION', 'createLedger: expected options with an onCall function')
  const maxPending = positiveInt('maxPendingRecords', opts.maxPendingRecords, 200_000)
  const maxOpen = positiveInt('maxOpenFlows', opts.maxOpenFlows, 100_000)
  const maxCallChars = positiveInt('maxCallChars', opts.maxCallChars, 16 * 1024 * 1024)
  const maxHeldCalls = positiveInt('maxHeldCalls', opts.maxHeldCalls, 1024)
  const maxHashes = positiveInt('maxContentHashes', opts.maxContentHashes, 100_000)
  const ownChain = opts.sessionChain === undefined
  const chain = opts.sessionChain === false ? undefined : (opts.sessionChain ?? createSessionChain())
  const { onCall, onFlow, onContent, onError, onTelemetry } = opts
  let join = onTelemetry ? createTelemetryJoin({ onFact: onTelemetry }) : undefined

  let flows = new Map<string, FlowAssembler>()
  /** Flows with records waiting for their flow record, oldest first. */
  let waiting = new Map<string, FlowAssembler>()
  let pending = 0
  const contentSeen = new RecentSet(maxHashes)
  /** Flows already ended: late duplicates of their records (an at-least-once bus) are ignored. */
  const done = new RecentSet(maxOpen)
  let at: RecordLocation | undefined

  function error(code: LedgerErrorCode, message: string, where: { flow_id?: string | undefined; seq?: number | undefined; excerpt?: string | undefined; cause?: unknown }): void {
    if (onError === undefined) return
    const loc = at === undefined ? '' : `${at.file ?? 'input'}${at.line === undefined ? '' : `:${at.line}`}${at.offset === undefined ? '' : ` (byte ${at.offset})`}: `
    onError(new LedgerError(code, `${loc}${message}`, { ...where, file: at?.file, line: at?.line, offset: at?.offset }))
  }

  function content(a: RequestAnatomy): void {
    if (onContent === undefined) return
    if (a.system !== undefined && contentSeen.add(a.system.hash)) onContent({ kind: 'system', hash: a.system.hash, text: a.system.text })
    for (const t of a.tools) {
      if (!contentSeen.add(t.hash)) continue
      const c: LedgerContent = { kind: 'tool', hash: t.hash, name: t.name, tool_kind: t.tool_kind }
      if (t.description !== undefined) c.description = t.description
      if (t.schema !== undefined) c.schema = t.schema
      onContent(c)
    }
    if (a.tools_hash !== undefined && contentSeen.add(a.tools_hash)) onContent({ kind: 'tools', hash: a.tools_hash, tool_hashes: a.tools.map((t) => t.hash) })
    if (a.segment_texts !== undefined) {
      a.segments.forEach((s, i) => {
        const text = a.segment_texts?.[i]
        if (text !== undefined && contentSeen.add(`segment:${s.hash}`)) onContent({ kind: 'segment', hash: s.hash, text })
      })
    }
  }

  const ctx: FlowContext = {
    emitCall: join
      ? (c) => {
          join?.call(c)
          onCall(c)
        }
      : onCall,
    emitFlow: onFlow,
    content,
    error,
    chain,
    maxCallChars,
    callText: opts.callText !== false,
    maxHeldCalls,
    segmentTexts: opts.segmentTexts === true,
    requestFacts: opts.requestFacts === 'call' ? 'call' : 'all',
  }

  /** Starts a flow whose flow record did not come, from what its own records say. */
  function startWithout(st: FlowAssembler): void {
    const first = st.pending?.[0]
    const session = typeof first?.['session_id'] === 'string' ? first['session_id'] : undefined
    pending -= st.waiting
    waiting.delete(st.flow_id)
    st.start(undefined, session)
  }

  function settle(st: FlowAssembler): void {
    if (!st.finished) return
    flows.delete(st.flow_id)
    done.add(st.flow_id)
  }

  function closeOldest(): void {
    const oldest = flows.values().next().value
    if (oldest === undefined) return
    error('OPEN_FLOWS_LIMIT', `more than maxOpenFlows (${maxOpen}) flows open at once; flow ${oldest.flow_id} is closed as open (raise maxOpenFlows if the capture has that many concurrent flows)`, { flow_id: oldest.flow_id })
    if (!oldest.started) startWithout(oldest)
    oldest.finish(!oldest.hasEnd)
    settle(oldest)
    flows.delete(oldest.flow_id)
  }

  /** Ends a flow taken out of `flows` (see end()). */
  function endOne(st: FlowAssembler): void {
    if (!st.started) {
      // Reported where the flow's first record was read.
      at = st.firstAt
      error('MISSING_FLOW', `flow ${st.flow_id}: ${st.waiting} record(s) but no flow record; assembled without what the request said (its start is its earliest record's time)`, { flow_id: st.flow_id })
      at = undefined
      st.start(undefined, typeof st.pending?.[0]?.['session_id'] === 'string' ? (st.pending[0]['session_id'] as string) : undefined)
    }
    if (!st.finished) st.finish(!st.hasEnd)
  }

  return {
    feed(record, where) {
      // The live path: an sse record of a flow that started (most records). What the full path
      // below checks first is true for it once `flows` holds a started flow under its flow_id.
      if (where === undefined && isSseRecord(record)) {
        const st = flows.get(record.flow_id)
        if (st !== undefined && st.started) {
          const v = record['v']
          if (typeof v === 'number' && v > SCHEMA_VERSION) st.newer(v)
          st.record(record)
          settle(st)
          return
        }
      }
      at = where
      try {
        if (!isObj(record)) {
          error('INVALID_RECORD', `expected a record object, got ${record === null ? 'null' : Array.isArray(record) ? 'an array' : typeof record}; skipped`, {})
          return
        }
        const type = record['type']
        if (type === 'telemetry') {
          join?.telemetry(record)
          return
        }
        if (type !== 'flow' && type !== 'sse' && type !== 'client_frame' && type !== 'flow_end') {
          if (typeof type !== 'string') error('INVALID_RECORD', `record without a string type (got ${typeof type}); skipped`, {})
          return
        }
        const flow_id = record['flow_id']
        if (typeof flow_id !== 'string' || flow_id === '') {
          error('INVALID_RECORD', `${type} record without a flow_id; skipped`, { seq: typeof record['seq'] === 'number' ? record['seq'] : undefined })
          return
        }
        let st = flows.get(flow_id)
        if (st === undefined) {
          if (done.has(flow_id)) return
          st = new FlowAssembler(flow_id, ctx)
          flows.set(flow_id, st)
          if (flows.size > maxOpen) closeOldest()
        }
        const v = record['v']
        if (typeof v === 'number' && v > SCHEMA_VERSION) st.newer(v)
        const r = record as AnyRecord
        if (type === 'flow') {
          if (st.started) return // a duplicate flow record (or one that came after the flow was assembled without it)
          pending -= st.waiting
          waiting.delete(flow_id)
          st.start(r, undefined)
        } else if (!st.started) {
          if (st.waiting === 0 && where !== undefined) st.firstAt = { ...(where.file !== undefined ? { file: where.file } : {}), ...(where.line !== undefined ? { line: where.line } : {}), ...(where.offset !== undefined ? { offset: where.offset } : {}) }
          ;(st.pending as AnyRecord[]).push(r)
          pending++
          if (!waiting.has(flow_id)) waiting.set(flow_id, st)
          if (pending > maxPending) {
            const oldest = waiting.values().next().value as FlowAssembler
            at = oldest.firstAt ?? where
            error('PENDING_LIMIT', `more than maxPendingRecords (${maxPending}) records wait for their flow record; flow ${oldest.flow_id} is assembled without it (feed sse_flows.jsonl first, or raise maxPendingRecords)`, { flow_id: oldest.flow_id })
            at = where
            startWithout(oldest)
            settle(oldest)
          }
        } else {
          st.record(r)
        }
        settle(st)
      } finally {
        at = undefined
      }
    },
    end() {
      const all = [...flows.values()]
      flows = new Map()
      waiting = new Map()
      pending = 0
      for (const st of all) endOne(st)
      join?.end()
    },
    endFlow(flow_id) {
      const st = flows.get(flow_id)
      if (st === undefined) return
      flows.delete(flow_id)
      if (!st.started) {
        pending -= st.waiting
        waiting.delete(flow_id)
      }
      endOne(st)
      done.add(flow_id)
    },
    normalizer(flow_id, o) {
      let st = flows.get(flow_id)
      if (st === undefined && !done.has(flow_id) && typeof flow_id === 'string' && flow_id !== '') {
        st = new FlowAssembler(flow_id, ctx)
        flows.set(flow_id, st)
        if (flows.size > maxOpen) closeOldest()
      }
      const existing = st?.sharedNormalizer
      if (existing !== undefined) return existing
      const target = st
      const n = createStreamNormalizer({
        flow_id,
        ...(o.flow !== undefined ? { flow: o.flow } : {}),
        ...(o.toolArgDeltas !== undefined ? { toolArgDeltas: o.toolArgDeltas } : {}),
        onEvent: (e) => {
          target?.external(e)
          o.onEvent(e)
        },
        ...(o.onError !== undefined ? { onError: o.onError } : {}),
      })
      target?.share(n)
      return n
    },
    reset() {
      join = onTelemetry ? createTelemetryJoin({ onFact: onTelemetry }) : undefined
      flows = new Map()
      waiting = new Map()
      pending = 0
      contentSeen.clear()
      done.clear()
      if (ownChain) chain?.reset()
    },
    get openFlows() {
      return flows.size
    },
    get pendingRecords() {
      return pending
    },
  }
}
