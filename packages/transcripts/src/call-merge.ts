import type { CallUsage, ModelCall } from '@agenttap/ledger'
import { isoMs } from './iso-time.js'

/**
 * The rule that makes a Claude Code call count once, with its final usage. Claude Code writes
 * one line per content block of a response, each with the same `message.id` + `requestId` and
 * a copy of the usage; the early lines carry the `output_tokens` counted so far (`stop_reason:
 * null`), the last one the final count. The same call can also be read in pieces: across the
 * lines of one file, across files (a resumed session copies earlier lines), across worker
 * threads and across index updates. Whatever the order, the merge keeps the usage of the line
 * that ended the response (a stop reason), else the largest output; text and tool calls of
 * every piece; the earliest start and the latest end.
 */

/** Rank of a piece's usage: a final line beats a partial one, then more output wins. */
export function usageRank(c: Pick<ModelCall, 'stop_reason' | 'usage'>): [number, number] {
  return [c.stop_reason !== undefined ? 1 : 0, c.usage?.output ?? -1]
}

/** Whether piece `a`'s usage beats piece `b`'s (ties go to `a`): the rule every merge of pieces uses. */
export function usageWins(a: Pick<ModelCall, 'stop_reason' | 'usage'>, b: Pick<ModelCall, 'stop_reason' | 'usage'>): boolean {
  const [x1, y1] = usageRank(a)
  const [x2, y2] = usageRank(b)
  return x1 !== x2 ? x1 > x2 : y1 >= y2
}

/** Merges two pieces of the same call (same key); see the module comment. Returns a new call. */
export function mergeCall(a: ModelCall, b: ModelCall): ModelCall {
  const first = a.started_at <= b.started_at ? a : b
  const best = usageWins(a, b) ? a : b
  const later = first === a ? b : a
  // A piece read twice (the same lines in a copied file) adds nothing.
  const join = (x: string, y: string): string => (y === '' || x.includes(y) ? x : x === '' || y.includes(x) ? y : `${x}\n\n${y}`)
  const text = join(first.text, later.text)
  const reasoning = join(first.reasoning, later.reasoning)
  const seen = new Set(first.tool_calls.map((t) => t.call_id))
  const tool_calls = [...first.tool_calls, ...later.tool_calls.filter((t) => !seen.has(t.call_id))].map((t, i) => ({ ...t, position: i }))
  const ended = [a.ended_at, b.ended_at].filter((x): x is string => x !== undefined).sort().pop()
  const prompt = first.prompt ?? later.prompt
  const out: ModelCall = {
    ...first,
    ...(prompt !== undefined ? { prompt } : {}),
    text,
    reasoning,
    tool_calls,
    ...(best.usage !== undefined ? { usage: best.usage } : {}),
    ...(best.stop_reason !== undefined ? { stop_reason: best.stop_reason } : {}),
    ...(ended !== undefined ? { ended_at: ended } : {}),
  }
  if (ended !== undefined) out.duration_ms = isoMs(ended) - isoMs(out.started_at)
  return out
}

/**
 * {@link mergeCall} in place, for the reader's own map of calls (the object is the reader's, made
 * by it for this key): one piece per content-block line, with no new objects per piece.
 * `duration_ms` is set by {@link settleCall} once every piece is in.
 */
export function absorbCall(acc: ModelCall, c: ModelCall): void {
  const bestIsNew = usageWins(c, acc)
  if (c.prompt !== undefined && (acc.prompt === undefined || c.started_at < acc.started_at)) acc.prompt = c.prompt
  if (c.started_at < acc.started_at) {
    // The earlier piece names the session (a resumed copy is read after the original).
    acc.session_id = c.session_id
    acc.started_at = c.started_at
    const t = acc.text
    acc.text = c.text
    if (t !== '' && !acc.text.includes(t)) acc.text = acc.text === '' ? t : `${acc.text}\n\n${t}`
    const r = acc.reasoning
    acc.reasoning = c.reasoning
    if (r !== '' && !acc.reasoning.includes(r)) acc.reasoning = acc.reasoning === '' ? r : `${acc.reasoning}\n\n${r}`
  } else {
    if (c.text !== '' && !acc.text.includes(c.text)) acc.text = acc.text === '' ? c.text : `${acc.text}\n\n${c.text}`
    if (c.reasoning !== '' && !acc.reasoning.includes(c.reasoning)) acc.reasoning = acc.reasoning === '' ? c.reasoning : `${acc.reasoning}\n\n${c.reasoning}`
  }
  for (const t of c.tool_calls) {
    if (!acc.tool_calls.some((x) => x.call_id === t.call_id)) acc.tool_calls.push({ ...t, position: acc.tool_calls.length })
  }
  if (c.ended_at !== undefined && (acc.ended_at === undefined || c.ended_at > acc.ended_at)) acc.ended_at = c.ended_at
  if (bestIsNew) {
    if (c.usage !== undefined) acc.usage = c.usage
    if (c.stop_reason !== undefined) acc.stop_reason = c.stop_reason
  }
}

