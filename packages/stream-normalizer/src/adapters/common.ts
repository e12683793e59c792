import type { NormalizerErrorCode } from '../errors.js'
import type { AgentEvent, StreamProvider, TextDeltaEvent, ThinkingDeltaEvent, ToolCallEndEvent, ToolCallKind, ToolCallStartEvent, ToolArgsDeltaEvent, UnknownEvent, Usage } from '../types.js'

/** What an adapter needs from the normalizer. */
export interface AdapterContext {
  readonly flow_id: string
  /** Current provider (changes once when detected from the events). */
  provider: StreamProvider
  /** Emit `tool_args_delta` events (false: arguments only come joined, in `tool_call_end`). */
  readonly argDeltas: boolean
  emit(e: AgentEvent): void
  error(code: NormalizerErrorCode, message: string, seq: number | undefined, event: string | undefined, data?: string): void
}

/** A provider adapter: parsed events in, unified events out through the context. */
export interface Adapter {
  /**
   * Optional fast path on the raw data, tried before JSON.parse: returns true when it handled the
   * event (and emitted exactly what `event` would have), false to take the general path.
   */
  fast?(data: string, name: string | undefined, seq: number | undefined): boolean
  /** One parsed JSON object event; `name` is the SSE event name when there was one. */
  event(v: Record<string, unknown>, name: string | undefined, seq: number | undefined, data: string): void
  /** The literal `[DONE]` data. */
  done(seq: number | undefined, name: string | undefined): void
  /** Stream end: flush open calls, emit `message_end {incomplete:true}` if the terminal event never came. */
  end(): void
  /** Forget all state. */
  reset(): void
}

/** A tool call being assembled. */
export interface ToolCall {
  name: string
  kind: ToolCallKind
  call_id: string | undefined
  item_id: string | undefined
  index: number | undefined
  parts: string[]
  /** Authoritative final arguments when the provider sent them whole (`.done` events). */
  final: string | undefined
  /** Characters of arguments emitted as tool_args_delta. */
  emitted: number
  open: boolean
  /** MCP server label, when the call names one. */
  server?: string
}

export function newToolCall(name: string, kind: ToolCallKind, call_id: string | undefined, item_id: string | undefined, index: number | undefined): ToolCall {
  return { name, kind, call_id, item_id, index, parts: [], final: undefined, emitted: 0, open: true }
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
}

/**
 * A text or thinking delta, the bulk of every stream, built with all its fields at once in one
 * order (absent ones `undefined`): every such event has the same shape, so consumers' property
 * reads stay monomorphic.
 */
export function textDelta(ctx: AdapterContext, text: string, seq: number | undefined, index: number | undefined, item_id: string | undefined): TextDeltaEvent {
  // Absent fields are own properties holding undefined: a reader sees them as absent (and JSON drops them).
  return { type: 'text_delta', flow_id: ctx.flow_id, provider: ctx.provider, seq, index, call_id: undefined, item_id, text } as unknown as TextDeltaEvent
}

/** See {@link textDelta}. */
export function thinkingDelta(ctx: AdapterContext, text: string, kind: NonNullable<ThinkingDeltaEvent['kind']>, seq: number | undefined, index: number | undefined, item_id: string | undefined): ThinkingDeltaEvent {
  return { type: 'thinking_delta', flow_id: ctx.flow_id, provider: ctx.provider, seq, index, call_id: undefined, item_id, text, kind } as unknown as ThinkingDeltaEvent
}

/** Sets the optional base fields that are defined. */
export function withBase<T extends AgentEvent>(e: T, seq: number | undefined, index: number | undefined, call_id?: string, item_id?: string): T {
  if (seq !== undefined) e.seq = seq
  if (index !== undefined) e.index = index
  if (call_id !== undefined) e.call_id = call_id
  if (item_id !== undefined) e.item_id = item_id
  return e
}

