import { LEDGER_VERSION } from '@agenttap/ledger/pricing'
import type { CallUsage, CompactionEvent, LedgerToolCall, ModelCall } from '@agenttap/ledger'
import { redactText } from '@agenttap/session-extractor/redact'
import { normalizeUsage, rateLimitHeaders, readCodexRateLimits } from '@agenttap/stream-normalizer/usage'
import { isoMs } from './iso-time.js'
import { compilePick, PICKED, pickJson } from './json-pick.js'
import { findIn } from './read-lines.js'
import type { CodexFileState, RawCodexUsage, TranscriptFile, TrapCounts } from './types.js'

/**
 * Codex rollouts (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`): lines
 * `{"timestamp","type","payload"}` with `type` `session_meta`, `turn_context`, `response_item`,
 * `event_msg`, `compacted`. Usage comes from `event_msg` `token_count`, whose
 * `info.total_token_usage` is cumulative per thread and is written again without change
 * (re-emits); `last_token_usage` repeats with it. So a call is a *delta* of the cumulative
 * totals, and a token_count that does not move them is no call.
 *
 * A forked or spawned thread (`session_meta.forked_from_id`, or
 * `source.subagent.thread_spawn.parent_thread_id`) starts by copying its parent's history —
 * the ancestors' session_metas and the parent's items and events, re-stamped within a moment
 * of the fork. That replay is not new usage: its token_counts only set the baseline the
 * child's own deltas are taken from. It ends at the first line stamped more than
 * {@link REPLAY_WINDOW_MS} after the fork.
 *
 * OpenAI's `input_tokens` include `cached_input_tokens` and `output_tokens` include
 * `reasoning_output_tokens`: stream-normalizer's `normalizeUsage` takes them apart once.
 */

/** Raw needles of the lines worth parsing. */
export const CODEX_NEEDLES = [
  Buffer.from('"token_count"'),
  Buffer.from('"session_meta"'),
  Buffer.from('"turn_context"'),
  Buffer.from('"compacted"'),
  Buffer.from('"context_compacted"'),
  Buffer.from('"function_call"'),
  Buffer.from('"custom_tool_call"'),
  Buffer.from('"local_shell_call"'),
  Buffer.from('"user_message"'),
]

/**
 * Needles of a usage-only read: the lines that move a call's usage, model or session (tool
 * calls, prompts and compactions are not read; a fork's replay ends on the timestamp of the next
 * line read, which a token_count is, so the calls are the same).
 */
export const CODEX_USAGE_NEEDLES = [Buffer.from('"token_count"'), Buffer.from('"session_meta"'), Buffer.from('"turn_context"')]

const HEAD = 160
const TYPE_KEY = [Buffer.from('"type":')]
const PAYLOAD_TYPE = [Buffer.from('"payload":{"type":')]

/**
 * codex-rs writes `{"timestamp","type","payload":{"type",…}}` in that order: a line laid out so
 * is decided by its two types (the line's and its payload's), read in place; another layout by
 * the needles in its first bytes (a line laid out otherwise still is searched whole).
 */
export function classifyCodexLine(buf: Buffer, start: number, end: number, needles: Buffer[] = CODEX_NEEDLES): boolean | undefined {
  const byTypes = classifyByTypes(buf, start, end, needles)
  if (byTypes !== undefined) return byTypes
  const head = Math.min(end, start + HEAD)
  if (findIn(buf, start, head, TYPE_KEY) === -1) return undefined
  if (findIn(buf, start, head, needles) !== -1) return true
  // A payload type further in (a long timestamp or id first): search the whole line.
  return findIn(buf, start, head, PAYLOAD_TYPE) !== -1 ? false : undefined
}

const TIMESTAMP_OPEN = Buffer.from('{"timestamp":"')
const TYPE_OPEN = Buffer.from(',"type":"')
const PAYLOAD_OPEN = Buffer.from(',"payload":{"type":"')

