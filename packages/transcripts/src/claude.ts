import { LEDGER_VERSION } from '@agenttap/ledger/pricing'
import type { CallUsage, CompactionEvent, LedgerToolCall, ModelCall } from '@agenttap/ledger'
import { redactText } from '@agenttap/session-extractor/redact'
import { normalizeUsage, readAnthropicUsage } from '@agenttap/stream-normalizer/usage'
import type { UsageCalls } from './call-merge.js'
import { isoMs } from './iso-time.js'
import { compilePick, PICKED, pickJson } from './json-pick.js'
import type { TranscriptFile } from './types.js'

/**
 * Claude Code transcripts (`~/.claude/projects/<project>/<session>.jsonl` and
 * `<session>/subagents/agent-<id>.jsonl`): one JSON object per line. A line becomes
 * - a piece of a model call when it is an `assistant` entry with `message.usage` (one line per
 *   content block; pieces of one response share `message.id` + `requestId` and are merged by
 *   `mergeCall`);
 * - a compaction when it is a `system` entry with `subtype: "compact_boundary"`
 *   (`compactMetadata.preTokens`, `trigger`);
 * - a prompt when it is a `user` entry with the user's text (not tool results): the `prompt` of
 *   the next call read from the same file.
 * Everything else (tool results, summaries, snapshots) carries no usage.
 */

/** Raw needles of the lines worth parsing. */
export const CLAUDE_NEEDLES = [Buffer.from('"usage"'), Buffer.from('"compact_boundary"')]
/** Raw needles of the lines a usage-only read parses (no compactions, no prompts). */
export const CLAUDE_USAGE_NEEDLES = [Buffer.from('"usage"')]

const USER_TYPE = Buffer.from('"type":"user"')
const ASSISTANT_TYPE = Buffer.from('"type":"assistant"')
const TOOL_RESULT = Buffer.from('"tool_result"')
const TAIL = 400
const HEAD = 2048

/** How Claude Code ends an assistant line: `"type":"assistant","uuid":"` + 36 characters + `","timestamp":"` + 24 characters + `"}`. */
const LAST_TYPE = Buffer.from('"type":"assistant","uuid":"')
const LAST_TS = Buffer.from('","timestamp":"')
const LAST_AT = LAST_TYPE.length + 36 + LAST_TS.length + 24 + 2

/**
 * Whether a line ends the way Claude Code ends an assistant line (its type at that place: a
 * few byte compares, where the search of its last bytes costs a view and a native call). Only
 * a quicker yes of {@link classifyClaudeLine}'s tail search: the type is within its last bytes.
 */
function assistantLast(buf: Buffer, start: number, end: number): boolean {
  const at = end - LAST_AT
  if (at < start || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) return false
  for (let j = 0; j < LAST_TYPE.length; j++) if (buf[at + j] !== LAST_TYPE[j]) return false
  const ts = at + LAST_TYPE.length + 36
  for (let j = 0; j < LAST_TS.length; j++) if (buf[ts + j] !== LAST_TS[j]) return false
  return true
}

/**
 * Claude Code writes an assistant line's `type` after its `message` (`…,"requestId":…,
 * "type":"assistant","uuid":…,"timestamp":…}`) and a user line's before it: a look at the last
 * few hundred bytes finds an assistant line, one at the first kilobytes a user line. A user line
 * is a prompt unless its content is tool results (most of a transcript's bytes), which say so
 * near the start of the message: those are skipped unparsed. Lines laid out otherwise are
 * searched for the needles.
 */
export function classifyClaudeLine(buf: Buffer, start: number, end: number): boolean | undefined {
  if (assistantLast(buf, start, end)) return true
  const tail = buf.subarray(Math.max(start, end - TAIL), end)
  if (tail.indexOf(ASSISTANT_TYPE) !== -1) return true
  const head = buf.subarray(start, Math.min(end, start + HEAD))
  const u = head.indexOf(USER_TYPE)
  if (u !== -1 || tail.indexOf(USER_TYPE) !== -1) return head.indexOf(TOOL_RESULT, u === -1 ? 0 : u) === -1
  return undefined
}

/**
 * {@link classifyClaudeLine} for a usage-only read: a user line (a prompt or tool results) can
 * carry no usage and is skipped unparsed.
 */
export function classifyClaudeUsageLine(buf: Buffer, start: number, end: number): boolean | undefined {
  if (assistantLast(buf, start, end)) return true
  const tail = buf.subarray(Math.max(start, end - TAIL), end)
  if (tail.indexOf(ASSISTANT_TYPE) !== -1) return true
  if (tail.indexOf(USER_TYPE) !== -1 || buf.subarray(start, Math.min(end, start + HEAD)).indexOf(USER_TYPE) !== -1) return false
  return undefined
}