export function emitUnknown(ctx: AdapterContext, seq: number | undefined, event: string | undefined, data: string, reason: string, index?: number): void {
  const e: UnknownEvent = { type: 'unknown', flow_id: ctx.flow_id, provider: ctx.provider, data, reason }
  if (event !== undefined) e.event = event
  ctx.emit(withBase(e, seq, index))
}

export function emitToolStart(ctx: AdapterContext, tc: ToolCall, seq: number | undefined): void {
  const e: ToolCallStartEvent = { type: 'tool_call_start', flow_id: ctx.flow_id, provider: ctx.provider, name: tc.name, kind: tc.kind }
  if (tc.server !== undefined) e.server = tc.server
  ctx.emit(withBase(e, seq, tc.index, tc.call_id, tc.item_id))
}

export function emitToolDelta(ctx: AdapterContext, tc: ToolCall, seq: number | undefined, delta: string): void {
  tc.parts.push(delta)
  tc.emitted += delta.length
  if (!ctx.argDeltas) return
  const e: ToolArgsDeltaEvent = { type: 'tool_args_delta', flow_id: ctx.flow_id, provider: ctx.provider, delta }
  ctx.emit(withBase(e, seq, tc.index, tc.call_id, tc.item_id))
}

/**
 * Emits `tool_call_end` with the joined (or authoritative final) arguments and their parsed
 * value. When no delta carried the arguments, one `tool_args_delta` with all of them comes
 * first so a renderer that only follows deltas still sees them.
 */
export function emitToolEnd(ctx: AdapterContext, tc: ToolCall, seq: number | undefined, incomplete: boolean): void {
  tc.open = false
  const joined = tc.parts.length === 0 ? '' : tc.parts.length === 1 ? (tc.parts[0] as string) : tc.parts.join('')
  let args = joined
  if (tc.final !== undefined && tc.final !== joined) {
    if (tc.emitted === 0) emitToolDelta(ctx, tc, seq, tc.final)
    else if (!tc.final.startsWith(joined)) {
      ctx.error('UNEXPECTED_EVENT', `tool call ${tc.call_id ?? tc.item_id ?? tc.name}: the final arguments differ from the joined deltas; the final arguments are used`, seq, undefined, tc.final)
    } else {
      emitToolDelta(ctx, tc, seq, tc.final.slice(joined.length))
    }
    args = tc.final
  }
  const e: ToolCallEndEvent = { type: 'tool_call_end', flow_id: ctx.flow_id, provider: ctx.provider, name: tc.name, kind: tc.kind, arguments: args }
  if (tc.kind !== 'custom') {
    if (args.length === 0) {
      e.parse_error = 'no arguments were sent'
    } else {
      try {
        e.parsed = JSON.parse(args)
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err)
        e.parse_error = why
        ctx.error('ARGS_PARSE', `tool call ${tc.call_id ?? tc.item_id ?? tc.name} (${tc.name}): arguments are not valid JSON: ${why}${incomplete ? ' (the call never finished)' : ''}`, seq, undefined, args)
      }
    }
  }
  if (incomplete) e.incomplete = true
  if (tc.server !== undefined) e.server = tc.server
  tc.parts.length = 0
  ctx.emit(withBase(e, seq, tc.index, tc.call_id, tc.item_id))
}

/** Copies the numeric token counts of `src` named by `map` (target ← source path) into `u`. */
export function setUsage(u: Usage, key: keyof Usage, v: unknown): void {
  const n = num(v)
  if (n !== undefined) u[key] = n
}

export function errorEventFields(err: Record<string, unknown>): { error_type?: string; code?: string; message: string } {
  const out: { error_type?: string; code?: string; message: string } = { message: '' }
  const rawType = str(err['type'])
  // A top-level `{"type":"error","code",…}` names the event, not the kind of error.
  const t = rawType === 'error' ? undefined : rawType
  if (t !== undefined) out.error_type = t
  const c = err['code']
  if (typeof c === 'string') out.code = c
  else if (typeof c === 'number') out.code = String(c)
  out.message = str(err['message']) ?? (t ?? 'error without a message')
  return out
}
