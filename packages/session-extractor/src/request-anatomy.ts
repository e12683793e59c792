/**
 * Request anatomy: what a captured request asked for, decoded once for every reader (the ledger,
 * the live views, the proxy's session chain). Pure: no I/O.
 */
import { anthropicUnit, chatUnit, contentHash, historyChain, responsesUnits, responsesUnitsFrom, withoutCacheControl, type UnitsOut } from './history-hash.js'
import { requestTurn, type RequestToolResult, type RequestTurnLimits } from './request-turn.js'
import { cacheSegmentsOf, type CacheSegment, type ToolsKey } from './cache-segments.js'
import { createValueMemo, onClearRequestMemo, priorHistory, rememberHistory, type PriorHistory } from './request-memo.js'
import type { RequestHeaders } from './types.js'

/** The API family a request speaks. */
export type RequestApi = 'anthropic-messages' | 'openai-responses' | 'openai-chat' | 'unknown'

/**
 * `model` asks a model for a response; `aux` is anything else an agent calls: Claude Code's
 * `/api/claude_code/policy_limits` and `/settings`, Codex's plugin listing, token counting, model
 * lists, and Claude Code's own requests without `tools` (quota checks, title generation).
 */
export type RequestKind = 'model' | 'aux'

/** A tool definition the request offered, referenced by hash. */
export interface ToolDefinition {
  /** Hash of the definition (without `cache_control`). */
  hash: string
  name: string
  /** `function`, `custom`, or the provider's type of a built-in tool (`web_search_20250305`, `local_shell`, …). */
  tool_kind: string
  description?: string
  /** The parameters' JSON schema (or a custom tool's format), as JSON text. */
  schema?: string
}

/** What a request asked for. */
export interface RequestAnatomy {
  kind: RequestKind
  api: RequestApi
  /** Why the request is `aux`, for people reading a capture. */
  aux_reason?: string
  /** The new user prompt, when the request carries one. */
  prompt?: string
  /** Tool results the request sends back. */
  tool_results: RequestToolResult[]
  model?: string
  /** `max_tokens` / `max_output_tokens` / `max_completion_tokens`. */
  max_tokens?: number
  temperature?: number
  /** Responses `reasoning.effort`, Chat `reasoning_effort`, or `thinking:<budget>` / `thinking:adaptive` for Anthropic. */
  reasoning_effort?: string
  stream?: boolean
  /** Names of the tools offered, in order. */
  tool_names: string[]
  /** Number of messages (Anthropic / Chat `messages`) or input items (Responses `input`) sent. */
  message_count: number
  /** Responses `prompt_cache_key`. */
  prompt_cache_key?: string
  /** Responses `previous_response_id`: the history sent is only what follows that response. */
  previous_response_id?: string
  user_agent?: string
  /** The system prompt (Anthropic `system`, Responses `instructions`, Chat system/developer messages) and its hash. */
  system?: { hash: string; text: string }
  /** The tool definitions, in order. */
  tools: ToolDefinition[]
  /** Hash of the tool list (the definitions' hashes, in order). */
  tools_hash?: string
  /** Chain hashes of the history, one per history unit: `history[i]` covers units 0..i. Trailing `system` entries are not history. */
  history: string[]
  /** The last chain hash: the whole history. */
  history_hash?: string
  /** The request in the provider's cache order: one exact hash and byte size per tool, system block and message (see `cacheSegments`). */
  segments: CacheSegment[]
  /** The canonical JSON of each segment, parallel to `segments` (only with the `segmentTexts` option). */
  segment_texts?: string[]
  /** The request body was stored out of line (`{"$ref": …}`): nothing of it could be read. */
  body_ref?: string
}

/** Input of {@link analyzeRequest}: the parts of a captured request it reads. */
export interface AnalyzedRequest {
  /** The body: parsed JSON, JSON text or UTF-8 bytes; also a WebSocket `response.create` frame. */
  body: unknown
  /** Absolute or origin-form URL. */
  url?: string
  headers?: RequestHeaders
  /** Canonical `client` of the flow (`claude-code`, `codex`, …). */
  client?: string
  /** Canonical `provider` of the flow (`anthropic`, `openai`). */
  provider?: string
}

