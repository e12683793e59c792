/**
 * Content hashes of a request: the system prompt, each tool definition, the tool list, and a
 * chain hash over the conversation history, `h_i = H(h_{i-1}, unit_i)`, so "request B extends
 * request A's history" is one hash lookup (B's i-th prefix hash equals A's last).
 *
 * History units are canonical: only what identifies the conversation is hashed, so the same
 * history sent twice hashes the same even when the client moved its cache markers
 * (`cache_control`), dropped thinking blocks, or re-serialized tool arguments. An assistant turn
 * hashes the same whether it is read from a later request's history or built from the response
 * (see {@link assistantUnit}), which lets a session chain match "A's history plus A's response".
 */
import { hash } from 'node:crypto'

/** Hex characters kept of a SHA-256 (64 bits: collisions are negligible at capture scale). */
const HASH_HEX = 16

/** A short content hash: the first 16 hex characters of SHA-256. */
export function contentHash(text: string): string {
  return hash('sha256', text, 'hex').slice(0, HASH_HEX)
}

/** The next link of a history chain. */
export function chainHash(prev: string, unit: string): string {
  return hash('sha256', `${prev}\n${unit}`, 'hex').slice(0, HASH_HEX)
}

/** A tool call of an assistant turn, as the chain sees it. */
export interface TurnToolCall {
  call_id: string
  name: string
  /** Arguments: JSON text or a parsed value (compared canonically), raw text for custom tools. */
  arguments: unknown
}

/**
 * An assistant turn (one model response), as the session chain needs it: its text blocks and its
 * client-side tool calls (function, custom and local shell calls; server-side tools are left out,
 * the client does not resend them the same way).
 */