/** The content of a usage-only read (only iterated). */
const NO_CONTENT: readonly unknown[] = []

/** Source tag of the calls. */
export const CLAUDE_SOURCE = 'claude-transcript' as const

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined)

/** What a line was. */
export type ClaudeLine =
  | { kind: 'call'; call: ModelCall }
  | { kind: 'prompt'; text: string }
  | { kind: 'compaction'; event: CompactionEvent }
  | { kind: 'skip' }
  | { kind: 'bad'; message: string }

/** The call key of a Claude Code response: message id and request id (the pair the dedupe is on). */
export function claudeKey(messageId: string, requestId: string | undefined): string {
  // The lines of one response come one after another: their key is made (and hashed) once.
  if (messageId === lastKey.id && requestId === lastKey.request) return lastKey.key
  const key = `${CLAUDE_SOURCE}:${messageId}${requestId !== undefined ? `:${requestId}` : ''}`
  lastKey.id = messageId
  lastKey.request = requestId
  lastKey.key = key
  return key
}
const lastKey: { id: string; request: string | undefined; key: string } = { id: '', request: undefined, key: '' }

/**
 * The prompt of a user entry: its text (a string content, or its text blocks), redacted like a
 * capture's. Tool results, Claude Code's own entries (`isMeta`, a compaction's summary, a local
 * command's output) and a subagent's task (its parent wrote it, not the user) are no prompt.
 */
function userPrompt(r: Record<string, unknown>, file: TranscriptFile): ClaudeLine {
  if (file.agent !== undefined || r.isSidechain === true || r.isMeta === true || r.isCompactSummary === true) return { kind: 'skip' }
  const content = obj(r.message)?.content
  let text: string
  if (typeof content === 'string') text = content
  else if (Array.isArray(content)) {
    const parts: string[] = []
    for (const b of content) {
      const blk = obj(b)
      if (blk?.type === 'tool_result') return { kind: 'skip' }
      if (blk?.type === 'text' && typeof blk.text === 'string') parts.push(blk.text)
    }
    text = parts.join('\n\n')
  } else return { kind: 'skip' }
  if (text.trim() === '' || text.startsWith('<local-command-stdout>') || text.startsWith('<local-command-stderr>')) return { kind: 'skip' }
  return { kind: 'prompt', text: redactText(text) }
}

/**
 * Reads one parsed line of a Claude Code transcript; see the module comment. `usageOnly`: the
 * call's content blocks (text, thinking, tool calls) are not read — its usage, model, stop
 * reason and ids are the same.
 */
export function readClaudeLine(rec: unknown, file: TranscriptFile, usageOnly = false): ClaudeLine {
  const r = obj(rec)
  if (r === undefined) return { kind: 'bad', message: 'not a JSON object' }
  const ts = str(r.timestamp)
  const session = str(r.sessionId) ?? file.parent_session
  const agent = str(r.agentId) ?? file.agent
  if (r.type === 'system' && r.subtype === 'compact_boundary') {
    if (ts === undefined || session === undefined) return { kind: 'bad', message: 'compact_boundary without timestamp or sessionId' }
    const meta = obj(r.compactMetadata) ?? {}
    const pre = meta.preTokens
    const event: CompactionEvent = {
      key: `${CLAUDE_SOURCE}:${session}:${str(r.uuid) ?? ts}`,
      source: CLAUDE_SOURCE,
      session_id: session,
      at: ts,
      ...(agent !== undefined ? { agent } : {}),
      ...(str(meta.trigger) !== undefined ? { trigger: str(meta.trigger)! } : {}),
      ...(typeof pre === 'number' && Number.isFinite(pre) ? { pre_tokens: pre } : {}),
    }
    return { kind: 'compaction', event }
  }
  if (r.type === 'user') return userPrompt(r, file)
  if (r.type !== 'assistant') return { kind: 'skip' }
  const m = obj(r.message)
  const u = obj(m?.usage)
  if (m === undefined || u === undefined) return { kind: 'skip' }
  const model = str(m.model)
  // Claude Code's own notices (rate-limit and API-error messages) are written as `<synthetic>`
  // assistant entries with zero usage: no model was called.
  if (model === '<synthetic>') return { kind: 'skip' }
  const id = str(m.id) ?? str(r.uuid)
  if (id === undefined || ts === undefined || session === undefined) return { kind: 'bad', message: 'assistant entry with usage but no message.id/uuid, timestamp or sessionId' }
  const requestId = str(r.requestId)
  const usage = normalizeUsage(readAnthropicUsage(u), 'anthropic')
  const texts: string[] = []
  const thinking: string[] = []
  const tools: LedgerToolCall[] = []
  const content: readonly unknown[] = !usageOnly && Array.isArray(m.content) ? m.content : NO_CONTENT
  for (const b of content) {
    const blk = obj(b)
    if (blk === undefined) continue
    if (blk.type === 'text' && typeof blk.text === 'string') texts.push(blk.text)
    else if (blk.type === 'thinking' && typeof blk.thinking === 'string') thinking.push(blk.thinking)
    else if ((blk.type === 'tool_use' || blk.type === 'server_tool_use') && str(blk.id) !== undefined) {
      tools.push({ call_id: str(blk.id)!, position: tools.length, name: str(blk.name) ?? '', kind: blk.type === 'server_tool_use' ? 'server' : 'function', arguments: JSON.stringify(blk.input ?? {}), complete: true })
    }
  }
  const call = claudeCall(claudeKey(id, requestId), id, requestId, ts, session, agent, model, str(m.stop_reason), usage, tools)
  call.text = texts.length === 1 ? texts[0]! : texts.join('\n\n')
  call.reasoning = thinking.length === 1 ? thinking[0]! : thinking.join('\n\n')
  return { kind: 'call', call }
}