/** Whether `pat` is at `buf[i]` (inside `end`). */
function at(buf: Buffer, i: number, end: number, pat: Buffer): boolean {
  if (i + pat.length > end) return false
  for (let j = 0; j < pat.length; j++) if (buf[i + j] !== pat[j]) return false
  return true
}

/** The end of a plain string's text from `i` (its closing quote), or -1 (an escape, a control byte, the line's end). */
function plainEnd(buf: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = buf[i]!
    if (c === 0x22) return i
    if (c === 0x5c || c < 0x20) return -1
  }
  return -1
}

/** Whether the quoted text `buf[s - 1, e + 1)` is one of the needles. */
function isNeedle(buf: Buffer, s: number, e: number, needles: Buffer[]): boolean {
  for (const n of needles) if (n.length === e - s + 2 && at(buf, s - 1, e + 1, n)) return true
  return false
}

/**
 * A line laid out as codex-rs writes it, decided by its types: taken when the line's type or its
 * payload's is one of the needles, skipped otherwise; undefined when laid out otherwise.
 */
function classifyByTypes(buf: Buffer, start: number, end: number, needles: Buffer[]): boolean | undefined {
  if (!at(buf, start, end, TIMESTAMP_OPEN)) return undefined
  const tsEnd = plainEnd(buf, start + TIMESTAMP_OPEN.length, end)
  if (tsEnd === -1 || !at(buf, tsEnd + 1, end, TYPE_OPEN)) return undefined
  const t0 = tsEnd + 1 + TYPE_OPEN.length
  const t1 = plainEnd(buf, t0, end)
  if (t1 === -1) return undefined
  if (isNeedle(buf, t0, t1, needles)) return true
  if (!at(buf, t1 + 1, end, PAYLOAD_OPEN)) return undefined
  const p0 = t1 + 1 + PAYLOAD_OPEN.length
  const p1 = plainEnd(buf, p0, end)
  if (p1 === -1) return undefined
  return isNeedle(buf, p0, p1, needles)
}

/** {@link classifyCodexLine} for a usage-only read. */
export function classifyCodexUsageLine(buf: Buffer, start: number, end: number): boolean | undefined {
  return classifyCodexLine(buf, start, end, CODEX_USAGE_NEEDLES)
}

/** Source tag of the calls. */
export const CODEX_SOURCE = 'codex-rollout' as const

/** A fork's replayed lines are stamped within this long of its session_meta. */
export const REPLAY_WINDOW_MS = 1000

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined)
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0)

function rawUsage(v: unknown): RawCodexUsage | undefined {
  const u = obj(v)
  if (u === undefined) return undefined
  return rawCounts(u.input_tokens, u.cached_input_tokens, u.cache_read_input_tokens, u.output_tokens, u.reasoning_output_tokens, u.total_tokens)
}

/** The counts of a usage object from its fields' values (`cache_read_input_tokens`: when `cached_input_tokens` is missing or null). */
function rawCounts(input_tokens: unknown, cached_input_tokens: unknown, cache_read_input_tokens: unknown, output_tokens: unknown, reasoning_output_tokens: unknown, total_tokens: unknown): RawCodexUsage {
  const input = num(input_tokens)
  const output = num(output_tokens)
  return {
    input_tokens: input,
    cached_input_tokens: num(cached_input_tokens ?? cache_read_input_tokens),
    output_tokens: output,
    reasoning_output_tokens: num(reasoning_output_tokens),
    total_tokens: num(total_tokens) || input + output,
  }
}

// The counts field by field, not by a list of their names: a property read or write by a
// name that changes (\`total[f]\`) goes through V8's megamorphic keyed lookup, on every line.
/** Whether a count of \`a\` is below \`b\`'s (a counter that started over). */
const anyBelow = (a: RawCodexUsage, b: RawCodexUsage): boolean =>
  a.input_tokens < b.input_tokens || a.cached_input_tokens < b.cached_input_tokens || a.output_tokens < b.output_tokens || a.reasoning_output_tokens < b.reasoning_output_tokens || a.total_tokens < b.total_tokens
