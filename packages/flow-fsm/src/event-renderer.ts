import type { AgentEvent, ToolCallKind } from './normalizer-contract.js'
import { errorLine } from './format.js'
import { pushText } from './render-ops.js'
import { createToolCallRenderer, type ToolCallRenderer, type ToolCallRendererOptions } from './tool-call-renderer.js'
import type { RenderOp } from './types.js'

/** Options of {@link createEventRenderer}. */
export interface EventRendererOptions extends ToolCallRendererOptions {
  /** Render thinking / reasoning text (style `thinking`). @defaultValue true */
  showThinking?: boolean
}

/** Turns one flow's {@link AgentEvent}s into {@link RenderOp}s. See {@link createEventRenderer}. */
export interface EventRenderer {
  /** Ops for one event. */
  event(e: AgentEvent): RenderOp[]
  /** Closes what is open (an unfinished tool call, a partial line). */
  end(): RenderOp[]
  /** true when the last op left the cursor mid-line. */
  readonly lineOpen: boolean
  reset(): void
}

/**
 * Creates the renderer of one flow: text as `text`, thinking as `thinking`, tool calls through
 * {@link createToolCallRenderer} (shell commands as `$ <command>`, other calls as indented JSON),
 * stream errors as `error` lines. Each block starts on its own line. Several calls streaming
 * interleaved (Chat Completions parallel tool calls) each get their own tool renderer.
 */
export function createEventRenderer(opts: EventRendererOptions = {}): EventRenderer {
  return new FlowEventRenderer(opts)
}

type ToolEntry = { r: ToolCallRenderer; buf: RenderOp[]; ended: boolean }

const toolKey = (e: { call_id?: string; index?: number; item_id?: string }): string => e.call_id ?? e.item_id ?? `#${e.index ?? 0}`

/**
 * A class, not closures made per flow: one renderer is made per flow, and its methods are then one
 * function each for the process (closures made per flow keep their optimized code only while one
 * of them is alive; a full GC between flows threw it away).
 */
class FlowEventRenderer implements EventRenderer {
  private readonly showThinking: boolean
  // Calls in start order. Only the first streams live; calls interleaved with it (Chat
  // Completions parallel tool_calls) are buffered and shown whole, one after another, because a
  // backtrack can only erase the row it is on.
  private readonly tools = new Map<string, ToolEntry>()
  private active: string | undefined = undefined
  private block: string | undefined = undefined
  private open = false
  // The block keys of text and thinking, built once per block rather than per delta (the bulk of
  // every stream): a delta of the open block compares the same string.
  private textIndex: number | undefined = undefined
  private textKey = ''
  private thinkingIndex: number | undefined = undefined
  private thinkingKind: string | undefined = undefined
  private thinkingKey = ''

  constructor(private readonly opts: EventRendererOptions) {
    this.showThinking = opts.showThinking ?? true
  }

  private textBlock(index: number): string {
    if (index !== this.textIndex || this.textKey === '') {
      this.textIndex = index
      this.textKey = `text:${index}`
    }
    return this.textKey
  }

  private thinkingBlock(index: number, kind: string): string {
    if (index !== this.thinkingIndex || kind !== this.thinkingKind || this.thinkingKey === '') {
      this.thinkingIndex = index
      this.thinkingKind = kind
      this.thinkingKey = `thinking:${index}:${kind}`
    }
    return this.thinkingKey
  }

  private track(out: RenderOp[]): RenderOp[] {
    for (const op of out) this.open = op.op === 'text'
    return out
  }

  private closeRow(out: RenderOp[]): void {
    const last = out[out.length - 1]
    if (last === undefined ? this.open : last.op === 'text') out.push({ op: 'newline' })
  }

  private newBlock(out: RenderOp[], key: string): void {
    if (this.block === key) return
    this.closeRow(out)
    this.block = key
  }

