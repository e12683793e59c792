import type { ErrorEvent, MessageEndEvent, MessageStartEvent, ThinkingDeltaEvent, ToolCallKind, Usage, UsageEvent } from '../types.js'
import { CODEX_RATE_LIMITS_EVENT, readCodexRateLimits } from '../rate-limits.js'
import { emitToolDelta, emitToolEnd, emitToolStart, emitUnknown, errorEventFields, newToolCall, num, obj, setUsage, str, textDelta, thinkingDelta, withBase, type Adapter, type AdapterContext, type ToolCall } from './common.js'

/** Item types that are tool calls, their kind and the name to use when the item has none. */
const TOOL_ITEMS: Record<string, [ToolCallKind, string]> = {
  function_call: ['function', ''],
  custom_tool_call: ['custom', ''],
  local_shell_call: ['local_shell', 'local_shell'],
  computer_call: ['function', 'computer'],
  web_search_call: ['server', 'web_search'],
  file_search_call: ['server', 'file_search'],
  code_interpreter_call: ['server', 'code_interpreter'],
  image_generation_call: ['server', 'image_generation'],
  mcp_call: ['server', ''],
}

/** Whether an output item is a tool call: a known one, or any `*_call` item (a server tool the table does not name yet). */
const isToolItem = (itemType: string): boolean => TOOL_ITEMS[itemType] !== undefined || itemType.endsWith('_call')

/** Item types that carry no tool call (their content streams through their own deltas). */
const PLAIN_ITEMS = new Set(['message', 'reasoning', 'mcp_list_tools', 'mcp_approval_request', 'compaction'])

const ARG_DELTAS = new Set([
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.mcp_call_arguments.delta',
  'response.code_interpreter_call_code.delta',
])

const ARG_DONES = new Set([
  'response.function_call_arguments.done',
  'response.custom_tool_call_input.done',
  'response.mcp_call_arguments.done',
  'response.code_interpreter_call_code.done',
])

/** Known events that add nothing the unified stream does not already carry. */
const NO_OP = new Set([
  'response.in_progress',
  'response.queued',
  'response.output_text.done',
  'response.output_text.annotation.added',
  'response.content_part.added',
  'response.content_part.done',
  'response.reasoning_summary_part.done',
  'response.reasoning_summary_text.done',
  'response.reasoning_text.done',
  'response.refusal.done',
])
const NO_OP_ITEM_PROGRESS = /^response\.(?:web_search_call|file_search_call|image_generation_call|mcp_call|mcp_list_tools|code_interpreter_call)\.(?:in_progress|searching|completed|failed|generating|interpreting|partial_image)$/

/** Final argument text of a finished tool item. */
function itemArguments(item: Record<string, unknown>): string | undefined {
  const a = item['arguments'] ?? item['input'] ?? item['code']
  if (typeof a === 'string') return a
  const action = item['action']
  if (action !== undefined && action !== null) return JSON.stringify(action)
  return undefined
}

/**
 * OpenAI Responses stream (Codex CLI, over SSE or WebSocket text frames) → unified events.
 * Tool calls are keyed by `item_id` (falling back to `output_index`); `response.completed`
 * usage is the flow's total (`cumulative: true`), with cached and reasoning token details.
 */
export function createOpenAIResponsesAdapter(ctx: AdapterContext): Adapter {
  return new ResponsesAdapter(ctx)
}

const provider = 'openai-responses' as const

/** A class, not closures made per flow: see the Anthropic adapter (its methods are compiled once per process). */
class ResponsesAdapter implements Adapter {
  private readonly flow_id: string
  private started = false
  private ended = false
  /** Responses seen in this flow: a WebSocket connection carries one after another. */
  private responses = 0
  private errored = false
  private lastError: string | undefined = undefined
  private lastErrorCode: string | undefined = undefined
  private byItem = new Map<string, ToolCall>()
  private byIndex: (ToolCall | undefined)[] = []

  constructor(private readonly ctx: AdapterContext) {
    this.flow_id = ctx.flow_id
  }