/** \`a\` − \`b\`, count by count. */
const minus = (a: RawCodexUsage, b: RawCodexUsage): RawCodexUsage => ({
  input_tokens: a.input_tokens - b.input_tokens,
  cached_input_tokens: a.cached_input_tokens - b.cached_input_tokens,
  output_tokens: a.output_tokens - b.output_tokens,
  reasoning_output_tokens: a.reasoning_output_tokens - b.reasoning_output_tokens,
  total_tokens: a.total_tokens - b.total_tokens,
})
const allZero = (a: RawCodexUsage): boolean => a.input_tokens === 0 && a.cached_input_tokens === 0 && a.output_tokens === 0 && a.reasoning_output_tokens === 0 && a.total_tokens === 0

/**
 * Rate limits of a token_count, named like the `x-codex-*` response headers of the wire: the
 * snapshot is decoded by stream-normalizer (the owner of Codex's rate-limit shape, in the stream
 * and in rollouts alike), and only its windows are kept here.
 */
function rateLimits(v: unknown): Record<string, string> | undefined {
  const rl = obj(v)
  if (rl === undefined) return undefined
  const e = readCodexRateLimits(rl, '', 'openai-responses')
  if (e === undefined) return undefined
  const out = rateLimitHeaders({ limit_id: 'codex', ...(e.primary !== undefined ? { primary: e.primary } : {}), ...(e.secondary !== undefined ? { secondary: e.secondary } : {}) })
  return Object.keys(out).length > 0 ? out : undefined
}

/** What a line gave. */
export type CodexLine =
  | { kind: 'call'; call: ModelCall }
  | { kind: 'compaction'; event: CompactionEvent }
  | { kind: 'none' }
  | { kind: 'bad'; message: string }

/** The session of a rollout whose session_meta was not read: the uuid at the end of its name. */
function sessionFromName(path: string): string | undefined {
  return /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(path)?.[1]
}

/** A fork's replay ends at the first line stamped (`tms`, ms; NaN: no time) past its window. */
function endReplay(st: CodexFileState, tms: number): void {
  if (st.replay && Number.isFinite(tms) && st.fork_at_ms !== undefined && tms > st.fork_at_ms + REPLAY_WINDOW_MS) st.replay = false
}

/**
 * Reads one parsed rollout line, updating the file's state (kept between reads: rollouts are
 * append-only and an index reads only what was appended); see the module comment. `usageOnly`:
 * the call's rate limits are not read (a usage-only read's calls carry none).
 */
