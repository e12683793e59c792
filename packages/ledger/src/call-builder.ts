/**
 * One response being assembled from unified events: text and reasoning blocks, tool calls,
 * usage, errors. Strings are collected as fragments and joined once, at the end (never `+=`).
 */
import { shellCommandOf, type AgentEvent, type ToolCallEndEvent, type ToolCallStartEvent, type Usage } from '@agenttap/stream-normalizer'
import type { CallError, CallRequest, FlowKind, LedgerToolCall, LedgerToolResult } from './types.js'

/**
 * Fragments joined into a run every {@link RUN} fragments: a fragment is often a slice of its
 * event's data, which it keeps alive; joined, the event data can go with the young generation
 * instead of being promoted while a long response streams. Joining in runs copies each character
 * at most twice.
 */
const RUN = 64

/** A run of text of one block (content block / output item / choice). */
class Blocks {
  /** Finished blocks. */
  readonly done: string[] = []
  private parts: string[] = []
  /** Fragments of the open block already joined, {@link RUN} at a time. */
  private runs: string[] | undefined = undefined
  private key: unknown = undefined
  chars = 0

  add(key: unknown, text: string): void {
    if ((this.parts.length > 0 || this.runs !== undefined) && key !== this.key) this.close()
    this.key = key
    const parts = this.parts
    parts.push(text)
    this.chars += text.length
    if (parts.length === RUN) {
      ;(this.runs ??= []).push(parts.join(''))
      this.parts = []
    }
  }

  close(): void {
    const runs = this.runs
    if (runs === undefined) {
      if (this.parts.length === 0) return
      this.done.push(this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join(''))
    } else {
      if (this.parts.length > 0) runs.push(this.parts.join(''))
      this.done.push(runs.length === 1 ? (runs[0] as string) : runs.join(''))
      this.runs = undefined
    }
    this.parts = []
  }

  /** Blocks joined with a blank line (empty blocks left out). */
  joined(): string {
    this.close()
    let n = 0
    for (const b of this.done) if (b !== '') n++
    if (n === this.done.length) return this.done.join('\n\n')
    return this.done.filter((b) => b !== '').join('\n\n')
  }
}

/** Key of a block: its index, else its item. */
const blockKey = (e: { index?: number; item_id?: string }): unknown => e.index ?? e.item_id
/** Key of a tool call: the Responses item, else the call id, else the index (ends carry what starts carried). */
const toolKey = (e: { index?: number; item_id?: string; call_id?: string }): string => e.item_id ?? e.call_id ?? `#${e.index ?? ''}`

/**
 * What a call keeps of its request: the decoded facts only (a flow's parsed request body, often
 * megabytes of conversation, is dropped as soon as it is analyzed).
 */
export interface RequestFacts {
  kind: FlowKind
  prompt: string | undefined
  tool_results: LedgerToolResult[]
  request: CallRequest
  history_hash: string | undefined
}

/** The request that asked for a response, and when it was sent. */
export interface CallRequestSource {
  facts: RequestFacts | undefined
  /** When the request was sent (flow start, or the client frame's time). */
  ts: string | undefined
}

/** A response under construction. */
export class CallBuilder {
  response_id: string | undefined
  model: string | undefined
  first_token_at: string | undefined
  ended_at: string | undefined
  stop_reason: string | undefined
  /** The provider's terminal event was captured (`message_end` without `incomplete`). */
  terminal = false
  /** `message_end` came (with or without the terminal event). */
  ended = false
  /** A provider error (first one reported). */
  error: CallError | undefined
  /** Latest usage of this response (it holds all of the response's counts). */
  usage: Usage | undefined
  /** First seq of the response (message_start), for locating it. */
  seq: number | undefined
  readonly text = new Blocks()
  readonly reasoning = new Blocks()
  readonly tools: LedgerToolCall[] = []
  private readonly openTools = new Map<string, LedgerToolCall>()
  /** Text and reasoning characters beyond the cap were dropped. */
  overflow = false
  /** Anything at all came (events other than `unknown`). */
  any = false

  constructor(
    readonly index: number,
    public request: CallRequestSource,
    private readonly maxChars: number,
    /** Keep the text, reasoning and tool calls (false: only what an end line needs; see `LedgerOptions.callText`). */
    private readonly keepText = true,
  ) {}

  private firstToken(ts: string | undefined): void {
    if (this.first_token_at === undefined && ts !== undefined) this.first_token_at = ts
  }

  /**
   * Takes one unified event of this response.
   * @returns false when text was dropped because of the cap (reported once by the caller)
   */
  event(e: AgentEvent, ts: string | undefined): boolean {
    this.any = true
    switch (e.type) {
      case 'text_delta':
        this.firstToken(ts)
        if (!this.keepText) return true
        if (this.text.chars + this.reasoning.chars + e.text.length > this.maxChars) return this.drop()
        this.text.add(blockKey(e), e.text)
        return true
      case 'thinking_delta':
        this.firstToken(ts)
        // Signatures are opaque; a redacted block has no text.
        if (e.kind === 'signature' || e.kind === 'redacted' || !this.keepText) return true
        if (this.text.chars + this.reasoning.chars + e.text.length > this.maxChars) return this.drop()
        this.reasoning.add(blockKey(e), e.text)
        return true
      case 'tool_args_delta':
        return true
      case 'tool_call_start':
        this.firstToken(ts)
        if (this.keepText) this.startTool(e)
        return true
      case 'tool_call_end':
        if (this.keepText) this.endTool(e)
        return true
      case 'usage':
        this.usage = e.usage
        return true
      case 'message_start':
        if (e.message_id !== undefined) this.response_id = e.message_id
        if (e.model !== undefined) this.model = e.model
        if (this.seq === undefined && e.seq !== undefined) this.seq = e.seq
        return true
      case 'error':
        if (this.error === undefined) {
          const err: CallError = { message: e.message }
          if (e.error_type !== undefined) err.type = e.error_type
          if (e.code !== undefined) err.code = e.code
          this.error = err
        }
        return true
      case 'message_end':
        this.ended = true
        this.terminal = e.incomplete !== true
        if (e.stop_reason !== undefined) this.stop_reason = e.stop_reason
        if (ts !== undefined) this.ended_at = ts
        return true
      default:
        return true
    }
  }

  private drop(): boolean {
    const first = !this.overflow
    this.overflow = true
    return !first
  }

  private startTool(e: ToolCallStartEvent): LedgerToolCall {
    const t: LedgerToolCall = { call_id: e.call_id ?? e.item_id ?? '', position: this.tools.length, name: e.name, kind: e.server !== undefined ? 'mcp' : e.kind, arguments: '', complete: false }
    if (e.server !== undefined) t.server = e.server
    this.tools.push(t)
    this.openTools.set(toolKey(e), t)
    return t
  }

  private endTool(e: ToolCallEndEvent): void {
    const key = toolKey(e)
    const t = this.openTools.get(key) ?? this.startTool({ type: 'tool_call_start', flow_id: e.flow_id, provider: e.provider, name: e.name, kind: e.kind, ...(e.server === undefined ? {} : { server: e.server }) })
    this.openTools.delete(key)
    if (e.call_id !== undefined) t.call_id = e.call_id
    if (e.name !== '') t.name = e.name
    t.arguments = e.arguments
    t.complete = e.incomplete !== true
    if (e.parse_error !== undefined) t.parse_error = e.parse_error
    const shell = shellCommandOf(t.name, e.kind, e.parsed !== undefined ? e.parsed : e.arguments)
    if (shell !== undefined) {
      t.command = shell.command
      if (shell.workdir !== undefined) t.workdir = shell.workdir
    }
  }
}