/**
 * The usage facts of one call, as a usage summary keeps them (`@agenttap/extractors`' usage
 * sink): what {@link UsageCalls.facts} hands out, one reused object per call.
 */
export interface UsageFacts {
  key: string
  /** started_at */
  ts: string
  session_id: string
  agent: string | null
  source: string
  client: string
  model: string | null
  has_usage: boolean
  input: number
  cache_read: number
  cache_write_5m: number
  cache_write_1h: number
  output: number
  reasoning: number | null
  stop_reason: string | null
}

/** Columns per call in {@link UsageCalls.u}: input, cache_read, cache_write_5m, cache_write_1h, output, reasoning (-1: none). */
const U = 6

/**
 * The calls of a usage-only read (no text, reasoning or tool calls) as columns, merged piece by
 * piece by {@link absorbCall}'s rule: a call is a row of numbers and a few shared strings, not
 * an object per call (or per piece) kept alive until the read ends — the garbage collector then
 * has little to copy. {@link UsageCalls.facts} hands the rows to a usage sink without a call
 * object each; `rowCall` (claude.ts) builds a Claude row's call.
 */
export class UsageCalls {
  n = 0
  key: string[] = []
  id: string[] = []
  requestId: (string | undefined)[] = []
  source: string[] = []
  client: string[] = []
  session: string[] = []
  agent: (string | undefined)[] = []
  model: (string | undefined)[] = []
  stop: (string | undefined)[] = []
  started: string[] = []
  ended: string[] = []
  prompt: (string | undefined)[] = []
  /** {@link U} numbers a call: the usage of its winning piece. */
  u = new Float64Array(U * 256)

  /** A new call from its first piece; its row. */
  add(key: string, id: string, requestId: string | undefined, ts: string, session: string, agent: string | undefined, model: string | undefined, stop: string | undefined, usage: CallUsage, prompt: string | undefined): number {
    const i = this.n++
    if (U * this.n > this.u.length) {
      const u = new Float64Array(this.u.length * 2)
      u.set(this.u)
      this.u = u
    }
    this.key.push(key)
    this.id.push(id)
    this.requestId.push(requestId)
    this.source.push(CLAUDE_SOURCE_TAG)
    this.client.push(CLAUDE_CLIENT)
    this.session.push(session)
    this.agent.push(agent)
    this.model.push(model)
    this.stop.push(stop)
    this.started.push(ts)
    this.ended.push(ts)
    this.prompt.push(prompt)
    this.setUsage(i, usage)
    return i
  }

  /** A new call of another source and client (no response or request id, no stop reason) from its first piece; its row. */
  addOther(source: string, client: string, key: string, ts: string, session: string, agent: string | undefined, model: string | undefined, usage: CallUsage, prompt: string | undefined): number {
    const i = this.add(key, '', undefined, ts, session, agent, model, undefined, usage, prompt)
    this.source[i] = source
    this.client[i] = client
    return i
  }

  /** A whole call (read the slow way, or a Codex call) as a row; its row. */
  addCall(c: ModelCall): number {
    const i = this.add(c.key, c.response_id ?? '', c.request_id, c.started_at, c.session_id, c.agent, c.model ?? c.request?.model, c.stop_reason, c.usage ?? NO_USAGE, c.prompt)
    this.source[i] = c.source
    this.client[i] = c.client
    this.ended[i] = c.ended_at ?? c.started_at
    if (c.usage === undefined) this.u[U * i + 5] = Number.NaN
    return i
  }

  /**
   * Another whole call of row `i`'s key, by {@link mergeCall}'s rule (the row is `a`, the call
   * `b`): the earlier one's facts and stop reason unless the winner has one, the winning usage,
   * the latest end.
   */
  mergeCall(i: number, c: ModelCall): void {
    const hasUsage = !Number.isNaN(this.u[U * i + 5]!)
    const stop = this.stop[i]
    const rowWins = usageWins({ ...(stop !== undefined ? { stop_reason: stop } : {}), ...(hasUsage ? { usage: { ...NO_USAGE, output: this.output(i) } } : {}) }, c)
    const end = c.ended_at ?? c.started_at
    if (end > this.ended[i]!) this.ended[i] = end
    const cFirst = c.started_at < this.started[i]!
    if (cFirst) {
      this.id[i] = c.response_id ?? ''
      this.requestId[i] = c.request_id
      this.source[i] = c.source
      this.client[i] = c.client
      this.session[i] = c.session_id
      this.agent[i] = c.agent
      this.model[i] = c.model ?? c.request?.model
      this.started[i] = c.started_at
      this.prompt[i] = c.prompt ?? this.prompt[i]
    } else this.prompt[i] ??= c.prompt
    // The usage: the winner's, else (it has none) the first one's.
    const best = rowWins ? (hasUsage ? 'row' : cFirst ? 'call' : 'row') : c.usage !== undefined ? 'call' : cFirst ? 'call' : 'row'
    if (best === 'call') {
      this.setUsage(i, c.usage ?? NO_USAGE)
      if (c.usage === undefined) this.u[U * i + 5] = Number.NaN
    }
    // The stop reason: the winner's, else the first one's.
    const winnerStop = rowWins ? stop : c.stop_reason
    this.stop[i] = winnerStop ?? (cFirst ? c.stop_reason : stop)
  }