export function readCodexLine(rec: unknown, file: TranscriptFile, st: CodexFileState, line: number, traps: TrapCounts, usageOnly = false): CodexLine {
  const r = obj(rec)
  if (r === undefined) return { kind: 'bad', message: 'not a JSON object' }
  const ts = str(r.timestamp)
  const p = obj(r.payload) ?? {}
  const tms = ts !== undefined ? isoMs(ts) : NaN
  endReplay(st, tms)
  switch (r.type) {
    case 'session_meta': {
      if (st.session_id === undefined) {
        // The first session_meta is the thread's own; later ones are its ancestors' (a fork's replay).
        st.session_id = str(p.id) ?? str(p.session_id) ?? sessionFromName(file.path)
        const spawn = obj(obj(obj(p.source)?.subagent)?.thread_spawn)
        const sub = obj(p.source)?.subagent
        if (spawn !== undefined || sub !== undefined) st.agent = str(spawn?.agent_role) ?? (typeof sub === 'string' ? sub : 'subagent')
        if (str(p.forked_from_id) !== undefined || str(spawn?.parent_thread_id) !== undefined) {
          st.forked = true
          st.replay = true
          st.agent ??= 'fork'
          st.fork_at_ms = Number.isFinite(tms) ? tms : Date.parse(str(p.timestamp) ?? '')
        }
      }
      return { kind: 'none' }
    }
    case 'turn_context': {
      if (!st.replay) {
        st.model = str(p.model) ?? st.model
        st.effort = str(p.effort) ?? str(obj(p.reasoning)?.effort) ?? st.effort
      } else {
        st.model ??= str(p.model)
      }
      return { kind: 'none' }
    }
    case 'compacted':
      return compaction(st, file, ts, line, 'compacted')
    case 'response_item': {
      if (st.replay) return { kind: 'none' }
      const t = p.type
      if (t === 'function_call' || t === 'custom_tool_call' || t === 'local_shell_call') {
        const id = str(p.call_id) ?? str(p.id)
        if (id === undefined) return { kind: 'none' }
        const args = t === 'function_call' ? (typeof p.arguments === 'string' ? p.arguments : JSON.stringify(p.arguments ?? {})) : t === 'custom_tool_call' ? String(p.input ?? '') : JSON.stringify(p.action ?? {})
        ;(st.pending_tools ??= []).push({ call_id: id, name: str(p.name) ?? (t === 'local_shell_call' ? 'local_shell' : ''), kind: t === 'function_call' ? 'function' : t === 'custom_tool_call' ? 'custom' : 'local_shell', arguments: args })
      }
      return { kind: 'none' }
    }
    case 'event_msg': {
      if (p.type === 'context_compacted') {
        if (st.compacted_since_usage) return { kind: 'none' }
        return compaction(st, file, ts, line, 'context_compacted')
      }
      if (p.type === 'user_message') {
        // The user's own words (a fork's replay of its parent's prompts is not new input).
        const m = str(p.message)
        if (!st.replay && m !== undefined) st.pending_prompt = redactText(m)
        return { kind: 'none' }
      }
      if (p.type !== 'token_count') return { kind: 'none' }
      return tokenCount(p, st, file, ts, traps, usageOnly)
    }
    default:
      return { kind: 'none' }
  }
}

function compaction(st: CodexFileState, file: TranscriptFile, ts: string | undefined, line: number, what: string): CodexLine {
  if (st.replay) return { kind: 'none' }
  st.compacted_since_usage = true
  const session = st.session_id ?? sessionFromName(file.path)
  if (session === undefined || ts === undefined) return { kind: 'bad', message: `${what} without timestamp or session` }
  const event: CompactionEvent = {
    key: `${CODEX_SOURCE}:${session}:${line}`,
    source: CODEX_SOURCE,
    session_id: session,
    at: ts,
    ...(st.agent !== undefined ? { agent: st.agent } : {}),
    ...(st.last_prompt !== undefined ? { pre_tokens: st.last_prompt } : {}),
  }
  return { kind: 'compaction', event }
}

/**
 * The call of a `token_count` as a usage-only read keeps it (what {@link readCodexLine} puts in
 * its call besides the file state's agent, model and effort). Filled in place by
 * {@link readCodexUsagePiece} (one object per thread, reused line after line): copy what you keep.
 */
export interface CodexPiece {
  key: string
  ts: string
  session: string
  usage: CallUsage
  /** The prompt, tool calls and rate limits pending in the file state, taken by this call. */
  prompt: string | undefined
  tools: NonNullable<CodexFileState['pending_tools']>
  limits: Record<string, string> | undefined
  /** Why the line is no call, when it answered `bad`. */
  message: string
}

/** A piece with nothing in it yet. */
export function emptyCodexPiece(): CodexPiece {
  return { key: '', ts: '', session: '', usage: { input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 }, prompt: undefined, tools: [], limits: undefined, message: '' }
}

const BAD_TOKEN_COUNT = 'token_count without timestamp or session'

/**
 * The usage of a `token_count` (its cumulative `total` and `last` counts) against the file state:
 * a call (`piece` filled, the state's pending prompt, tools and limits taken), no call (a re-emit,
 * a fork's replay, no counts) or `bad` (`piece.message` says why). The one rule of both readers.
 */
