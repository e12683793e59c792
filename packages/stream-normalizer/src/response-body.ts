import { createAnthropicAdapter } from './adapters/anthropic.js'
import { emitUnknown, errorEventFields, obj, str, withBase, type Adapter, type AdapterContext } from './adapters/common.js'
import { createOpenAIChatAdapter } from './adapters/openai-chat.js'
import { createOpenAIResponsesAdapter } from './adapters/openai-responses.js'
import { detectStreamProvider, type ProviderHint } from './detect-provider.js'
import { NormalizerError, excerptOf, type NormalizerErrorCode } from './errors.js'
import type { NormalizeResult } from './stream-normalizer.js'
import type { AgentEvent, ErrorEvent, MessageEndEvent, StreamProvider } from './types.js'

/** Options of {@link normalizeResponseBody}. */
export interface NormalizeBodyOptions {
  /** Flow id put on every event and error. */
  flow_id: string
  /** API family of the body; detected from `flow`, then from the body's shape, when absent. */
  provider?: StreamProvider
  /** The flow record (or what is known of it), for provider detection. */
  flow?: ProviderHint
  /** HTTP status of the response: a body of a status ≥ 400 that no provider shape explains is still an error. */
  status?: number
  /** Emit `tool_args_delta` events (false: arguments only come joined, in `tool_call_end`). @defaultValue true */
  toolArgDeltas?: boolean
  /**
   * Longest error message kept from a body that is not a provider error object (an HTML error
   * page, a gateway's plain text), in characters.
   * @defaultValue 500
   */
  maxMessageChars?: number
}

/** Provider of a whole (non-streamed) response body from its shape. */
function providerOfBody(v: Record<string, unknown>): StreamProvider {
  const type = v['type']
  if (type === 'message') return 'anthropic'
  if (v['object'] === 'response' || (typeof type === 'string' && type.startsWith('response.'))) return 'openai-responses'
  if (v['object'] === 'chat.completion' || Array.isArray(v['choices'])) return 'openai-chat'
  return 'unknown'
}

function isErrorBody(v: Record<string, unknown>): boolean {
  return v['type'] === 'error' || (obj(v['error']) !== undefined && v['object'] !== 'response' && !Array.isArray(v['choices']))
}

function makeAdapter(provider: StreamProvider, ctx: AdapterContext): Adapter | undefined {
  if (provider === 'anthropic') return createAnthropicAdapter(ctx)
  if (provider === 'openai-responses') return createOpenAIResponsesAdapter(ctx)
  if (provider === 'openai-chat') return createOpenAIChatAdapter(ctx)
  return undefined
}

/** An Anthropic `Message` object, as the stream that would have carried it. */
function anthropicMessage(a: Adapter, m: Record<string, unknown>): void {
  const { content, stop_reason, stop_sequence, usage, ...head } = m
  a.event({ type: 'message_start', message: usage === undefined ? head : { ...head, usage } }, 'message_start', undefined, '')
  if (Array.isArray(content)) {
    content.forEach((block, index) => {
      a.event({ type: 'content_block_start', index, content_block: block }, 'content_block_start', undefined, '')
      a.event({ type: 'content_block_stop', index }, 'content_block_stop', undefined, '')
    })
  }
  const delta: Record<string, unknown> = { type: 'message_delta', delta: { stop_reason, stop_sequence } }
  if (usage !== undefined) delta['usage'] = usage
  a.event(delta, 'message_delta', undefined, '')
  a.event({ type: 'message_stop' }, 'message_stop', undefined, '')
}

