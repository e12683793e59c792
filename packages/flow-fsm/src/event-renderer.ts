import type { AgentEvent } from './normalizer-contract.js'
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
  const tools = new Map<string, ToolCallRenderer>()
  let lastTool: string | undefined
  let block: string | undefined
  let lineOpen = false

  function track(out: RenderOp[]): RenderOp[] {
    for (const op of out) lineOpen = op.op === 'text'
    return out
  }
  function newBlock(out: RenderOp[], key: string): void {
    if (block === key) return
    if (lineOpen) out.push({ op: 'newline' })
    lineOpen = false
    block = key
  }
  const toolKey = (e: { call_id?: string; index?: number; item_id?: string }) => e.call_id ?? e.item_id ?? `#${e.index ?? 0}`

  function toolFor(out: RenderOp[], key: string): ToolCallRenderer | undefined {
    const r = tools.get(key)
    if (r && lastTool !== key) {
      // Another call printed in between: continue this one on a fresh line.
      if (lineOpen) out.push({ op: 'newline' })
      lineOpen = false
    }
    lastTool = key
    return r
  }

  return {
    event(e) {
      const out: RenderOp[] = []
      switch (e.type) {
        case 'text_delta':
          newBlock(out, `text:${e.index ?? 0}`)
          pushText(out, e.text, 'text')
          break
        case 'thinking_delta':
          if (!showThinking || e.kind === 'signature') break
          newBlock(out, `thinking:${e.index ?? 0}:${e.kind ?? ''}`)
          if (e.kind === 'redacted') pushText(out, '[redacted thinking]', 'meta')
          else pushText(out, e.text, 'thinking')
          break
        case 'tool_call_start': {
          const key = toolKey(e)
          newBlock(out, `tool:${key}`)
          const r = createToolCallRenderer(opts)
          tools.set(key, r)
          lastTool = key
          const call: { name: string; kind: typeof e.kind; call_id?: string } = { name: e.name, kind: e.kind }
          if (e.call_id !== undefined) call.call_id = e.call_id
          out.push(...r.start(call))
          break
        }
        case 'tool_args_delta': {
          const key = toolKey(e)
          let r = toolFor(out, key)
          if (!r) {
            // Arguments of a call whose start we missed: render them raw.
            newBlock(out, `tool:${key}`)
            r = createToolCallRenderer(opts)
            tools.set(key, r)
            lastTool = key
          }
          out.push(...r.feed(e.delta))
          break
        }
        case 'tool_call_end': {
          const key = toolKey(e)
          const r = toolFor(out, key)
          if (!r) break
          const fin: { arguments?: string; parse_error?: string } = { arguments: e.arguments }
          if (e.parse_error !== undefined && e.kind !== 'custom') fin.parse_error = e.parse_error
          out.push(...r.end(e.incomplete ? undefined : fin))
          tools.delete(key)
          block = undefined
          break
        }
        case 'message_end':
          // A WebSocket flow carries several responses: each starts on a fresh line.
          if (lineOpen) out.push({ op: 'newline' })
          block = undefined
          break
        case 'error':
          newBlock(out, 'error')
          pushText(out, `✗ ${e.error_type ?? 'error'}${e.code ? ` (${e.code})` : ''}: ${e.message}`, 'error')
          out.push({ op: 'newline' })
          block = undefined
          break
        default:
          break
      }
      return track(out)
    },
    end() {
      const out: RenderOp[] = []
      for (const r of tools.values()) out.push(...r.end())
      tools.clear()
      track(out)
      if (lineOpen) out.push({ op: 'newline' })
      lineOpen = false
      block = undefined
      return out
    },
    get lineOpen() {
      return lineOpen
    },
    reset() {
      tools.clear()
      block = undefined
      lastTool = undefined
      lineOpen = false
    },
  }
}