  private lookup(v: Record<string, unknown>): ToolCall | undefined {
    const id = str(v['item_id'])
    if (id !== undefined) {
      const tc = this.byItem.get(id)
      if (tc !== undefined) return tc
    }
    const oi = num(v['output_index'])
    return oi === undefined ? undefined : this.byIndex[oi]
  }

  /** The `item` of an `output_item.added` / `.done` event, when it has a type; reported as unknown (`what` without item.type) otherwise. */
  private outputItem(v: Record<string, unknown>, seq: number | undefined, name: string, data: string, what: string): Record<string, unknown> | undefined {
    const item = obj(v['item'])
    if (item !== undefined && str(item['type']) !== undefined) return item
    emitUnknown(this.ctx, seq, name, data, `${what} without item.type`, num(v['output_index']))
    return undefined
  }

  private startTool(item: Record<string, unknown>, itemType: string, oi: number | undefined, seq: number | undefined): ToolCall {
    const spec = TOOL_ITEMS[itemType]
    const kind: ToolCallKind = spec?.[0] ?? 'server'
    const name = str(item['name']) ?? (spec?.[1] || itemType.replace(/_call$/, ''))
    const tc = newToolCall(name, kind, str(item['call_id']) ?? (kind === 'server' ? str(item['id']) : undefined), str(item['id']), oi)
    const server = str(item['server_label'])
    if (server !== undefined) tc.server = server
    if (tc.item_id !== undefined) this.byItem.set(tc.item_id, tc)
    if (oi !== undefined) this.byIndex[oi] = tc
    emitToolStart(this.ctx, tc, seq)
    const initial = str(item['arguments']) ?? str(item['input'])
    if (initial) emitToolDelta(this.ctx, tc, seq, initial)
    return tc
  }

  private forget(tc: ToolCall): void {
    if (tc.item_id !== undefined) this.byItem.delete(tc.item_id)
    if (tc.index !== undefined && this.byIndex[tc.index] === tc) this.byIndex[tc.index] = undefined
  }

  private flushTools(seq: number | undefined): void {
    for (const tc of this.byItem.values()) if (tc.open) emitToolEnd(this.ctx, tc, seq, true)
    for (const tc of this.byIndex) if (tc?.open) emitToolEnd(this.ctx, tc, seq, true)
    this.byItem = new Map()
    this.byIndex = []
  }

  private emitUsage(r: Record<string, unknown> | undefined, seq: number | undefined): void {
    const u = obj(r?.['usage'])
    if (u === undefined) return
    const usage: Usage = {}
    setUsage(usage, 'input_tokens', u['input_tokens'])
    setUsage(usage, 'output_tokens', u['output_tokens'])
    setUsage(usage, 'cache_read_input_tokens', obj(u['input_tokens_details'])?.['cached_tokens'])
    setUsage(usage, 'reasoning_tokens', obj(u['output_tokens_details'])?.['reasoning_tokens'])
    setUsage(usage, 'total_tokens', u['total_tokens'])
    // Each response reports its usage once: the first is the flow's usage, later responses on
    // the same connection add to it.
    this.ctx.emit(withBase<UsageEvent>({ type: 'usage', flow_id: this.flow_id, provider, usage, cumulative: this.responses <= 1 }, seq, undefined))
  }

  private messageEnd(seq: number | undefined, stop: string | undefined, incomplete: boolean, detail?: string): void {
    this.flushTools(seq)
    const e: MessageEndEvent = { type: 'message_end', flow_id: this.flow_id, provider }
    if (stop !== undefined) e.stop_reason = stop
    if (incomplete) e.incomplete = true
    if (detail !== undefined) e.detail = detail
    this.ctx.emit(withBase(e, seq, undefined))
  }

  private emitError(err: Record<string, unknown>, seq: number | undefined): void {
    const fields = errorEventFields(err)
    this.errored = true
    this.lastError = fields.message
    this.lastErrorCode = fields.code
    this.ctx.emit(withBase<ErrorEvent>({ type: 'error', flow_id: this.flow_id, provider, ...fields }, seq, undefined))
  }