function tokenPiece(total: RawCodexUsage | undefined, last: RawCodexUsage | undefined, st: CodexFileState, file: TranscriptFile, ts: string | undefined, traps: TrapCounts, piece: CodexPiece): 'call' | 'none' | 'bad' {
  if (total === undefined && last === undefined) return 'none'
  let delta: RawCodexUsage
  if (total !== undefined) {
    const prev = st.last
    if (prev !== undefined && anyBelow(total, prev)) {
      // The counter started over (a new thread state): its totals are the delta.
      st.resets = (st.resets ?? 0) + 1
      delta = total
    } else {
      delta = prev !== undefined ? minus(total, prev) : { ...total }
    }
    st.last = total
  } else {
    delta = last!
  }
  if (st.replay) {
    traps.codex_replayed++
    return 'none'
  }
  if (allZero(delta)) {
    traps.codex_reemits++
    return 'none'
  }
  if (last !== undefined) st.last_prompt = last.input_tokens
  const session = st.session_id ?? sessionFromName(file.path)
  if (session === undefined || ts === undefined) {
    piece.message = BAD_TOKEN_COUNT
    return 'bad'
  }
  piece.usage = normalizeUsage({ input_tokens: delta.input_tokens, cache_read_input_tokens: delta.cached_input_tokens, output_tokens: delta.output_tokens, reasoning_tokens: delta.reasoning_output_tokens }, 'openai-responses')
  const mark = total !== undefined ? `${st.resets ? `${st.resets}.` : ''}${total.total_tokens}` : ts
  piece.key = `${CODEX_SOURCE}:${session}:${mark}`
  piece.ts = ts
  piece.session = session
  piece.tools = st.pending_tools ?? []
  piece.limits = st.pending_limits
  piece.prompt = st.pending_prompt
  st.pending_tools = []
  st.pending_limits = undefined
  st.pending_prompt = undefined
  st.compacted_since_usage = false
  return 'call'
}

const slowPiece = emptyCodexPiece()

/** The line {@link slowPiece} answered: its call made whole. */
const slowLine = (got: 'call' | 'none' | 'bad', st: CodexFileState): CodexLine =>
  got === 'none' ? { kind: 'none' } : got === 'bad' ? { kind: 'bad', message: slowPiece.message } : { kind: 'call', call: codexPieceCall(slowPiece, st) }

function tokenCount(p: Record<string, unknown>, st: CodexFileState, file: TranscriptFile, ts: string | undefined, traps: TrapCounts, usageOnly: boolean): CodexLine {
  const info = obj(p.info)
  const limits = usageOnly ? undefined : rateLimits(p.rate_limits)
  if (limits !== undefined && !st.replay) st.pending_limits = limits
  return slowLine(tokenPiece(rawUsage(info?.total_token_usage), rawUsage(info?.last_token_usage), st, file, ts, traps, slowPiece), st)
}

/** The call of a piece of file state `st` (a copy: the piece is reused). */
export function codexPieceCall(piece: CodexPiece, st: CodexFileState): ModelCall {
  const { key, session, ts, usage } = piece
  const tools: LedgerToolCall[] = piece.tools.map((t, i) => ({ call_id: t.call_id, position: i, name: t.name, kind: t.kind, arguments: t.arguments, complete: true }))
  const rl = piece.limits
  const prompt = piece.prompt
  // Built field by field in the order a literal would have them: spreads of optional fields
  // (`...(x ? { x } : {})`) cost microseconds per call, and a rollout has thousands.
  const request: ModelCall['request'] = {} as ModelCall['request']
  if (st.model !== undefined) request.model = st.model
  if (st.effort !== undefined) request.reasoning_effort = st.effort
  request.tool_names = []
  request.message_count = 0
  request.prompt_cache_key = session
  const call = { ledger_version: LEDGER_VERSION, key, source: CODEX_SOURCE, flow_id: key, index: 0, session_id: session, session_source: 'transcript' } as ModelCall
  if (st.agent !== undefined) call.agent = st.agent
  call.client = 'codex'
  call.provider = 'openai'
  call.api = 'openai-responses'
  call.transport = 'sse'
  call.kind = 'model'
  if (st.model !== undefined) call.model = st.model
  call.started_at = ts
  call.ended_at = ts
  call.duration_ms = 0
  call.outcome = 'completed'
  call.usage = usage
  call.text = ''
  call.reasoning = ''
  call.tool_calls = tools
  call.tool_results = []
  call.request = request
  if (rl !== undefined) call.rate_limits = rl
  if (prompt !== undefined) call.prompt = prompt
  return call
}