/** The call of one piece (its text and reasoning empty: the caller sets them). */
function claudeCall(key: string, id: string, requestId: string | undefined, ts: string, session: string, agent: string | undefined, model: string | undefined, stop: string | undefined, usage: CallUsage, tools: LedgerToolCall[]): ModelCall {
  const request: ModelCall['request'] = { tool_names: [], message_count: 0 }
  const call: ModelCall = {
    ledger_version: LEDGER_VERSION,
    key,
    source: CLAUDE_SOURCE,
    flow_id: key,
    index: 0,
    response_id: id,
    session_id: session,
    session_source: 'transcript',
    client: 'claude-code',
    provider: 'anthropic',
    api: 'anthropic-messages',
    transport: 'sse',
    kind: 'model',
    started_at: ts,
    ended_at: ts,
    duration_ms: 0,
    outcome: 'completed',
    usage,
    text: '',
    reasoning: '',
    tool_calls: tools,
    tool_results: [],
    request,
  }
  if (requestId !== undefined) call.request_id = requestId
  if (agent !== undefined) call.agent = agent
  if (model !== undefined) {
    call.model = model
    request.model = model
  }
  if (stop !== undefined) call.stop_reason = stop
  return call
}

/** The fields {@link readClaudeLine} reads of an assistant line in a usage-only read. */
const USAGE_PICK = compilePick({
  type: true,
  timestamp: true,
  sessionId: true,
  agentId: true,
  requestId: true,
  message: {
    id: true,
    model: true,
    stop_reason: true,
    usage: {
      input_tokens: true,
      output_tokens: true,
      cache_read_input_tokens: true,
      cache_creation_input_tokens: true,
      cache_creation: { ephemeral_5m_input_tokens: true, ephemeral_1h_input_tokens: true },
    },
  },
})
const S = USAGE_PICK.slot as Record<string, number>
const [TYPE, TS, SESSION, AGENT, REQUEST, MESSAGE, ID, MODEL, STOP, USAGE, IN, OUT, READ, WRITE, CC, CC5, CC1H] = [
  'type', 'timestamp', 'sessionId', 'agentId', 'requestId', 'message', 'message.id', 'message.model', 'message.stop_reason', 'message.usage',
  'message.usage.input_tokens', 'message.usage.output_tokens', 'message.usage.cache_read_input_tokens', 'message.usage.cache_creation_input_tokens',
  'message.usage.cache_creation', 'message.usage.cache_creation.ephemeral_5m_input_tokens', 'message.usage.cache_creation.ephemeral_1h_input_tokens',
].map((k) => S[k]!) as number[]
const picked: unknown[] = []
const ASSISTANT = 'assistant'

/**
 * One piece of a Claude Code call as a usage-only read keeps it: what `readClaudeLine(…, true)`
 * puts in the call of an assistant line. Filled by {@link readClaudeUsagePiece} in place (one
 * object per thread, reused line after line): copy what you keep.
 */