/** An OpenAI Responses `Response` object, as the stream that would have carried it. */
function responsesResponse(a: Adapter, r: Record<string, unknown>): void {
  const ev = (v: Record<string, unknown>): void => a.event(v, str(v['type']), undefined, '')
  ev({ type: 'response.created', response: { ...r, output: [] } })
  const output = Array.isArray(r['output']) ? r['output'] : []
  output.forEach((raw, output_index) => {
    const item = obj(raw)
    if (item === undefined) return
    const item_id = str(item['id'])
    const type = str(item['type'])
    if (type === 'message') {
      for (const p of Array.isArray(item['content']) ? item['content'] : []) {
        const part = obj(p)
        if (part === undefined) continue
        if (part['type'] === 'output_text' && typeof part['text'] === 'string') ev({ type: 'response.output_text.delta', output_index, item_id, delta: part['text'] })
        else if (part['type'] === 'refusal' && typeof part['refusal'] === 'string') ev({ type: 'response.refusal.delta', output_index, item_id, delta: part['refusal'] })
      }
      return
    }
    if (type === 'reasoning') {
      const summary = Array.isArray(item['summary']) ? item['summary'] : []
      summary.forEach((s, summary_index) => {
        const text = str(obj(s)?.['text'])
        if (text === undefined) return
        ev({ type: 'response.reasoning_summary_part.added', output_index, item_id, summary_index })
        ev({ type: 'response.reasoning_summary_text.delta', output_index, item_id, summary_index, delta: text })
      })
      for (const c of Array.isArray(item['content']) ? item['content'] : []) {
        const text = str(obj(c)?.['text'])
        if (text !== undefined && obj(c)?.['type'] === 'reasoning_text') ev({ type: 'response.reasoning_text.delta', output_index, item_id, delta: text })
      }
      return
    }
    // Tool calls and anything else: the finished item, as `output_item.done` carries it.
    ev({ type: 'response.output_item.done', output_index, item })
  })
  const status = r['status']
  ev({ type: status === 'failed' ? 'response.failed' : status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: r })
}

/** An OpenAI `ChatCompletion` object, as the one chunk (then `[DONE]`) that would have carried it. */
function chatCompletion(a: Adapter, c: Record<string, unknown>): void {
  const choices = (Array.isArray(c['choices']) ? c['choices'] : []).map((raw, i) => {
    const ch = obj(raw) ?? {}
    const m = obj(ch['message']) ?? {}
    const delta: Record<string, unknown> = { ...m }
    const content = m['content']
    if (Array.isArray(content)) delta['content'] = content.map((p) => str(obj(p)?.['text']) ?? '').join('')
    if (Array.isArray(m['tool_calls'])) delta['tool_calls'] = m['tool_calls'].map((t, index) => ({ index, ...(obj(t) ?? {}) }))
    return { index: typeof ch['index'] === 'number' ? ch['index'] : i, delta, finish_reason: ch['finish_reason'] ?? null }
  })
  const chunk: Record<string, unknown> = { ...c, object: 'chat.completion.chunk', choices }
  a.event(chunk, undefined, undefined, '')
  a.done(undefined, undefined)
}

/**
 * Normalizes a whole (non-streamed) response body into the same unified events a stream of it
 * would have given: an Anthropic `Message`, an OpenAI Responses `Response`, a `ChatCompletion`,
 * or an HTTP error body (`{"type":"error","error":{…}}`, `{"error":{"message","type","code"}}`,
 * `{"detail":…}`, or plain text / HTML with a status ≥ 400). The body goes through the provider's
 * stream adapter, so both paths share every rule (usage conventions, tool-call assembly, errors).
 * A body that says nothing a model said becomes an `unknown` event; the events always end with
 * one `message_end` (`incomplete: true` for error bodies).
 *
 * @param body - the body: parsed JSON, or its text
 * @param opts - flow id, provider hints, HTTP status
 * @example
 * normalizeResponseBody({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, { flow_id: 'f1', status: 529 }).events
 * // [{ type: 'error', error_type: 'overloaded_error', message: 'Overloaded', … }, { type: 'message_end', stop_reason: 'error', incomplete: true, … }]
 */
