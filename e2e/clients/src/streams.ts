/**
 * What the fake provider sends: the events of each kind of answer (Anthropic Messages, OpenAI
 * Responses, Chat Completions) and the HTTP error bodies, built from one `Answer` so the tests
 * compute the expected capture and analyze rows from the same object the wire carried.
 */

/** Token counts of one answer, in the provider's own convention (see `usageJson`). */
export interface FakeUsage {
  /** Prompt tokens not read from or written to the cache. */
  input: number
  cacheRead: number
  /** Cache writes with a 5-minute TTL (Anthropic only). */
  cacheWrite5m: number
  /** Cache writes with a 1-hour TTL (Anthropic only). */
  cacheWrite1h: number
  /** Output tokens, reasoning included. */
  output: number
  /** Reasoning tokens (OpenAI only; part of `output`). */
  reasoning: number
}

/** One tool call of an answer, with its arguments as sent (a JSON text). */
export interface FakeToolCall {
  id: string
  name: string
  arguments: string
}

/** One model answer: what the fake provider streamed for one request. */
export interface Answer {
  /** The provider's id of the response (`msg_…`, `resp_…`, `chatcmpl-…`). */
  id: string
  model: string
  thinking: string
  text: string
  toolCalls: FakeToolCall[]
  stopReason: string
  usage: FakeUsage
}

/** One SSE event (or WebSocket text frame when `event` is ignored). */
export interface WireEvent {
  event?: string
  data: string
}

/**
 * Cuts `s` into pieces at the given offsets (clamped, sorted): used to split tool arguments inside
 * escapes (`\"`, `\n`, `\u00e9`) as real providers do.
 */
export function cutAt(s: string, offsets: readonly number[]): string[] {
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < s.length))].sort((a, b) => a - b)
  const out: string[] = []
  let at = 0
  for (const c of cuts) {
    out.push(s.slice(at, c))
    at = c
  }
  out.push(s.slice(at))
  return out
}

/** Offsets that fall inside every backslash escape of `json` (after the `\`, and mid `\uXXXX`). */
export function awkwardOffsets(json: string): number[] {
  const out: number[] = []
  for (let i = 0; i < json.length; i++) {
    if (json[i] !== '\\') continue
    out.push(i + 1)
    if (json[i + 1] === 'u') out.push(i + 3)
    i++
  }
  // And a few plain cuts, one inside a key, so not every fragment starts at an escape.
  out.push(2, 7, Math.floor(json.length / 2))
  return out
}

/** Text deltas of a few words each. */
export function words(text: string, per = 3): string[] {
  const parts = text.split(/(?<= )/)
  const out: string[] = []
  for (let i = 0; i < parts.length; i += per) out.push(parts.slice(i, i + per).join(''))
  return out
}

const ev = (event: string, data: unknown): WireEvent => ({ event, data: JSON.stringify(data) })

/** Anthropic Messages stream events of `a` (thinking, text, tool_use blocks; cumulative usage). */
export function anthropicEvents(a: Answer): WireEvent[] {
  const u = a.usage
  const usageStart = {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheWrite5m + u.cacheWrite1h,
    cache_read_input_tokens: u.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite5m, ephemeral_1h_input_tokens: u.cacheWrite1h },
    output_tokens: 1,
    service_tier: 'standard',
  }
  const out: WireEvent[] = [ev('message_start', { type: 'message_start', message: { id: a.id, type: 'message', role: 'assistant', model: a.model, content: [], stop_reason: null, stop_sequence: null, usage: usageStart } })]
  out.push(ev('ping', { type: 'ping' }))
  let index = 0
  if (a.thinking) {
    out.push(ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }))
    for (const t of words(a.thinking, 4)) out.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: t } }))
    out.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: `sig-${a.id}` } }))
    out.push(ev('content_block_stop', { type: 'content_block_stop', index }))
    index++
  }
  if (a.text) {
    out.push(ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }))
    for (const t of words(a.text)) out.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } }))
    out.push(ev('content_block_stop', { type: 'content_block_stop', index }))
    index++
  }
  for (const c of a.toolCalls) {
    out.push(ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }))
    for (const p of ['', ...cutAt(c.arguments, awkwardOffsets(c.arguments))]) out.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } }))
    out.push(ev('content_block_stop', { type: 'content_block_stop', index }))
    index++
  }
  out.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: a.stopReason, stop_sequence: null }, usage: { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite5m + u.cacheWrite1h, cache_read_input_tokens: u.cacheRead, output_tokens: u.output } }))
  out.push(ev('message_stop', { type: 'message_stop' }))
  return out
}