export interface AssistantTurn {
  /** Text blocks / output_text parts, in order. */
  texts: readonly string[]
  tool_calls: readonly TurnToolCall[]
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Arguments in one spelling: JSON re-serialized (whitespace and number spelling do not count), other text as is. */
export function canonicalArgs(args: unknown): string {
  if (typeof args === 'string') {
    const c = args.charCodeAt(0)
    if (c === 0x7b || c === 0x5b) {
      try {
        return JSON.stringify(JSON.parse(args))
      } catch {
        return args
      }
    }
    return args
  }
  return args === undefined ? '' : (JSON.stringify(args) ?? '')
}

/**
 * The canonical unit of an assistant turn: its texts joined and trimmed (block boundaries and
 * surrounding whitespace do not count), then its tool calls in order.
 */
export function assistantUnit(turn: AssistantTurn): string {
  const calls: [string, string, string][] = []
  for (const c of turn.tool_calls) calls.push([c.call_id, c.name, canonicalArgs(c.arguments)])
  return `a${JSON.stringify([turn.texts.join('').trim(), calls])}`
}

/** A `"cache_control":{…}` member in JSON text, with the commas around it. */
const CACHE_CONTROL = /(,?)"cache_control":\{[^{}]*\}(,?)/g

/**
 * JSON of a value without `cache_control` keys (clients move them between requests). A plain
 * `JSON.stringify` (a replacer function is several times slower), then the members removed from
 * the text: a raw `"cache_control":` can only be a key, since quotes inside strings are escaped.
 * The result equals `JSON.stringify(v, (k, x) => (k === 'cache_control' ? undefined : x))`.
 */
export function withoutCacheControl(v: unknown): string {
  const json = JSON.stringify(v) ?? ''
  if (!json.includes('"cache_control":')) return json
  return json.replace(CACHE_CONTROL, (_m, before: string, after: string) => (before !== '' && after !== '' ? ',' : ''))
}

/** Text of a tool result's content: a string, or its text blocks joined (other blocks as `[type]`). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    const parts: string[] = []
    for (const b of content) {
      if (isObj(b) && typeof b['text'] === 'string') parts.push(b['text'])
      else if (isObj(b) && typeof b['type'] === 'string') parts.push(`[${b['type']}]`)
      else if (typeof b === 'string') parts.push(b)
    }
    return parts.join('\n')
  }
  return content === undefined || content === null ? '' : (JSON.stringify(content) ?? '')
}

/** Anthropic content blocks that are left out of the history: clients may drop or rewrite them. */
const SKIPPED_BLOCKS = new Set(['thinking', 'redacted_thinking'])

/** Canonical unit of one Anthropic `messages[]` entry. */
export function anthropicUnit(m: unknown): string {
  if (!isObj(m)) return `?${JSON.stringify(m) ?? ''}`
  const role = typeof m['role'] === 'string' ? m['role'] : '?'
  const content = m['content']
  if (role === 'assistant') {
    const texts: string[] = []
    const calls: TurnToolCall[] = []
    const other: string[] = []
    if (typeof content === 'string') texts.push(content)
    else if (Array.isArray(content)) {
      for (const b of content) {
        if (!isObj(b)) continue
        const t = b['type']
        if (t === 'text' && typeof b['text'] === 'string') texts.push(b['text'])
        else if (t === 'tool_use') calls.push({ call_id: String(b['id'] ?? ''), name: String(b['name'] ?? ''), arguments: b['input'] })
        else if (typeof t !== 'string' || !SKIPPED_BLOCKS.has(t)) other.push(withoutCacheControl(b))
      }
    }
    const unit = assistantUnit({ texts, tool_calls: calls })
    return other.length === 0 ? unit : `${unit}${JSON.stringify(other)}`
  }
  const parts: unknown[] = []
  if (typeof content === 'string') parts.push(content.trim())
  else if (Array.isArray(content)) {
    for (const b of content) {
      if (!isObj(b)) continue
      const t = b['type']
      if (t === 'text' && typeof b['text'] === 'string') parts.push(b['text'].trim())
      else if (t === 'tool_result') parts.push(['r', String(b['tool_use_id'] ?? ''), contentText(b['content']), b['is_error'] === true])
      else if (typeof t !== 'string' || !SKIPPED_BLOCKS.has(t)) parts.push(withoutCacheControl(b))
    }
  }
  return `${role.charAt(0)}${JSON.stringify(parts)}`
}

/** Responses item types that belong to the assistant's side of a turn (one response's output). */
const ASSISTANT_ITEMS = new Set(['reasoning', 'function_call', 'custom_tool_call', 'local_shell_call', 'web_search_call', 'file_search_call', 'computer_call', 'code_interpreter_call', 'image_generation_call', 'mcp_call', 'mcp_list_tools', 'mcp_approval_request'])

function isAssistantItem(it: unknown): boolean {
  if (!isObj(it)) return false
  const t = it['type']
  if (t === 'message' || t === undefined) return it['role'] === 'assistant'
  return typeof t === 'string' && ASSISTANT_ITEMS.has(t)
}

function responsesAssistantGroup(items: readonly unknown[]): string {
  const texts: string[] = []
  const calls: TurnToolCall[] = []
  for (const it of items) {
    if (!isObj(it)) continue
    const t = it['type']
    if (t === 'message' || t === undefined) {
      const c = it['content']
      if (typeof c === 'string') texts.push(c)
      else if (Array.isArray(c)) for (const p of c) if (isObj(p) && typeof p['text'] === 'string') texts.push(p['text'])
    } else if (t === 'function_call' || t === 'custom_tool_call') {
      calls.push({ call_id: String(it['call_id'] ?? ''), name: String(it['name'] ?? ''), arguments: t === 'custom_tool_call' ? String(it['input'] ?? '') : it['arguments'] })
    } else if (t === 'local_shell_call') {
      calls.push({ call_id: String(it['call_id'] ?? ''), name: 'local_shell', arguments: it['action'] })
    }
  }
  return assistantUnit({ texts, tool_calls: calls })
}

function responsesItemUnit(it: unknown): string {
  if (typeof it === 'string') return `u${JSON.stringify([it.trim()])}`
  if (!isObj(it)) return `?${JSON.stringify(it) ?? ''}`
  const t = it['type']
  if (t === 'message' || t === undefined) {
    const role = typeof it['role'] === 'string' ? it['role'] : '?'
    const c = it['content']
    const parts: unknown[] = []
    if (typeof c === 'string') parts.push(c.trim())
    else if (Array.isArray(c)) for (const p of c) parts.push(isObj(p) && typeof p['text'] === 'string' ? p['text'].trim() : withoutCacheControl(p))
    return `${role.charAt(0)}${JSON.stringify(parts)}`
  }
  if (typeof t === 'string' && t.endsWith('_call_output')) return `r${JSON.stringify([String(it['call_id'] ?? ''), contentText(it['output'])])}`
  return `x${withoutCacheControl(it)}`
}

/**
 * Canonical units of an OpenAI Responses `input`: consecutive assistant-side items (reasoning,
 * the assistant message, its tool calls: one response's output) make one unit, like an
 * Anthropic assistant message; every other item is a unit of its own.
 */
export function responsesUnits(input: unknown): string[] {
  if (typeof input === 'string') return [responsesItemUnit(input)]
  if (!Array.isArray(input)) return []
  const out: UnitsOut = { units: [], ends: [], open: [] }
  responsesUnitsFrom(input, 0, out)
  return out.units
}

/** Units with where each ends: the item after it, and whether a next item could still join it (an assistant group). */
export interface UnitsOut {
  units: string[]
  ends: number[]
  open: boolean[]
}

/** {@link responsesUnits} of `input` from item `start` on (a unit boundary), appended to `out`. */
export function responsesUnitsFrom(input: readonly unknown[], start: number, out: UnitsOut): void {
  let i = start
  while (i < input.length) {
    if (isAssistantItem(input[i])) {
      let j = i
      while (j < input.length && isAssistantItem(input[j])) j++
      out.units.push(responsesAssistantGroup(input.slice(i, j)))
      out.ends.push(j)
      out.open.push(true)
      i = j
    } else {
      out.units.push(responsesItemUnit(input[i]))
      out.ends.push(i + 1)
      out.open.push(false)
      i++
    }
  }
}

/** Canonical unit of one Chat Completions `messages[]` entry. */
export function chatUnit(m: unknown): string {
  if (!isObj(m)) return `?${JSON.stringify(m) ?? ''}`
  const role = typeof m['role'] === 'string' ? m['role'] : '?'
  if (role === 'assistant') {
    const c = m['content']
    const texts = typeof c === 'string' ? [c] : Array.isArray(c) ? c.map((p) => (isObj(p) && typeof p['text'] === 'string' ? p['text'] : '')) : []
    const calls: TurnToolCall[] = []
    if (Array.isArray(m['tool_calls'])) {
      for (const t of m['tool_calls']) {
        if (!isObj(t)) continue
        const fn = isObj(t['function']) ? t['function'] : isObj(t['custom']) ? t['custom'] : {}
        calls.push({ call_id: String(t['id'] ?? ''), name: String(fn['name'] ?? ''), arguments: fn['arguments'] ?? fn['input'] })
      }
    }
    return assistantUnit({ texts, tool_calls: calls })
  }
  if (role === 'tool') return `r${JSON.stringify([String(m['tool_call_id'] ?? ''), contentText(m['content'])])}`
  const c = m['content']
  return `${role.charAt(0)}${JSON.stringify(typeof c === 'string' ? [c.trim()] : Array.isArray(c) ? c.map((p) => (isObj(p) && typeof p['text'] === 'string' ? p['text'].trim() : withoutCacheControl(p))) : [])}`
}

/**
 * The chain over units: `[h_1, …, h_n]`, h_0 being the API's name (histories of two APIs never
 * chain). `known` are the first links when they are known already (an earlier request's chain
 * over the same first units).
 */
export function historyChain(seed: string, units: readonly string[], known: readonly string[] = []): string[] {
  const out: string[] = new Array<string>(units.length)
  let h = seed
  for (let i = 0; i < units.length; i++) {
    // The first links may be known (an earlier request's chain over the same first units).
    h = i < known.length ? (known[i] as string) : chainHash(h, units[i] as string)
    out[i] = h
  }
  return out
}