export function normalizeResponseBody(body: unknown, opts: NormalizeBodyOptions): NormalizeResult {
  const { flow_id } = opts
  const events: AgentEvent[] = []
  const errors: NormalizerError[] = []
  const maxChars = opts.maxMessageChars ?? 500
  const failed = opts.status !== undefined && opts.status >= 400
  const report = (code: NormalizerErrorCode, message: string, seq: number | undefined, event: string | undefined, data?: string): void => {
    const context: { flow_id: string; seq?: number; event?: string; excerpt?: string } = { flow_id }
    if (seq !== undefined) context.seq = seq
    if (event !== undefined) context.event = event
    if (data !== undefined && data !== '') context.excerpt = excerptOf(data)
    errors.push(new NormalizerError(code, `flow ${flow_id} response body: ${message}`, context))
  }
  let provider: StreamProvider = opts.provider ?? detectStreamProvider(opts.flow)
  const ctx: AdapterContext = { flow_id, provider, argDeltas: opts.toolArgDeltas !== false, emit: (e) => events.push(e), error: report }
  const end = (stop: string | undefined): void => {
    const e: MessageEndEvent = { type: 'message_end', flow_id, provider: ctx.provider, incomplete: true }
    if (stop !== undefined) e.stop_reason = stop
    events.push(e)
  }
  const plainError = (message: string, fields?: { error_type?: string; code?: string }): void => {
    const cut = message.length > maxChars ? `${message.slice(0, maxChars)}…` : message
    events.push(withBase<ErrorEvent>({ type: 'error', flow_id, provider: ctx.provider, ...fields, message: cut }, undefined, undefined))
    end('error')
  }

  let value: unknown = body
  let text: string | undefined
  if (typeof body === 'string') {
    text = body
    const t = body.trimStart()
    if (t.startsWith('{')) {
      try {
        value = JSON.parse(t)
      } catch {
        value = undefined
      }
    } else value = undefined
  }
  const v = obj(value)
  if (v === undefined) {
    const shown = text ?? (body === undefined || body === null ? '' : JSON.stringify(body) ?? '')
    if (failed) plainError(shown.trim() === '' ? `HTTP ${opts.status} with an empty body` : shown.trim(), { error_type: `http_${opts.status}` })
    else {
      report('MALFORMED_JSON', 'the response body is not a JSON object; kept as an unknown event', undefined, undefined, shown)
      emitUnknown(ctx, undefined, undefined, shown.length > maxChars ? shown.slice(0, maxChars) : shown, 'response body is not a JSON object')
      end(undefined)
    }
    return { events, errors, provider: ctx.provider }
  }
  const errorBody = isErrorBody(v)
  const shape = providerOfBody(v)
  // The body's own shape wins over the flow's hints (a gateway may serve Chat Completions on any path).
  if (shape !== 'unknown') provider = shape
  ctx.provider = provider
  const adapter = errorBody || shape !== 'unknown' ? makeAdapter(provider, ctx) : undefined
  if (adapter === undefined) {
    if (errorBody) {
      const f = errorEventFields(obj(v['error']) ?? v)
      plainError(f.message, f)
    } else if (failed) {
      // Not a provider error object (a gateway's `{"detail": …}`): still an error, as the status says.
      plainError(str(v['detail']) ?? str(v['message']) ?? JSON.stringify(v), { error_type: `http_${opts.status}` })
    } else {
      report('UNEXPECTED_EVENT', 'the response body is no model response (Message, Response, ChatCompletion) nor an error; kept as an unknown event', undefined, undefined, JSON.stringify(v))
      emitUnknown(ctx, undefined, undefined, '', 'response body is no model response')
      end(undefined)
    }
    return { events, errors, provider: ctx.provider }
  }
  if (errorBody) adapter.event(v, 'error', undefined, '')
  else if (provider === 'anthropic') anthropicMessage(adapter, v)
  else if (provider === 'openai-responses') responsesResponse(adapter, v)
  else chatCompletion(adapter, v)
  adapter.end()
  return { events, errors, provider: ctx.provider }
}
