/**
 * Request fingerprints: what a request asked for, reduced to what identifies it in a
 * conversation (API, model, system prompt, tools, message history). Decoded by
 * session-extractor's request anatomy, the same decoder the ledger's fingerprints come from, for
 * the captured requests and the incoming ones alike.
 */
import { analyzeRequest, contentHash, detectClient, requestHistoryUnits, type RequestHeaders } from '@agenttap/session-extractor'
import type { Difference, ReplayExchange, RequestPrint } from './types.js'

/**
 * Parts of a system prompt that change from run to run of the same agent and are no part of the
 * conversation: Claude Code's billing line (`x-anthropic-billing-header: cc_version=…; cch=…;`,
 * whose `cch` is a per-request checksum).
 */
const VOLATILE_SYSTEM = [/^x-anthropic-billing-header:[^\n]*\n?/gm]

/**
 * Parts of tool results that change from run to run of the same command: Codex's `exec_command`
 * output header (`Chunk ID: <hex>` is random per call, `Wall time: <s> seconds` is measured).
 * Matched in the body's text, raw or JSON-escaped (`\n` between the two lines).
 */
const VOLATILE_TOOL_OUTPUT = /Chunk ID: [0-9a-f]+(\\n|\n)Wall time: [0-9.]+ seconds/g

/** The body with the volatile parts of tool results made equal (see `VOLATILE_TOOL_OUTPUT`). */
function stableBody(body: unknown): unknown {
  if (body instanceof Uint8Array) {
    const text = new TextDecoder().decode(body)
    return text.includes('Chunk ID: ') ? text.replace(VOLATILE_TOOL_OUTPUT, 'Chunk ID: -$1Wall time: - seconds') : body
  }
  if (typeof body === 'string') return body.includes('Chunk ID: ') ? body.replace(VOLATILE_TOOL_OUTPUT, 'Chunk ID: -$1Wall time: - seconds') : body
  if (body === null || typeof body !== 'object') return body
  const text = JSON.stringify(body)
  return text.includes('Chunk ID: ') ? (JSON.parse(text.replace(VOLATILE_TOOL_OUTPUT, 'Chunk ID: -$1Wall time: - seconds')) as unknown) : body
}

function systemHash(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  let t = text
  for (const re of VOLATILE_SYSTEM) t = t.replace(re, '')
  return contentHash(`system\n${t}`)
}

function pathOnly(url: string): string {
  let rest = url
  const scheme = url.indexOf('://')
  if (scheme > 0 && scheme < 16) {
    const slash = url.indexOf('/', scheme + 3)
    rest = slash === -1 ? '/' : url.slice(slash)
  }
  const q = rest.search(/[?#]/)
  return q === -1 ? rest : rest.slice(0, q)
}

/** The request side of a fingerprint. */
export interface PrintInput {
  /** Parsed JSON (redacted as the capture's), JSON text, bytes, or a WebSocket `response.create` frame. */
  body: unknown
  method?: string
  url?: string
  headers?: RequestHeaders
  client?: string
  provider?: string
}

/**
 * The fingerprint of a request. Two requests of the same agent run at the same point of the
 * conversation have equal `key`s; volatile fields (session and user ids, cache markers, stream
 * options, sampling settings, `prompt_cache_key`, the billing line of Claude Code's system
 * prompt, the chunk id and wall time in Codex's `exec_command` results) do not count.
 */
export function requestPrint(req: PrintInput): RequestPrint {
  const body = stableBody(req.body)
  // An incoming request says which agent sent it only in its headers; the anatomy needs to know
  // (a Claude Code request without tools is a quota or title request: aux).
  let client = req.client
  if (client === undefined && req.headers !== undefined) {
    const c = detectClient({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers })
    if (c !== 'unknown') client = c
  }
  const a = analyzeRequest({ body, ...(req.url !== undefined ? { url: req.url } : {}), ...(req.headers ? { headers: req.headers } : {}), ...(client ? { client } : {}), ...(req.provider ? { provider: req.provider } : {}) })
  if (a.api === 'unknown') {
    const route = `${(req.method ?? 'GET').toUpperCase()} ${pathOnly(req.url ?? '/')}`
    return { api: 'aux', kind: 'aux', route, history: [], units: [], key: JSON.stringify(['aux', route]) }
  }
  const system = systemHash(a.system?.text)
  const print: RequestPrint = { api: a.api, kind: a.kind, history: a.history, units: requestHistoryUnits(body, a.api), key: '' }
  if (a.model !== undefined) print.model = a.model
  if (system !== undefined) print.system = system
  if (a.tools_hash !== undefined) print.tools = a.tools_hash
  if (a.previous_response_id !== undefined) print.previous = a.previous_response_id
  print.key = JSON.stringify([a.api, print.model ?? null, system ?? null, print.tools ?? null, print.previous ?? null, a.history.length, a.history_hash ?? null])
  return print
}

const MAX_EXCERPT = 240

/** A short excerpt of a value for a report. */
export function excerpt(s: string | undefined): string | undefined {
  if (s === undefined) return undefined
  return s.length <= MAX_EXCERPT ? s : `${s.slice(0, MAX_EXCERPT - 1)}…`
}

const ROLES: Record<string, string> = { u: 'user', a: 'assistant', r: 'tool result', s: 'system', d: 'developer', t: 'tool', x: 'item' }

function leaves(v: unknown, out: string[]): void {
  if (typeof v === 'string') {
    if (v !== '') out.push(v)
  } else if (Array.isArray(v)) {
    // An Anthropic tool_result block in a user message: ["r", tool_use_id, text, is_error].
    if (v.length === 4 && v[0] === 'r' && typeof v[1] === 'string' && typeof v[2] === 'string') out.push(`tool result ${v[1]}${v[3] === true ? ' (error)' : ''}: ${v[2]}`)
    else for (const x of v) leaves(x, out)
  }
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) leaves(x, out)
  else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v))
}