  private toolOps(out: RenderOp[], key: string, ops: RenderOp[]): void {
    const t = this.tools.get(key)
    if (key === this.active || !t) out.push(...ops)
    else t.buf.push(...ops)
  }

  /** The active call ended: show the next calls (whole if they ended too). */
  private promote(out: RenderOp[]): void {
    this.active = undefined
    this.block = undefined
    for (const [key, t] of this.tools) {
      this.newBlock(out, `tool:${key}`)
      out.push(...t.buf)
      t.buf = []
      if (!t.ended) {
        this.active = key
        return
      }
      this.tools.delete(key)
      this.block = undefined
    }
  }

  private startTool(out: RenderOp[], key: string, call: { name: string; kind: ToolCallKind; call_id?: string } | undefined): ToolCallRenderer {
    const r = createToolCallRenderer(this.opts)
    this.tools.set(key, { r, buf: [], ended: false })
    if (this.active === undefined) {
      this.active = key
      this.newBlock(out, `tool:${key}`)
    }
    if (call) this.toolOps(out, key, r.start(call))
    return r
  }

  event(e: AgentEvent): RenderOp[] {
    const out: RenderOp[] = []
    switch (e.type) {
      case 'text_delta':
        this.newBlock(out, this.textBlock(e.index ?? 0))
        pushText(out, e.text, 'text')
        break
      case 'thinking_delta':
        if (!this.showThinking || e.kind === 'signature') break
        this.newBlock(out, this.thinkingBlock(e.index ?? 0, e.kind ?? ''))
        if (e.kind === 'redacted') pushText(out, '[redacted thinking]', 'meta')
        else pushText(out, e.text, 'thinking')
        break
      case 'tool_call_start': {
        const call: { name: string; kind: ToolCallKind; call_id?: string } = { name: e.name, kind: e.kind }
        if (e.call_id !== undefined) call.call_id = e.call_id
        this.startTool(out, toolKey(e), call)
        break
      }
      case 'tool_args_delta': {
        const key = toolKey(e)
        // Arguments of a call whose start we missed (joined mid-call) render raw.
        const r = this.tools.get(key)?.r ?? this.startTool(out, key, undefined)
        this.toolOps(out, key, r.feed(e.delta))
        break
      }
      case 'tool_call_end': {
        const key = toolKey(e)
        const t = this.tools.get(key)
        if (!t) break
        const fin: { arguments?: string; parse_error?: string } = { arguments: e.arguments }
        if (e.parse_error !== undefined && e.kind !== 'custom') fin.parse_error = e.parse_error
        const ops = t.r.end(e.incomplete ? undefined : fin)
        if (key === this.active) {
          out.push(...ops)
          this.tools.delete(key)
          this.promote(out)
        } else {
          t.buf.push(...ops)
          t.ended = true
        }
        break
      }
      case 'message_end':
        // A WebSocket flow carries several responses: each starts on a fresh line.
        this.closeRow(out)
        this.block = undefined
        break
      case 'error':
        this.newBlock(out, 'error')
        // One line, the format every view uses for provider errors.
        out.push({ op: 'text', text: errorLine({ type: e.error_type, code: e.code, message: e.message }), style: 'error' }, { op: 'newline' })
        this.block = undefined
        break
      default:
        break
    }
    return this.track(out)
  }

  end(): RenderOp[] {
    const out: RenderOp[] = []
    for (const t of this.tools.values()) {
      if (!t.ended) {
        t.buf.push(...t.r.end())
        t.ended = true
      }
    }
    if (this.active !== undefined) {
      const t = this.tools.get(this.active)
      if (t) {
        out.push(...t.buf)
        this.tools.delete(this.active)
      }
    }
    this.promote(out)
    this.closeRow(out)
    this.track(out)
    this.open = false
    this.block = undefined
    return out
  }

  get lineOpen(): boolean {
    return this.open
  }

  reset(): void {
    this.tools.clear()
    this.active = undefined
    this.block = undefined
    this.open = false
  }
}