/** Options of {@link analyzeRequest}. */
export type AnalyzeRequestOptions = RequestTurnLimits & {
  /** Also keep each cache segment's canonical JSON (`segment_texts`), to show how two requests diverge. @defaultValue false */
  segmentTexts?: boolean
  /**
   * `'call'`: only what a call's end line needs — kind, api, model and the request's scalar
   * settings, `tool_names` and `message_count` — without the tool definitions, the system prompt,
   * the history chain, their hashes, the prompt and the tool results (hashing and walking the
   * messages is most of the cost of a large request). A live view that shows outcome, usage and
   * duration asks for this. @defaultValue 'all'
   */
  facts?: 'all' | 'call'
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const decoder = new TextDecoder('utf-8', { fatal: false })

function pathOf(url: string | undefined): string {
  if (url === undefined) return ''
  let rest = url
  const scheme = url.indexOf('://')
  if (scheme > 0 && scheme < 16) {
    const slash = url.indexOf('/', scheme + 3)
    rest = slash === -1 ? '/' : url.slice(slash)
  }
  const q = rest.search(/[?#]/)
  return (q === -1 ? rest : rest.slice(0, q)).toLowerCase()
}

/** Paths of known non-model endpoints: never read as a model call, whatever their body. */
const AUX_PATH_RE = /\/(?:count_tokens|batches|models|files|oauth|input_tokens)(?:\/|$)|(?:^|\/)api\/|\/backend-api\//

/** API of a model endpoint path, `undefined` for a path that is not one. */
function apiOfPath(path: string): Exclude<RequestApi, 'unknown'> | undefined {
  if (/\/messages\/(?:count_tokens|batches)(?:\/|$)/.test(path)) return undefined
  if (/(?:^|\/)v1\/messages$|\/messages$/.test(path)) return 'anthropic-messages'
  if (/\/chat\/completions$/.test(path)) return 'openai-chat'
  if (/\/responses$/.test(path)) return 'openai-responses'
  return undefined
}

function header(headers: RequestHeaders | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined
  for (const k of Object.keys(headers)) {
    if (k.toLowerCase() !== name) continue
    const v = headers[k]
    const s = Array.isArray(v) ? v[0] : v
    if (typeof s === 'string' && s !== '') return s
  }
  return undefined
}

function parseBody(body: unknown): Record<string, unknown> | undefined {
  let text: string | undefined
  // Bytes first: a Buffer is an object too.
  if (body instanceof Uint8Array) text = decoder.decode(body)
  else if (isObj(body)) return body
  else if (typeof body === 'string') text = body
  if (text === undefined) return undefined
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  if (!/^\s*\{/.test(t.slice(0, 64))) return undefined
  try {
    const v: unknown = JSON.parse(t)
    return isObj(v) ? v : undefined
  } catch {
    return undefined
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

function systemText(body: Record<string, unknown>, api: RequestApi): string | undefined {
  if (api === 'anthropic-messages') {
    const s = body['system']
    if (typeof s === 'string') return s === '' ? undefined : s
    if (Array.isArray(s)) {
      const parts = s.map((b) => (isObj(b) && typeof b['text'] === 'string' ? b['text'] : '')).filter((x) => x !== '')
      return parts.length === 0 ? undefined : parts.join('\n\n')
    }
    return undefined
  }
  if (api === 'openai-responses') return str(body['instructions'])
  if (api === 'openai-chat' && Array.isArray(body['messages'])) {
    const parts: string[] = []
    for (const m of body['messages']) {
      if (!isObj(m) || (m['role'] !== 'system' && m['role'] !== 'developer')) break
      const c = m['content']
      if (typeof c === 'string') parts.push(c)
      else if (Array.isArray(c)) for (const p of c) if (isObj(p) && typeof p['text'] === 'string') parts.push(p['text'])
    }
    return parts.length === 0 ? undefined : parts.join('\n\n')
  }
  return undefined
}

/** A tool definition's name (what {@link toolDefinition} names it), without decoding the rest. */
function toolName(t: unknown): string | undefined {
  if (!isObj(t)) return undefined
  const fn = isObj(t['function']) ? t['function'] : undefined
  return str(t['name']) ?? str(fn?.['name']) ?? str(t['type'])
}

function toolDefinition(t: unknown): ToolDefinition | undefined {
  if (!isObj(t)) return undefined
  const fn = isObj(t['function']) ? t['function'] : undefined
  const type = str(t['type'])
  const name = toolName(t)
  if (name === undefined) return undefined
  const def: ToolDefinition = { hash: contentHash(`tool\n${withoutCacheControl(t)}`), name, tool_kind: type === undefined || type === 'custom' && t['input_schema'] !== undefined ? 'function' : type }
  const description = str(t['description']) ?? str(fn?.['description'])
  if (description !== undefined) def.description = description
  const schema = t['input_schema'] ?? t['parameters'] ?? fn?.['parameters'] ?? t['format']
  if (schema !== undefined) def.schema = JSON.stringify(schema)
  return def
}

/**
 * The decoded tool lists seen last: agents send the same list with every request, found by value
 * (see request-memo.ts) without serializing it again.
 */
const toolLists = createValueMemo<{ tools: ToolDefinition[]; names: string[]; hash: string | undefined; key: string }>(16)
/** The text and hash of the system prompts (Anthropic `system`) seen last. */
const systems = createValueMemo<{ text: string; hash: string } | undefined>(8)
onClearRequestMemo(() => {
  toolLists.clear()
  systems.clear()
})

/**
 * The definitions, names and list hash of a request's tools, and the list's JSON without
 * `cache_control` (the key cache-segments memoizes tool segments by). A list seen before (the
 * usual case: an agent's tools do not change between requests) is found by value; a new one is
 * serialized and decoded tool by tool. Memoization only: the result is the same either way.
 */
function toolList(tools: unknown[]): { tools: ToolDefinition[]; names: string[]; hash: string | undefined; key: string } {
  const seen = toolLists.find(tools)
  if (seen !== undefined) return { tools: [...seen.tools], names: [...seen.names], hash: seen.hash, key: seen.key }
  const key = withoutCacheControl(tools)
  const defs: ToolDefinition[] = []
  const names: string[] = []
  for (const t of tools) {
    const def = toolDefinition(t)
    if (def === undefined) continue
    // Shared by every request with this list: read-only.
    defs.push(Object.freeze(def))
    names.push(def.name)
  }
  const hash = defs.length > 0 ? contentHash(`tools\n${defs.map((t) => t.hash).join(',')}`) : undefined
  toolLists.keep(tools, { tools: defs, names, hash, key })
  return { tools: [...defs], names: [...names], hash, key }
}

/** Anthropic `thinking` → `thinking:<budget>` / `thinking:adaptive`. */
function reasoningEffort(body: Record<string, unknown>): string | undefined {
  const r = body['reasoning']
  if (isObj(r) && typeof r['effort'] === 'string') return r['effort']
  if (typeof body['reasoning_effort'] === 'string') return body['reasoning_effort']
  const th = body['thinking']
  if (isObj(th)) {
    if (th['type'] === 'enabled') return typeof th['budget_tokens'] === 'number' ? `thinking:${th['budget_tokens']}` : 'thinking'
    if (th['type'] === 'adaptive') return 'thinking:adaptive'
  }
  const oc = body['output_config']
  if (isObj(oc) && typeof oc['effort'] === 'string') return oc['effort']
  return undefined
}

/** Canonical history units of a parsed body (see history-hash.ts); `history[i]` of the anatomy chains units 0..i. */
function unitsOf(body: Record<string, unknown>, api: Exclude<RequestApi, 'unknown'>): string[] {
  return unitsWithEnds(body, api, undefined).units
}

/** {@link unitsOf}, with where each unit ends; the first ones taken from an earlier request when its items are this one's. */
function unitsWithEnds(body: Record<string, unknown>, api: Exclude<RequestApi, 'unknown'>, prior: PriorHistory | undefined): UnitsOut & { known: number } {
  const out: UnitsOut & { known: number } = { units: [], ends: [], open: [], known: 0 }
  if (api === 'openai-responses') {
    const input = body['input']
    if (typeof input === 'string') out.units = responsesUnits(input)
    else if (Array.isArray(input)) responsesUnitsFrom(input, take(out, prior, input.length), out)
    return out
  }
  const messages = body['messages']
  if (!Array.isArray(messages)) return out
  let end = messages.length
  // Trailing `system` entries (Claude Code 2.1.x's deferred-tools list) are no history.
  if (api === 'anthropic-messages') while (end > 0 && isObj(messages[end - 1]) && (messages[end - 1] as Record<string, unknown>)['role'] === 'system') end--
  for (let i = take(out, prior, end); i < end; i++) {
    out.units.push(api === 'anthropic-messages' ? anthropicUnit(messages[i]) : chatUnit(messages[i]))
    out.ends.push(i + 1)
    out.open.push(false)
  }
  return out
}

/** Copies the units an earlier request shares with this one (none ending past `end`) into `out`; returns the item to go on from. */
function take(out: UnitsOut & { known: number }, prior: PriorHistory | undefined, end: number): number {
  if (prior === undefined) return 0
  let k = prior.units
  // (None does as priorHistory chooses: this request has the earlier one's last history item.)
  while (k > 0 && (prior.memo.ends[k - 1] as number) > end) k--
  if (k === 0) return 0
  out.units = prior.memo.units.slice(0, k)
  out.ends = prior.memo.ends.slice(0, k)
  out.open = prior.memo.open.slice(0, k)
  out.known = k
  return out.ends[k - 1] as number
}

/** The messages (Anthropic, Chat) or input items (Responses) of a body, when they are a list. */
function historyItems(body: Record<string, unknown>, api: Exclude<RequestApi, 'unknown'>): unknown[] | undefined {
  const v = api === 'openai-responses' ? body['input'] : body['messages']
  return Array.isArray(v) && v.length > 0 ? v : undefined
}

/**
 * The canonical history units of a request body, one per message (Responses: one per input
 * item, a response's consecutive output items together): what `history[i]` of
 * {@link analyzeRequest} hashes. For people reading where two histories part: unit `i` is a
 * role letter (`u`, `a`, `r` for a tool result, …) and the message's canonical JSON.
 *
 * @param body - the request body (parsed JSON, JSON text or bytes; a `response.create` frame)
 * @param api - the request's API (from {@link analyzeRequest}); a Codex frame is read as Responses
 * @example
 * requestHistoryUnits({ messages: [{ role: 'user', content: 'hi' }] }, 'anthropic-messages') // ['u["hi"]']
 */
export function requestHistoryUnits(body: unknown, api: RequestApi): string[] {
  let b = parseBody(body)
  if (b === undefined) return []
  if (b['type'] === 'response.create') {
    b = isObj(b['response']) ? b['response'] : b
    return unitsOf(b, 'openai-responses')
  }
  return api === 'unknown' ? [] : unitsOf(b, api)
}

/** Where a request's model fields are: its body (a Codex frame's `response` unwrapped), its API, prewarm, an out-of-line body. */
function locate(req: AnalyzedRequest, path: string): { body: Record<string, unknown> | undefined; api: Exclude<RequestApi, 'unknown'> | undefined; prewarm: boolean; body_ref?: string } {
  let body = parseBody(req.body)
  let api = apiOfPath(path)
  // Codex prewarms a WebSocket with `generate: false`: the server answers an empty response
  // that asked the model nothing.
  let prewarm = body !== undefined && body['generate'] === false
  if (body !== undefined && body['type'] === 'response.create') {
    // A Codex WebSocket frame: the request's fields at the top level, or under `response`.
    body = isObj(body['response']) ? body['response'] : body
    api = 'openai-responses'
    prewarm ||= body['generate'] === false
  }
  let body_ref: string | undefined
  if (body !== undefined && typeof body['$ref'] === 'string' && Object.keys(body).length <= 2) {
    body_ref = body['$ref']
    body = undefined
  }
  if (api === undefined && body !== undefined && str(body['model']) !== undefined && !AUX_PATH_RE.test(path)) {
    // An unknown path (a gateway, a local server) with a model request body.
    if (Array.isArray(body['input']) || typeof body['input'] === 'string') api = 'openai-responses'
    else if (Array.isArray(body['messages'])) api = req.provider === 'anthropic' || body['system'] !== undefined || body['max_tokens'] !== undefined && req.provider !== 'openai' ? 'anthropic-messages' : 'openai-chat'
  }
  return body_ref === undefined ? { body, api, prewarm } : { body, api, prewarm, body_ref }
}

/**
 * Only the history chain of a request: `analyzeRequest(req).history`, without decoding the rest
 * (tools, system prompt, cache segments, prompt, tool results). What the proxy's session chain
 * needs for every request that carries no session id of its own.
 *
 * @param req - the request's body (parsed JSON, JSON text or bytes; a `response.create` frame), URL and provider
 * @returns the chain hashes, oldest first; empty for a request that is not a model call or has no history
 * @example
 * requestHistory({ url: 'https://api.anthropic.com/v1/messages', body }) // ['9c1f…', '04ab…', …]
 */
export function requestHistory(req: AnalyzedRequest): string[] {
  const { body, api } = locate(req, pathOf(req.url))
  return api === undefined || body === undefined ? [] : historyChain(api, unitsOf(body, api))
}

/**
 * Decodes what a request asked for: whether it is a model call or an auxiliary one, its API,
 * the new user prompt and the tool results it carries, its configuration (model, max tokens,
 * temperature, reasoning effort, stream, tool names, message count, prompt cache key,
 * user agent), and content hashes: the system prompt, each tool definition, the tool list, and
 * the history chain (`history[i]` = H(history[i-1], unit i): a request extends another's
 * history when one of its prefix hashes is the other's `history_hash`).
 *
 * Bodies may be parsed JSON, JSON text or bytes; a Codex WebSocket `response.create` frame is
 * read as the Responses request it carries. A body stored out of line (`{"$ref": …}`) yields
 * `body_ref` and no content: resolve it (jsonl-io `readRawRef`) and analyze the body itself.
 * Malformed bodies never throw: they yield an anatomy with what could be read.
 *
 * @example
 * const a = analyzeRequest({ url: 'https://api.anthropic.com/v1/messages?beta=true', body, client: 'claude-code' })
 * a.kind        // 'model'
 * a.prompt      // 'List the files in src/'
 * a.history_hash // '3f9c…' (16 hex)
 */
export function analyzeRequest(req: AnalyzedRequest, opts: AnalyzeRequestOptions = {}): RequestAnatomy {
  const path = pathOf(req.url)
  const { body, api, prewarm, body_ref } = locate(req, path)
  const anatomy: RequestAnatomy = { kind: 'model', api: 'unknown', tool_results: [], tool_names: [], message_count: 0, tools: [], history: [], segments: [] }
  const ua = header(req.headers, 'user-agent')
  if (ua !== undefined) anatomy.user_agent = ua
  if (body_ref !== undefined) anatomy.body_ref = body_ref
  if (api === undefined) {
    anatomy.kind = 'aux'
    anatomy.aux_reason = path === '' ? 'no model request body' : `not a model endpoint: ${path}`
    return anatomy
  }
  anatomy.api = api
  if (body === undefined) return anatomy

  const model = str(body['model'])
  if (model !== undefined) anatomy.model = model
  const maxTokens = num(body['max_tokens']) ?? num(body['max_output_tokens']) ?? num(body['max_completion_tokens'])
  if (maxTokens !== undefined) anatomy.max_tokens = maxTokens
  const temperature = num(body['temperature'])
  if (temperature !== undefined) anatomy.temperature = temperature
  const effort = reasoningEffort(body)
  if (effort !== undefined) anatomy.reasoning_effort = effort
  if (typeof body['stream'] === 'boolean') anatomy.stream = body['stream']
  const pck = str(body['prompt_cache_key'])
  if (pck !== undefined) anatomy.prompt_cache_key = pck
  const prev = str(body['previous_response_id'])
  if (prev !== undefined) anatomy.previous_response_id = prev

  const tools = body['tools']
  if (opts.facts === 'call') {
    if (Array.isArray(tools)) for (const t of tools) {
      const name = toolName(t)
      if (name !== undefined) anatomy.tool_names.push(name)
    }
    anatomy.message_count = api === 'openai-responses' ? (Array.isArray(body['input']) ? body['input'].length : typeof body['input'] === 'string' ? 1 : 0) : Array.isArray(body['messages']) ? body['messages'].length : 0
    if (api === 'anthropic-messages' && req.client === 'claude-code' && anatomy.tool_names.length === 0 && Array.isArray(body['messages'])) {
      anatomy.kind = 'aux'
      anatomy.aux_reason = 'Claude Code request without tools (quota check, title or summary)'
    }
    return anatomy
  }
  let toolsKey: ToolsKey | undefined
  if (Array.isArray(tools) && tools.length > 0) {
    const list = toolList(tools)
    toolsKey = { list: tools, key: list.key }
    anatomy.tools = list.tools
    anatomy.tool_names = list.names
    if (list.hash !== undefined) anatomy.tools_hash = list.hash
  }
  // (An Anthropic system prompt is a list of blocks: one seen last is found without joining and hashing it.)
  const sysList = api === 'anthropic-messages' && Array.isArray(body['system']) ? body['system'] : undefined
  let system = sysList === undefined ? undefined : systems.find(sysList)
  if (system === undefined) {
    const sys = systemText(body, api)
    system = sys === undefined ? undefined : { hash: contentHash(`system\n${sys}`), text: sys }
    if (sysList !== undefined) systems.keep(sysList, system)
  }
  if (system !== undefined) anatomy.system = { hash: system.hash, text: system.text }

  if (api === 'openai-responses') {
    const input = body['input']
    anatomy.message_count = Array.isArray(input) ? input.length : typeof input === 'string' ? 1 : 0
  } else if (Array.isArray(body['messages'])) anatomy.message_count = body['messages'].length
  // What an earlier request of the conversation shares with this one is taken from it (request-memo.ts).
  const withText = opts.segmentTexts === true
  const items = withText ? undefined : historyItems(body, api)
  const prior = items === undefined ? undefined : priorHistory(api, items)
  const units = unitsWithEnds(body, api, prior)
  anatomy.history = historyChain(api, units.units, units.known > 0 && prior !== undefined ? prior.memo.chain.slice(0, units.known) : [])
  const last = anatomy.history[anatomy.history.length - 1]
  if (last !== undefined) anatomy.history_hash = last

  const cache = cacheSegmentsOf(body, api, withText, toolsKey, prior)
  anatomy.segments = cache.segments
  if (cache.texts !== undefined) anatomy.segment_texts = cache.texts
  if (items !== undefined) {
    const segments: CacheSegment[] = []
    let bytes = 0
    for (const seg of cache.segments) {
      if (seg.kind !== 'message') continue
      const { breakpoint: _, ...kept } = seg
      segments.push(kept)
      bytes += seg.bytes
    }
    if (segments.length === items.length) rememberHistory({ api, items, segments, units: units.units, ends: units.ends, open: units.open, chain: anatomy.history.slice(), bytes }, prior)
  }

  const turn = requestTurn(body, api, opts)
  if (turn.prompt !== undefined) anatomy.prompt = turn.prompt
  anatomy.tool_results = turn.tool_results

  if (prewarm && api === 'openai-responses') {
    anatomy.kind = 'aux'
    anatomy.aux_reason = 'prewarm (generate: false): no answer asked for'
  }
  if (api === 'anthropic-messages' && req.client === 'claude-code' && anatomy.tools.length === 0 && Array.isArray(body['messages'])) {
    anatomy.kind = 'aux'
    anatomy.aux_reason = 'Claude Code request without tools (quota check, title or summary)'
  }
  return anatomy
}

/**
 * The request a client's WebSocket frame carries, when it carries one: a Codex
 * `response.create` frame (the prompt, the function outputs of the previous response) is read as
 * the Responses request it is; any other frame (`response.cancel`, pings, junk) gives `undefined`.
 *
 * @param data - the frame's text (a `client_frame` record's `data`) or its parsed JSON
 * @param req - the flow's URL, headers, client and provider
 * @example
 * analyzeClientFrame(record.data, { url: flow.url })?.tool_results // [{ call_id: 'call_…', name: 'exec_command', exit_code: 1, … }]
 */
export function analyzeClientFrame(data: unknown, req: Omit<AnalyzedRequest, 'body'> = {}, opts: AnalyzeRequestOptions = {}): RequestAnatomy | undefined {
  const body = parseBody(data)
  if (body === undefined || body['type'] !== 'response.create') return undefined
  return analyzeRequest({ ...req, body }, opts)
}