/** A canonical history unit (`u["…"]`, `a[…]`, session-extractor's spelling) as a person reads it, whole: the role, then the message's text and tool calls, flattened. */
function unitText(unit: string): string {
  const role = ROLES[unit.charAt(0)] ?? unit.charAt(0)
  let parts: string[] = []
  try {
    leaves(JSON.parse(unit.slice(1)) as unknown, parts)
  } catch {
    parts = [unit.slice(1)]
  }
  return `${role}: ${parts.join(' | ').replace(/\s+/g, ' ')}`
}

/**
 * A canonical history unit (`u["…"]`, `a[…]`, session-extractor's spelling) as a person reads it:
 * the role, then the message's text and tool calls, flattened and cut to an excerpt.
 */
export function describeUnit(unit: string | undefined): string | undefined {
  return unit === undefined ? undefined : excerpt(unitText(unit))
}

/** Characters of context shown before the first differing character. */
const BEFORE = 60

/**
 * Where two versions of a message part: the character at which they first differ (`at`), and an
 * excerpt of each around it — {@link BEFORE} characters of the common text before it (from a word
 * start), then the changed words and what follows, {@link MAX_EXCERPT} characters in all, `…` where
 * the excerpt cuts the message. A message that begins with a long preamble (Claude Code's
 * system reminders before the prompt, a long tool result) thus still shows the changed words.
 */
export function differingWindow(expected: string, received: string): { at: number; expected: string; received: string } {
  const n = Math.min(expected.length, received.length)
  let at = 0
  while (at < n && expected.charCodeAt(at) === received.charCodeAt(at)) at++
  // Do not cut a surrogate pair in two.
  if (at > 0 && at < n && (expected.charCodeAt(at - 1) & 0xfc00) === 0xd800) at--
  let from = Math.max(0, at - BEFORE)
  if (from > 0) {
    const space = expected.indexOf(' ', from)
    if (space !== -1 && space < at) from = space + 1
  }
  const cut = (s: string): string => {
    const tail = s.length - from > MAX_EXCERPT - (from > 0 ? 1 : 0)
    const body = s.slice(from, from + MAX_EXCERPT - (from > 0 ? 1 : 0) - (tail ? 1 : 0))
    return `${from > 0 ? '…' : ''}${body}${tail ? '…' : ''}`
  }
  return { at, expected: cut(expected), received: cut(received) }
}

/** Messages two histories have in common, from the start. */
export function commonMessages(a: RequestPrint, b: RequestPrint): number {
  const n = Math.min(a.history.length, b.history.length)
  let i = 0
  while (i < n && a.history[i] === b.history[i]) i++
  return i
}

/**
 * What differs first between a captured request (`want`) and an incoming one (`got`): the API,
 * the model, the system prompt, the tools, the previous response, then the first message of the
 * history that is not the same (or the one that one of them has and the other has not).
 */
export function firstDifference(want: RequestPrint, got: RequestPrint): Difference {
  if (want.api !== got.api) return { field: 'api', expected: want.api, received: got.api }
  if (want.api === 'aux') return { field: want.route === got.route ? 'used' : 'route', ...(want.route ? { expected: want.route } : {}), ...(got.route ? { received: got.route } : {}) }
  if (want.model !== got.model) return { field: 'model', ...(want.model ? { expected: want.model } : {}), ...(got.model ? { received: got.model } : {}) }
  if (want.system !== got.system) return { field: 'system', ...(want.system ? { expected: `system prompt ${want.system}` } : {}), ...(got.system ? { received: `system prompt ${got.system}` } : {}) }
  if (want.tools !== got.tools) return { field: 'tools', ...(want.tools ? { expected: `tool list ${want.tools}` } : {}), ...(got.tools ? { received: `tool list ${got.tools}` } : {}) }
  if (want.previous !== got.previous) return { field: 'previous_response_id', ...(want.previous ? { expected: want.previous } : {}), ...(got.previous ? { received: got.previous } : {}) }
  const i = commonMessages(want, got)
  if (i === want.history.length && i === got.history.length) return { field: 'used' }
  const d: Difference = { field: 'history', index: i }
  const w = want.units?.[i]
  const g = got.units?.[i]
  if (w !== undefined && g !== undefined) {
    const win = differingWindow(unitText(w), unitText(g))
    d.at = win.at
    d.expected = win.expected
    d.received = win.received
    return d
  }
  d.expected = describeUnit(w) ?? (want.units === undefined ? '(the captured message was not read)' : '(no message: the captured request ends here)')
  d.received = describeUnit(g) ?? '(no message: the request ends here)'
  return d
}

/**
 * The captured exchange that comes closest to a request: the same API first, then the longest
 * common history, then the same model, system and tools; an exchange not served yet before one
 * that was, the earlier before the later.
 */
export function closestExchange(print: RequestPrint, exchanges: readonly ReplayExchange[], used: (e: ReplayExchange) => boolean): { exchange: ReplayExchange; common: number } | undefined {
  let best: { exchange: ReplayExchange; common: number; score: number } | undefined
  for (const e of exchanges) {
    const p = e.print
    if (p.api !== print.api) continue
    const common = p.api === 'aux' ? (p.route === print.route ? 1 : 0) : commonMessages(p, print)
    const score = common * 16 + (p.model === print.model ? 8 : 0) + (p.system === print.system ? 4 : 0) + (p.tools === print.tools ? 2 : 0) + (used(e) ? 0 : 1)
    if (best === undefined || score > best.score) best = { exchange: e, common, score }
  }
  return best === undefined ? undefined : { exchange: best.exchange, common: best.common }
}