export interface ClaudePiece {
  key: string
  id: string
  requestId: string | undefined
  ts: string
  session: string
  agent: string | undefined
  model: string | undefined
  stop: string | undefined
  usage: CallUsage
  /** Why the line is no call (`readClaudeLine`'s `bad` message), when it answered `bad`. */
  message: string
}

/** A piece with nothing in it yet. */
export function emptyPiece(): ClaudePiece {
  return { key: '', id: '', requestId: undefined, ts: '', session: '', agent: undefined, model: undefined, stop: undefined, usage: { input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 }, message: '' }
}

const BAD_ASSISTANT = 'assistant entry with usage but no message.id/uuid, timestamp or sessionId'

/**
 * `readClaudeLine(JSON.parse(line), file, true)` of an assistant line, from its raw bytes and
 * without building the call: only the fields a usage-only read needs are decoded (the content
 * blocks and the metadata around them are validated, not built) into `piece`. Answers `call`
 * (the piece is filled), `skip` (no call: no usage, a `<synthetic>` notice), `bad`
 * (`piece.message` says why) or `undefined` when the line is no valid JSON object of type
 * `assistant` (or has no `message.id`, or is laid out in a way the picker leaves alone): parse it the slow way, which
 * gives the same answer or the error.
 */
export function readClaudeUsagePiece(buf: Buffer, start: number, end: number, file: TranscriptFile, piece: ClaudePiece): 'call' | 'skip' | 'bad' | undefined {
  const v = picked
  if (!pickJson(buf, start, end, USAGE_PICK, v) || v[TYPE!] !== ASSISTANT) return undefined
  // A message or usage that is no object is picked whole (an object is always PICKED): no call.
  if (v[MESSAGE!] !== PICKED || v[USAGE!] !== PICKED) return 'skip'
  const model = str(v[MODEL!])
  if (model === '<synthetic>') return 'skip'
  const ts = str(v[TS!])
  const session = str(v[SESSION!]) ?? file.parent_session
  // No message id: the line's uuid names the call, read the slow way (uuid is not picked: it
  // changes every line and would be decoded for nothing).
  const id = str(v[ID!])
  if (id === undefined) return undefined
  if (ts === undefined || session === undefined) {
    piece.message = BAD_ASSISTANT
    return 'bad'
  }
  const cc = v[CC!]
  const requestId = str(v[REQUEST!])
  piece.usage = normalizeUsage(
    readAnthropicUsage({
      input_tokens: v[IN!],
      output_tokens: v[OUT!],
      cache_read_input_tokens: v[READ!],
      cache_creation_input_tokens: v[WRITE!],
      cache_creation: cc !== PICKED ? cc : { ephemeral_5m_input_tokens: v[CC5!], ephemeral_1h_input_tokens: v[CC1H!] },
    }),
    'anthropic',
  )
  piece.key = claudeKey(id, requestId)
  piece.id = id
  piece.requestId = requestId
  piece.ts = ts
  piece.session = session
  piece.agent = str(v[AGENT!]) ?? file.agent
  piece.model = model
  piece.stop = str(v[STOP!])
  return 'call'
}

/** The call of row `i` of a usage-only read's calls (every piece merged into it). */
export function rowCall(rows: UsageCalls, i: number): ModelCall {
  const started = rows.started[i]!
  const ended = rows.ended[i]!
  const call = claudeCall(rows.key[i]!, rows.id[i]!, rows.requestId[i], started, rows.session[i]!, rows.agent[i], rows.model[i], rows.stop[i], rows.usage(i), [])
  call.ended_at = ended
  if (ended !== started) call.duration_ms = isoMs(ended) - isoMs(started)
  const prompt = rows.prompt[i]
  if (prompt !== undefined) call.prompt = prompt
  return call
}

/** The call of a piece (a copy: the piece is reused). */
export function pieceCall(p: ClaudePiece): ModelCall {
  return claudeCall(p.key, p.id, p.requestId, p.ts, p.session, p.agent, p.model, p.stop, p.usage, [])
}

const testPiece = emptyPiece()

/**
 * {@link readClaudeUsagePiece} as a {@link ClaudeLine} (its call built): the answer
 * `readClaudeLine(JSON.parse(line), file, true)` gives, or `undefined` for the slow path.
 */
export function readClaudeUsageBytes(buf: Buffer, start: number, end: number, file: TranscriptFile): ClaudeLine | undefined {
  const r = readClaudeUsagePiece(buf, start, end, file, testPiece)
  if (r === undefined) return undefined
  if (r === 'skip') return { kind: 'skip' }
  if (r === 'bad') return { kind: 'bad', message: testPiece.message }
  return { kind: 'call', call: pieceCall(testPiece) }
}