  private start(r: Record<string, unknown> | undefined, seq: number | undefined): void {
    if (this.started) {
      // A new response on the same connection: close the previous one first.
      if (!this.ended) {
        this.ctx.error('INCOMPLETE_STREAM', 'a new response started before the previous one completed', seq, 'response.created')
        this.messageEnd(seq, this.errored ? 'error' : undefined, true)
      }
      this.errored = false
      this.lastError = undefined
      this.lastErrorCode = undefined
    }
    this.responses++
    this.started = true
    this.ended = false
    const e: MessageStartEvent = { type: 'message_start', flow_id: this.flow_id, provider, role: 'assistant' }
    const id = str(r?.['id'])
    if (id !== undefined) e.message_id = id
    const model = str(r?.['model'])
    if (model !== undefined) e.model = model
    this.ctx.emit(withBase(e, seq, undefined))
  }

  // No fast path: a scanner of the delta events' layout (instead of JSON.parse) cost more
  // instructions than the parse it saved, and more to compile (see the package README).
  event(v: Record<string, unknown>, name: string | undefined, seq: number | undefined, data: string): void {
    const type = str(v['type']) ?? name
    if (type === undefined) {
      // An HTTP error body: `{"error":{"message","type","code"}}`.
      const err = obj(v['error'])
      if (err !== undefined) this.emitError(err, seq)
      else emitUnknown(this.ctx, seq, name, data, 'event without a type')
      return
    }
    if (type === 'response.output_text.delta' || type === 'response.refusal.delta') {
      this.ctx.emit(textDelta(this.ctx, str(v['delta']) ?? '', seq, num(v['output_index']), str(v['item_id'])))
      return
    }
    if (ARG_DELTAS.has(type)) {
      const tc = this.lookup(v)
      if (tc === undefined || !tc.open) {
        this.ctx.error('UNEXPECTED_EVENT', `${type} for item ${str(v['item_id']) ?? String(num(v['output_index']))}, which is not an open tool call: expected response.output_item.added first`, seq, type, data)
        emitUnknown(this.ctx, seq, name ?? type, data, `${type} outside an open tool call`, num(v['output_index']))
        return
      }
      const delta = str(v['delta']) ?? ''
      if (delta.length > 0) emitToolDelta(this.ctx, tc, seq, delta)
      return
    }
    if (type === 'response.reasoning_summary_text.delta' || type === 'response.reasoning_text.delta') {
      this.ctx.emit(thinkingDelta(this.ctx, str(v['delta']) ?? '', type === 'response.reasoning_text.delta' ? 'thinking' : 'summary', seq, num(v['output_index']), str(v['item_id'])))
      return
    }
    if (type === 'response.reasoning_summary_part.added') {
      // Summary parts are separate paragraphs (Codex shows them so): a blank line between them
      // keeps the joined thinking text readable.
      const si = num(v['summary_index'])
      if (si !== undefined && si > 0) {
        const e: ThinkingDeltaEvent = { type: 'thinking_delta', flow_id: this.flow_id, provider, text: '\n\n', kind: 'summary' }
        this.ctx.emit(withBase(e, seq, num(v['output_index']), undefined, str(v['item_id'])))
      }
      return
    }
    if (NO_OP.has(type) || NO_OP_ITEM_PROGRESS.test(type)) {
      if (type === 'response.in_progress' && !this.started) this.start(obj(v['response']), seq)
      return
    }
    if (ARG_DONES.has(type)) {
      const tc = this.lookup(v)
      const final = str(v['arguments']) ?? str(v['input']) ?? str(v['code'])
      if (tc !== undefined && final !== undefined) tc.final = final
      return
    }
    switch (type) {
      case 'response.created':
        this.start(obj(v['response']), seq)
        return
      case 'response.output_item.added': {
        const item = this.outputItem(v, seq, name ?? type, data, 'output_item.added')
        if (item === undefined) return
        const itemType = item['type'] as string
        if (PLAIN_ITEMS.has(itemType)) return
        if (isToolItem(itemType)) {
          this.startTool(item, itemType, num(v['output_index']), seq)
          return
        }
        emitUnknown(this.ctx, seq, name ?? type, data, `output item type "${itemType}" has no unified event`, num(v['output_index']))
        return
      }
      case 'response.output_item.done': {
        const item = this.outputItem(v, seq, name ?? type, data, 'output_item.done')
        if (item === undefined) return
        const itemType = item['type'] as string
        if (PLAIN_ITEMS.has(itemType)) return
        if (!isToolItem(itemType)) return
        const oi = num(v['output_index'])
        const id = str(item['id'])
        let tc = id === undefined ? undefined : this.byItem.get(id)
        if (tc === undefined && oi !== undefined) tc = this.byIndex[oi]
        // A done without its added (captured mid-stream): start the call now.
        if (tc === undefined || !tc.open) tc = this.startTool({ ...item, arguments: undefined, input: undefined }, itemType, oi, seq)
        tc.call_id ??= str(item['call_id'])
        if (!tc.name) tc.name = str(item['name']) ?? tc.name
        const final = itemArguments(item)
        if (final !== undefined) tc.final = final
        emitToolEnd(this.ctx, tc, seq, false)
        this.forget(tc)
        return
      }
      case 'response.completed': {
        const r = obj(v['response'])
        if (!this.started) this.start(r, seq)
        this.emitUsage(r, seq)
        this.ended = true
        this.messageEnd(seq, 'completed', false)
        return
      }
      case 'response.incomplete': {
        const r = obj(v['response'])
        if (!this.started) this.start(r, seq)
        this.emitUsage(r, seq)
        this.ended = true
        this.messageEnd(seq, 'incomplete', false, str(obj(r?.['incomplete_details'])?.['reason']))
        return
      }
      case 'response.failed': {
        const r = obj(v['response'])
        if (!this.started) this.start(r, seq)
        const err = obj(r?.['error'])
        // The top-level `error` event usually came first with the same message: say it once.
        const dup = this.errored && (this.lastError === str(err?.['message']) || (this.lastErrorCode !== undefined && this.lastErrorCode === str(err?.['code'])))
        if (err !== undefined && !dup) this.emitError(err, seq)
        this.emitUsage(r, seq)
        this.ended = true
        this.messageEnd(seq, 'failed', false)
        return
      }
      case 'error': {
        const err = obj(v['error']) ?? v
        this.emitError(err, seq)
        return
      }
      case CODEX_RATE_LIMITS_EVENT: {
        // Sent before a response (and between responses on a WebSocket): it neither starts nor
        // ends a message.
        const e = readCodexRateLimits(v, this.flow_id, provider)
        if (e === undefined) emitUnknown(this.ctx, seq, name ?? type, data, `${CODEX_RATE_LIMITS_EVENT} without a window, plan or credits`)
        else this.ctx.emit(withBase(e, seq, undefined))
        return
      }
      default:
        emitUnknown(this.ctx, seq, name ?? type, data, `event type "${type}" has no unified event`, num(v['output_index']))
    }
  }

  done(seq: number | undefined, name: string | undefined): void {
    emitUnknown(this.ctx, seq, name, '[DONE]', '[DONE] is not part of the Responses stream')
  }

  end(): void {
    if (!this.ended) {
      if (!this.errored) this.ctx.error('INCOMPLETE_STREAM', 'Responses stream ended without response.completed, response.failed or response.incomplete', undefined, undefined)
      this.messageEnd(undefined, this.errored ? 'error' : undefined, true)
    }
    this.reset()
  }

  reset(): void {
    this.started = false
    this.ended = false
    this.responses = 0
    this.errored = false
    this.lastError = undefined
    this.lastErrorCode = undefined
    this.byItem = new Map()
    this.byIndex = []
  }
}