/** An Anthropic non-streamed answer (`stream: false` requests: Claude Code's quota and title calls). */
export function anthropicJson(a: Answer): unknown {
  const u = a.usage
  return { id: a.id, type: 'message', role: 'assistant', model: a.model, content: [{ type: 'text', text: a.text }], stop_reason: a.stopReason, stop_sequence: null, usage: { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite5m + u.cacheWrite1h, cache_read_input_tokens: u.cacheRead, output_tokens: u.output } }
}

/** OpenAI usage object: `input_tokens` includes cached ones, `output_tokens` includes reasoning. */
export function openaiUsage(u: FakeUsage): Record<string, unknown> {
  const input = u.input + u.cacheRead
  return { input_tokens: input, input_tokens_details: { cached_tokens: u.cacheRead }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: u.reasoning }, total_tokens: input + u.output }
}

/** OpenAI Responses stream events of `a` (reasoning summary, message text, function calls). */
export function responsesEvents(a: Answer): WireEvent[] {
  let seq = 0
  const out: WireEvent[] = []
  const push = (type: string, body: Record<string, unknown>): void => {
    out.push(ev(type, { type, sequence_number: seq++, ...body }))
  }
  const base = { id: a.id, object: 'response', created_at: 1764800000, model: a.model, output: [] as unknown[], parallel_tool_calls: false, tool_choice: 'auto', tools: [] }
  push('response.created', { response: { ...base, status: 'in_progress', usage: null } })
  push('response.in_progress', { response: { ...base, status: 'in_progress', usage: null } })
  const items: unknown[] = []
  let oi = 0
  if (a.thinking) {
    const id = `rs_${a.id}`
    push('response.output_item.added', { output_index: oi, item: { id, type: 'reasoning', summary: [] } })
    push('response.reasoning_summary_part.added', { item_id: id, output_index: oi, summary_index: 0, part: { type: 'summary_text', text: '' } })
    for (const t of words(a.thinking, 4)) push('response.reasoning_summary_text.delta', { item_id: id, output_index: oi, summary_index: 0, delta: t, obfuscation: 'x1y2' })
    push('response.reasoning_summary_text.done', { item_id: id, output_index: oi, summary_index: 0, text: a.thinking })
    push('response.reasoning_summary_part.done', { item_id: id, output_index: oi, summary_index: 0, part: { type: 'summary_text', text: a.thinking } })
    const item = { id, type: 'reasoning', summary: [{ type: 'summary_text', text: a.thinking }], encrypted_content: `enc-${a.id}` }
    push('response.output_item.done', { output_index: oi, item })
    items.push(item)
    oi++
  }
  if (a.text) {
    const id = `msg_${a.id}`
    push('response.output_item.added', { output_index: oi, item: { id, type: 'message', role: 'assistant', status: 'in_progress', content: [] } })
    push('response.content_part.added', { item_id: id, output_index: oi, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })
    for (const t of words(a.text)) push('response.output_text.delta', { item_id: id, output_index: oi, content_index: 0, delta: t, logprobs: [], obfuscation: 'ab' })
    push('response.output_text.done', { item_id: id, output_index: oi, content_index: 0, text: a.text, logprobs: [] })
    const part = { type: 'output_text', text: a.text, annotations: [] }
    push('response.content_part.done', { item_id: id, output_index: oi, content_index: 0, part })
    const item = { id, type: 'message', role: 'assistant', status: 'completed', content: [part] }
    push('response.output_item.done', { output_index: oi, item })
    items.push(item)
    oi++
  }
  for (const c of a.toolCalls) {
    const id = `fc_${c.id}`
    push('response.output_item.added', { output_index: oi, item: { id, type: 'function_call', status: 'in_progress', call_id: c.id, name: c.name, arguments: '' } })
    for (const d of cutAt(c.arguments, awkwardOffsets(c.arguments))) push('response.function_call_arguments.delta', { item_id: id, output_index: oi, delta: d, obfuscation: 'q' })
    push('response.function_call_arguments.done', { item_id: id, output_index: oi, arguments: c.arguments })
    const item = { id, type: 'function_call', status: 'completed', call_id: c.id, name: c.name, arguments: c.arguments }
    push('response.output_item.done', { output_index: oi, item })
    items.push(item)
    oi++
  }
  push('response.completed', { response: { ...base, status: 'completed', output: items, usage: openaiUsage(a.usage) } })
  return out
}