const COUNTS = { input_tokens: true, cached_input_tokens: true, cache_read_input_tokens: true, output_tokens: true, reasoning_output_tokens: true, total_tokens: true } as const
/** The fields {@link readCodexLine} reads of a `token_count` line in a usage-only read. */
const TOKEN_PICK = compilePick({ timestamp: true, type: true, payload: { type: true, info: { total_token_usage: COUNTS, last_token_usage: COUNTS } } })
const SL = TOKEN_PICK.slot as Record<string, number>
const [C_TS, C_TYPE, C_PAYLOAD, C_PTYPE, C_INFO, C_TOTAL, C_LAST] = ['timestamp', 'type', 'payload', 'payload.type', 'payload.info', 'payload.info.total_token_usage', 'payload.info.last_token_usage'].map((k) => SL[k]!) as number[]
const cpicked: unknown[] = []

/**
 * `readCodexLine(JSON.parse(line), file, st, line, traps, true)` of an `event_msg` `token_count`
 * line, from its raw bytes: {@link readCodexUsagePiece}, its call made whole. `undefined` when
 * the line is no valid JSON object, not a `token_count` event, or laid out in a way the picker
 * leaves alone: parse it the slow way (which gives the same answer or the error).
 */
export function readCodexUsageBytes(buf: Buffer, start: number, end: number, file: TranscriptFile, st: CodexFileState, traps: TrapCounts): CodexLine | undefined {
  const got = readCodexUsagePiece(buf, start, end, file, st, traps, slowPiece)
  return got === undefined ? undefined : slowLine(got, st)
}

/** The counts object at `slot` as {@link rawUsage} reads it from JSON.parse's value, from the picked slots. */
function rawUsageAt(v: unknown[], slot: number): RawCodexUsage | undefined {
  // A non-object (or none) is picked whole; an object is PICKED, its counts in the next slots (COUNTS' order).
  if (v[slot] !== PICKED) return rawUsage(v[slot])
  return rawCounts(v[slot + 1], v[slot + 2], v[slot + 3], v[slot + 4], v[slot + 5], v[slot + 6])
}

/**
 * {@link readCodexUsageBytes} without the call object: a `token_count`'s call into `piece`
 * (`call`; its model, effort and agent are the file state's), `none`, `bad` (`piece.message`
 * says why), or `undefined` when the line is left to the slow path — with the same file state
 * and trap counts after it as `readCodexLine(JSON.parse(line), file, st, line, traps, true)`.
 */
export function readCodexUsagePiece(buf: Buffer, start: number, end: number, file: TranscriptFile, st: CodexFileState, traps: TrapCounts, piece: CodexPiece): 'call' | 'none' | 'bad' | undefined {
  const v = cpicked
  if (!pickJson(buf, start, end, TOKEN_PICK, v) || v[C_TYPE!] !== 'event_msg' || v[C_PAYLOAD!] !== PICKED || v[C_PTYPE!] !== 'token_count') return undefined
  const ts = str(v[C_TS!])
  if (st.replay) endReplay(st, ts !== undefined ? isoMs(ts) : NaN)
  // info: an object is PICKED (its usages in their slots), anything else no usage.
  if (v[C_INFO!] !== PICKED) return 'none'
  return tokenPiece(rawUsageAt(v, C_TOTAL!), rawUsageAt(v, C_LAST!), st, file, ts, traps, piece)
}