  private setUsage(i: number, usage: CallUsage): void {
    const u = this.u
    u[U * i] = usage.input
    u[U * i + 1] = usage.cache_read
    u[U * i + 2] = usage.cache_write_5m
    u[U * i + 3] = usage.cache_write_1h
    u[U * i + 4] = usage.output
    u[U * i + 5] = usage.reasoning ?? -1
  }

  /** The output count of row `i`'s winning piece. */
  output(i: number): number {
    return this.u[U * i + 4]!
  }

  /** Another piece of row `i`'s call: {@link absorbCall}'s rule, field by field. */
  absorb(i: number, ts: string, session: string, usage: CallUsage, stop: string | undefined, prompt: string | undefined): void {
    // usageWins(piece, call), ties to the piece.
    const x1 = stop !== undefined ? 1 : 0
    const x2 = this.stop[i] !== undefined ? 1 : 0
    const bestIsNew = x1 !== x2 ? x1 > x2 : usage.output >= this.u[U * i + 4]!
    if (prompt !== undefined && (this.prompt[i] === undefined || ts < this.started[i]!)) this.prompt[i] = prompt
    if (ts < this.started[i]!) {
      // The earlier piece names the session (a resumed copy is read after the original).
      this.session[i] = session
      this.started[i] = ts
    }
    if (ts > this.ended[i]!) this.ended[i] = ts
    if (bestIsNew) {
      this.setUsage(i, usage)
      if (stop !== undefined) this.stop[i] = stop
    }
  }

  /** Whether row `i`'s call has usage (a whole call read without any has NaN reasoning). */
  hasUsage(i: number): boolean {
    return !Number.isNaN(this.u[U * i + 5]!)
  }

  /** Whether row `i`'s winning usage has 1-hour cache writes. */
  cache1h(i: number): boolean {
    return this.u[U * i + 3]! > 0
  }

  /** The usage of row `i` (a new object). */
  usage(i: number): CallUsage {
    const u = this.u
    const out: CallUsage = { input: u[U * i]!, cache_read: u[U * i + 1]!, cache_write_5m: u[U * i + 2]!, cache_write_1h: u[U * i + 3]!, output: u[U * i + 4]! }
    if (u[U * i + 5]! >= 0) out.reasoning = u[U * i + 5]!
    return out
  }

  /**
   * The usage facts of every row, in order: one object, filled again for each row (read it
   * before taking the next).
   */
  *facts(): Generator<UsageFacts> {
    const f: UsageFacts = { key: '', ts: '', session_id: '', agent: null, source: '', client: '', model: null, has_usage: true, input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0, reasoning: null, stop_reason: null }
    const u = this.u
    for (let i = 0; i < this.n; i++) {
      f.key = this.key[i]!
      f.ts = this.started[i]!
      f.session_id = this.session[i]!
      f.agent = this.agent[i] ?? null
      f.source = this.source[i]!
      f.client = this.client[i]!
      f.model = this.model[i] ?? null
      const none = Number.isNaN(u[U * i + 5]!)
      f.has_usage = !none
      f.input = none ? 0 : u[U * i]!
      f.cache_read = none ? 0 : u[U * i + 1]!
      f.cache_write_5m = none ? 0 : u[U * i + 2]!
      f.cache_write_1h = none ? 0 : u[U * i + 3]!
      f.output = none ? 0 : u[U * i + 4]!
      f.reasoning = none || u[U * i + 5]! < 0 ? null : u[U * i + 5]!
      f.stop_reason = this.stop[i] ?? null
      yield f
    }
  }
}

const CLAUDE_SOURCE_TAG = 'claude-transcript'
const CLAUDE_CLIENT = 'claude-code'
const NO_USAGE: CallUsage = { input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 }

/** Sets what depends on every piece of a call (its duration). */
export function settleCall(c: ModelCall): void {
  // Most calls are one piece (or pieces of one instant): no dates to parse.
  if (c.ended_at === c.started_at) c.duration_ms = 0
  else if (c.ended_at !== undefined) c.duration_ms = isoMs(c.ended_at) - isoMs(c.started_at)
}