/** Chat Completions stream chunks of `a` (content, tool_calls with split arguments, a usage chunk, `[DONE]`). */
export function chatEvents(a: Answer): WireEvent[] {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): WireEvent => ({ data: JSON.stringify({ id: a.id, object: 'chat.completion.chunk', created: 1764800000, model: a.model, system_fingerprint: 'fp_e2e', choices, ...extra }) })
  const out: WireEvent[] = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])]
  for (const t of words(a.text)) out.push(chunk([{ index: 0, delta: { content: t }, logprobs: null, finish_reason: null }]))
  a.toolCalls.forEach((c, i) => {
    out.push(chunk([{ index: 0, delta: { tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, logprobs: null, finish_reason: null }]))
    for (const d of cutAt(c.arguments, awkwardOffsets(c.arguments))) out.push(chunk([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: d } }] }, logprobs: null, finish_reason: null }]))
  })
  out.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: a.stopReason }]))
  const u = a.usage
  out.push(chunk([], { usage: { prompt_tokens: u.input + u.cacheRead, completion_tokens: u.output, total_tokens: u.input + u.cacheRead + u.output, prompt_tokens_details: { cached_tokens: u.cacheRead }, completion_tokens_details: { reasoning_tokens: u.reasoning } } }))
  out.push({ data: '[DONE]' })
  return out
}

/** Bytes of SSE events on the wire. */
export function sseText(events: readonly WireEvent[]): string {
  return events.map((e) => `${e.event !== undefined ? `event: ${e.event}\n` : ''}${e.data.split('\n').map((d) => `data: ${d}\n`).join('')}\n`).join('')
}

/** An HTTP error the fake provider answers once before the real answer (the client retries). */
export interface FakeError {
  status: number
  /** The provider's error type (`rate_limit_error`, `overloaded_error`; OpenAI `error.type`). */
  type: string
  /** OpenAI's `error.code` (`rate_limit_exceeded`, `server_is_overloaded`). */
  code?: string
  message: string
  body: unknown
}

/** The provider's error body for an HTTP status: Anthropic 429 / 529, OpenAI 429 / 503. */
export function providerError(api: 'anthropic' | 'openai', status: number): FakeError {
  if (api === 'anthropic') {
    const [type, message] = status === 429 ? ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'] : status === 529 ? ['overloaded_error', 'Overloaded'] : ['api_error', 'Internal server error']
    return { status, type, message, body: { type: 'error', error: { type, message }, request_id: `req_e2e_${status}` } }
  }
  const [type, code, message] = status === 429 ? ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests per min. Please try again in 20ms.'] : status === 503 ? ['service_unavailable_error', 'server_is_overloaded', 'The server is overloaded. Please try again later.'] : ['server_error', 'server_error', 'The server had an error while processing your request.']
  return { status, type, code, message, body: { error: { message, type, param: null, code } } }
}
