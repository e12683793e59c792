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
  const showThinking = opts.showThinking ?? true
  // Calls in start order. Only the first streams live; calls interleaved with it (Chat
  // Completions parallel tool_calls) are buffered and shown whole, one after another, because a
  // backtrack can only erase the row it is on.
  const tools = new Map<string, { r: ToolCallRenderer; buf: RenderOp[]; ended: boolean }>()
  let active: string | undefined
  let block: string | undefined
  let lineOpen = false
  // The block keys of text and thinking, built once per block rather than per delta (the bulk of
  // every stream): a delta of the open block compares the same string.
  let textIndex: number | undefined
  let textKey = ''
  let thinkingIndex: number | undefined
  let thinkingKind: string | undefined
  let thinkingKey = ''
  const textBlock = (index: number): string => {
    if (index !== textIndex || textKey === '') {
      textIndex = index
      textKey = `text:${index}`
    }
    return textKey
  }
  const thinkingBlock = (index: number, kind: string): string => {
    if (index !== thinkingIndex || kind !== thinkingKind || thinkingKey === '') {
      thinkingIndex = index
      thinkingKind = kind
      thinkingKey = `thinking:${index}:${kind}`
    }
    return thinkingKey
  }

  function track(out: RenderOp[]): RenderOp[] {
    for (const op of out) lineOpen = op.op === 'text'
    return out
  }
  function closeRow(out: RenderOp[]): void {
    const last = out[out.length - 1]
    if (last === undefined ? lineOpen : last.op === 'text') out.push({ op: 'newline' })
  }
  function newBlock(out: RenderOp[], key: string): void {
    if (block === key) return
    closeRow(out)
    block = key
  }
  const toolKey = (e: { call_id?: string; index?: number; item_id?: string }) => e.call_id ?? e.item_id ?? `#${e.index ?? 0}`

  function toolOps(out: RenderOp[], key: string, ops: RenderOp[]): void {
    const t = tools.get(key)
    if (key === active || !t) out.push(...ops)
    else t.buf.push(...ops)
  }

  /** The active call ended: show the next calls (whole if they ended too). */
  function promote(out: RenderOp[]): void {
    active = undefined
    block = undefined
    for (const [key, t] of tools) {
      newBlock(out, `tool:${key}`)
      out.push(...t.buf)
      t.buf = []
      if (!t.ended) {
        active = key
        return
      }
      tools.delete(key)
      block = undefined
    }
  }

  function startTool(out: RenderOp[], key: string, call: { name: string; kind: ToolCallKind; call_id?: string } | undefined): ToolCallRenderer {
    const r = createToolCallRenderer(opts)
    tools.set(key, { r, buf: [], ended: false })
    if (active === undefined) {
      active = key
      newBlock(out, `tool:${key}`)
    }
    if (call) toolOps(out, key, r.start(call))
    return r
  }

  return {
    event(e) {
      const out: RenderOp[] = []
      switch (e.type) {
        case 'text_delta':
          newBlock(out, textBlock(e.index ?? 0))
          pushText(out, e.text, 'text')
          break
        case 'thinking_delta':
          if (!showThinking || e.kind === 'signature') break
          newBlock(out, thinkingBlock(e.index ?? 0, e.kind ?? ''))
          if (e.kind === 'redacted') pushText(out, '[redacted thinking]', 'meta')
          else pushText(out, e.text, 'thinking')
          break
        case 'tool_call_start': {
          const call: { name: string; kind: ToolCallKind; call_id?: string } = { name: e.name, kind: e.kind }
          if (e.call_id !== undefined) call.call_id = e.call_id
          startTool(out, toolKey(e), call)
          break
        }
        case 'tool_args_delta': {
          const key = toolKey(e)
          // Arguments of a call whose start we missed (joined mid-call) render raw.
          const r = tools.get(key)?.r ?? startTool(out, key, undefined)
          toolOps(out, key, r.feed(e.delta))
          break
        }
        case 'tool_call_end': {
          const key = toolKey(e)
          const t = tools.get(key)
          if (!t) break
          const fin: { arguments?: string; parse_error?: string } = { arguments: e.arguments }
          if (e.parse_error !== undefined && e.kind !== 'custom') fin.parse_error = e.parse_error
          const ops = t.r.end(e.incomplete ? undefined : fin)
          if (key === active) {
            out.push(...ops)
            tools.delete(key)
            promote(out)
          } else {
            t.buf.push(...ops)
            t.ended = true
          }
          break
        }
        case 'message_end':
          // A WebSocket flow carries several responses: each starts on a fresh line.
          closeRow(out)
          block = undefined
          break
        case 'error':
          newBlock(out, 'error')
          // One line, the format every view uses for provider errors.
          out.push({ op: 'text', text: errorLine({ type: e.error_type, code: e.code, message: e.message }), style: 'error' }, { op: 'newline' })
          block = undefined
          break
        default:
          break
      }
      return track(out)
    },
    end() {
      const out: RenderOp[] = []
      for (const t of tools.values()) {
        if (!t.ended) {
          t.buf.push(...t.r.end())
          t.ended = true
        }
      }
      if (active !== undefined) {
        const t = tools.get(active)
        if (t) {
          out.push(...t.buf)
          tools.delete(active)
        }
      }
      promote(out)
      closeRow(out)
      track(out)
      lineOpen = false
      block = undefined
      return out
    },
    get lineOpen() {
      return lineOpen
    },
    reset() {
      tools.clear()
      active = undefined
      block = undefined
      lineOpen = false
    },
  }
}
