import type { ErrorEvent, MessageEndEvent, MessageStartEvent, TextDeltaEvent, ThinkingDeltaEvent, ToolCallKind, Usage, UsageEvent } from '../types.js'
import { readAnthropicUsage } from '../usage.js'
import { emitToolDelta, emitToolEnd, emitToolStart, emitUnknown, errorEventFields, newToolCall, num, obj, str, textDelta, thinkingDelta, withBase, type Adapter, type AdapterContext, type ToolCall } from './common.js'

const BLOCK_TEXT = 1
const BLOCK_THINKING = 2
const BLOCK_REDACTED = 3
const BLOCK_OTHER = 4

interface Block {
  kind: number
  tool: ToolCall | undefined
  /** `content_block.input` as JSON: the arguments when no input_json_delta comes. */
  input: string | undefined
}

const DELTA_TEXT = 1
const DELTA_THINKING = 2
const DELTA_SIGNATURE = 3
const DELTA_INPUT_JSON = 4
const FAST_PREFIX = '{"type":"content_block_delta","index":'
const FAST_DELTA = ',"delta":{"type":"'
const FAST_TEXT = 'text_delta","text":'
const FAST_INPUT_JSON = 'input_json_delta","partial_json":'
const FAST_THINKING = 'thinking_delta","thinking":'
const FAST_SIGNATURE = 'signature_delta","signature":'
/** A string body that is not plain: escapes, quotes or raw control characters need the real parser. */
// eslint-disable-next-line no-control-regex
const NEEDS_JSON_PARSE = /["\\\u0000-\u001f]/

const TOOL_BLOCKS: Record<string, ToolCallKind> = {
  tool_use: 'function',
  server_tool_use: 'server',
  mcp_tool_use: 'server',
}

/**
 * Anthropic Messages stream → unified events. `message_delta` usage is cumulative and may
 * carry only some counts, so usage is merged over `message_start`'s and every usage event
 * carries the flow's complete latest counts (`cumulative: true`).
 */
export function createAnthropicAdapter(ctx: AdapterContext): Adapter {
  return new AnthropicAdapter(ctx)
}

const provider = 'anthropic' as const

/**
 * A class, not a closure per flow: one adapter is made per flow, and its methods (the fast path
 * above all) are then one function each for the whole process. Closures made per flow share their
 * optimized code only while one of them is alive, so a full GC between two Anthropic flows threw it
 * away and the next flow paid for compiling them again.
 */
class AnthropicAdapter implements Adapter {
  private readonly flow_id: string
  private blocks: (Block | undefined)[] = []
  private usage: Usage = {}
  private stopReason: string | undefined = undefined
  private started = false
  private ended = false
  private errored = false

  constructor(private readonly ctx: AdapterContext) {
    this.flow_id = ctx.flow_id
  }

  private mergeUsage(u: Record<string, unknown>, seq: number | undefined): void {
    readAnthropicUsage(u, this.usage)
    const e: UsageEvent = { type: 'usage', flow_id: this.flow_id, provider, usage: { ...this.usage }, cumulative: true }
    this.ctx.emit(withBase(e, seq, undefined))
  }

  private endTool(b: Block, seq: number | undefined, incomplete: boolean): void {
    const tc = b.tool
    if (tc === undefined || !tc.open) return
    if (tc.parts.length === 0 && b.input !== undefined) tc.final = b.input
    emitToolEnd(this.ctx, tc, seq, incomplete)
  }

  private flushTools(seq: number | undefined): void {
    for (const b of this.blocks) if (b !== undefined) this.endTool(b, seq, true)
  }

  private messageEnd(seq: number | undefined, incomplete: boolean): void {
    this.flushTools(seq)
    const e: MessageEndEvent = { type: 'message_end', flow_id: this.flow_id, provider }
    const reason = this.stopReason ?? (this.errored ? 'error' : undefined)
    if (reason !== undefined) e.stop_reason = reason
    if (incomplete) e.incomplete = true
    this.ctx.emit(withBase(e, seq, undefined))
  }

  private blockStart(v: Record<string, unknown>, seq: number | undefined, name: string | undefined, data: string): void {
    const ctx = this.ctx
    const flow_id = this.flow_id
    const blocks = this.blocks
    const index = num(v['index'])
    const cb = obj(v['content_block'])
    const cbType = str(cb?.['type'])
    if (index === undefined || cb === undefined || cbType === undefined) {
      ctx.error('UNEXPECTED_EVENT', 'content_block_start without index or content_block.type', seq, name, data)
      emitUnknown(ctx, seq, name, data, 'content_block_start without index or content_block.type')
      return
    }
    const prev = blocks[index]
    if (prev !== undefined) this.endTool(prev, seq, true)
    const toolKind = TOOL_BLOCKS[cbType]
    if (toolKind !== undefined) {
      const tc = newToolCall(str(cb['name']) ?? '', toolKind, str(cb['id']), undefined, index)
      const server = str(cb['server_name'])
      if (server !== undefined) tc.server = server
      const input = obj(cb['input'])
      // Usually `{}` followed by deltas; a tool without parameters (or a replayed stream) sends no delta.
      blocks[index] = { kind: BLOCK_OTHER, tool: tc, input: input === undefined ? undefined : JSON.stringify(input) }
      emitToolStart(ctx, tc, seq)
      return
    }
    if (cbType === 'text') {
      blocks[index] = { kind: BLOCK_TEXT, tool: undefined, input: undefined }
      const text = str(cb['text'])
      if (text) ctx.emit(withBase<TextDeltaEvent>({ type: 'text_delta', flow_id, provider, text }, seq, index))
      return
    }
    if (cbType === 'thinking') {
      blocks[index] = { kind: BLOCK_THINKING, tool: undefined, input: undefined }
      const text = str(cb['thinking'])
      if (text) ctx.emit(withBase<ThinkingDeltaEvent>({ type: 'thinking_delta', flow_id, provider, text, kind: 'thinking' }, seq, index))
      return
    }
    if (cbType === 'redacted_thinking') {
      blocks[index] = { kind: BLOCK_REDACTED, tool: undefined, input: undefined }
      ctx.emit(withBase<ThinkingDeltaEvent>({ type: 'thinking_delta', flow_id, provider, text: '', kind: 'redacted' }, seq, index))
      return
    }
    blocks[index] = { kind: BLOCK_OTHER, tool: undefined, input: undefined }
    emitUnknown(ctx, seq, name ?? 'content_block_start', data, `content block type "${cbType}" has no unified event`, index)
  }

  private blockDelta(v: Record<string, unknown>, seq: number | undefined, name: string | undefined, data: string): void {
    const index = num(v['index'])
    const d = obj(v['delta'])
    const dt = str(d?.['type'])
    if (d === undefined || dt === undefined) {
      this.ctx.error('UNEXPECTED_EVENT', 'content_block_delta without delta.type', seq, name, data)
      emitUnknown(this.ctx, seq, name, data, 'content_block_delta without delta.type', index)
      return
    }
    switch (dt) {
      case 'text_delta':
        this.applyDelta(DELTA_TEXT, index, str(d['text']) ?? '', seq, name, data)
        return
      case 'thinking_delta':
        this.applyDelta(DELTA_THINKING, index, str(d['thinking']) ?? '', seq, name, data)
        return
      case 'signature_delta':
        this.applyDelta(DELTA_SIGNATURE, index, str(d['signature']) ?? '', seq, name, data)
        return
      case 'input_json_delta':
        this.applyDelta(DELTA_INPUT_JSON, index, str(d['partial_json']) ?? '', seq, name, data)
        return
      default:
        emitUnknown(this.ctx, seq, name, data, `delta type "${dt}" has no unified event`, index)
    }
  }

  private applyDelta(kind: number, index: number | undefined, value: string, seq: number | undefined, name: string | undefined, data: string): void {
    const ctx = this.ctx
    switch (kind) {
      case DELTA_TEXT:
        ctx.emit(textDelta(ctx, value, seq, index, undefined))
        return
      case DELTA_THINKING:
        ctx.emit(thinkingDelta(ctx, value, 'thinking', seq, index, undefined))
        return
      case DELTA_SIGNATURE:
        ctx.emit(thinkingDelta(ctx, value, 'signature', seq, index, undefined))
        return
      default: {
        const tc = index === undefined ? undefined : this.blocks[index]?.tool
        if (tc === undefined || !tc.open) {
          ctx.error('UNEXPECTED_EVENT', `input_json_delta for content block ${String(index)}, which is not an open tool_use block: expected content_block_start with a tool_use first`, seq, name, data)
          emitUnknown(ctx, seq, name, data, 'input_json_delta outside a tool_use block', index)
          return
        }
        // The first fragment is usually "": it carries nothing, the joined arguments are the same.
        if (value.length > 0) emitToolDelta(ctx, tc, seq, value)
      }
    }
  }

  /**
   * Fast path for the bulk of a stream: a content_block_delta in the exact layout the API writes,
   * `{"type":"content_block_delta","index":N,"delta":{"type":"K","F":"…"}}`. Only the string
   * literal is parsed, not the object around it; anything else (other layouts, whitespace, extra
   * fields, invalid JSON) returns false and takes the general path, so the events are identical.
   */
  fast(data: string, name: string | undefined, seq: number | undefined): boolean {
    if (!data.startsWith(FAST_PREFIX)) return false
    const n = data.length
    let i = FAST_PREFIX.length
    const digits = i
    let index = 0
    while (i < n) {
      const c = data.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
      index = index * 10 + (c - 0x30)
      i++
    }
    if (i === digits || i - digits > 9 || (data.charCodeAt(digits) === 0x30 && i - digits > 1)) return false
    if (!data.startsWith(FAST_DELTA, i)) return false
    i += FAST_DELTA.length
    let kind: number
    if (data.startsWith(FAST_TEXT, i)) {
      kind = DELTA_TEXT
      i += FAST_TEXT.length
    } else if (data.startsWith(FAST_INPUT_JSON, i)) {
      kind = DELTA_INPUT_JSON
      i += FAST_INPUT_JSON.length
    } else if (data.startsWith(FAST_THINKING, i)) {
      kind = DELTA_THINKING
      i += FAST_THINKING.length
    } else if (data.startsWith(FAST_SIGNATURE, i)) {
      kind = DELTA_SIGNATURE
      i += FAST_SIGNATURE.length
    } else return false
    // The string literal runs from i to just before the closing "}}".
    if (n - i < 4 || data.charCodeAt(i) !== 0x22 || data.charCodeAt(n - 3) !== 0x22 || data.charCodeAt(n - 2) !== 0x7d || data.charCodeAt(n - 1) !== 0x7d) return false
    let value = data.slice(i + 1, n - 3)
    if (NEEDS_JSON_PARSE.test(value)) {
      let parsed: unknown
      try {
        parsed = JSON.parse(data.slice(i, n - 2))
      } catch {
        return false
      }
      if (typeof parsed !== 'string') return false
      value = parsed
    }
    this.applyDelta(kind, index, value, seq, name, data)
    return true
  }

  event(v: Record<string, unknown>, name: string | undefined, seq: number | undefined, data: string): void {
    const ctx = this.ctx
    const flow_id = this.flow_id
    const type = str(v['type']) ?? name
    switch (type) {
      case 'content_block_delta':
        this.blockDelta(v, seq, name, data)
        return
      case 'message_start': {
        if (this.started) {
          // Another message in the same flow: close the previous one first.
          if (!this.ended) {
            ctx.error('INCOMPLETE_STREAM', 'a new message started before the previous one stopped', seq, 'message_start')
            this.messageEnd(seq, true)
          }
          this.reset()
        }
        this.started = true
        this.ended = false
        const m = obj(v['message']) ?? {}
        const e: MessageStartEvent = { type: 'message_start', flow_id, provider }
        const id = str(m['id'])
        if (id !== undefined) e.message_id = id
        const model = str(m['model'])
        if (model !== undefined) e.model = model
        const role = str(m['role'])
        if (role !== undefined) e.role = role
        ctx.emit(withBase(e, seq, undefined))
        const u = obj(m['usage'])
        if (u !== undefined) this.mergeUsage(u, seq)
        return
      }
      case 'content_block_start':
        this.blockStart(v, seq, name, data)
        return
      case 'content_block_stop': {
        const index = num(v['index'])
        const b = index === undefined ? undefined : this.blocks[index]
        if (b === undefined || index === undefined) {
          ctx.error('UNEXPECTED_EVENT', `content_block_stop for content block ${String(index)}, which was never started`, seq, name, data)
          return
        }
        this.endTool(b, seq, false)
        this.blocks[index] = undefined
        return
      }
      case 'message_delta': {
        const d = obj(v['delta'])
        const sr = str(d?.['stop_reason'])
        if (sr !== undefined) this.stopReason = sr
        const u = obj(v['usage'])
        if (u !== undefined) this.mergeUsage(u, seq)
        return
      }
      case 'message_stop':
        this.ended = true
        this.messageEnd(seq, false)
        return
      case 'ping':
        return
      case 'error': {
        this.errored = true
        const err = obj(v['error']) ?? v
        ctx.emit(withBase<ErrorEvent>({ type: 'error', flow_id, provider, ...errorEventFields(err) }, seq, undefined))
        return
      }
      default: {
        const err = type === undefined ? obj(v['error']) : undefined
        if (err !== undefined) {
          this.errored = true
          ctx.emit(withBase<ErrorEvent>({ type: 'error', flow_id, provider, ...errorEventFields(err) }, seq, undefined))
          return
        }
        emitUnknown(ctx, seq, name, data, type === undefined ? 'event without a type' : `event type "${type}" is not part of the Anthropic Messages stream`)
      }
    }
  }

  done(seq: number | undefined, name: string | undefined): void {
    emitUnknown(this.ctx, seq, name, '[DONE]', '[DONE] is not part of the Anthropic Messages stream')
  }

  end(): void {
    if (!this.ended) {
      if (!this.errored) this.ctx.error('INCOMPLETE_STREAM', 'Anthropic stream ended without message_stop', undefined, undefined)
      this.messageEnd(undefined, true)
    }
    this.reset()
  }

  reset(): void {
    this.blocks = []
    this.usage = {}
    this.stopReason = undefined
    this.started = false
    this.ended = false
    this.errored = false
  }
}
