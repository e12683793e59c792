import type { AgentEvent } from '@agenttap/stream-normalizer'
import type { EventRenderer } from './event-renderer.js'
import { sanitizeText } from './render-ops.js'
import type { RenderOp } from './types.js'

/** What a flow's card showed last, so a label is printed only when the kind of output changes. */
export type ViewKind = 'text' | 'thinking' | 'tool' | 'other'

/**
 * The ops one unified event adds to a flow's card in a live view: the event renderer's ops, plus
 * the view's extras — `thinking: ` / `reasoning: ` labels (what tells thinking from the answer
 * without colours), `? unknown <event>` lines, and nothing but tool calls in `functionOnly`.
 * `undefined`: the event shows nothing.
 */
export function flowEventOps(
  r: EventRenderer,
  e: AgentEvent,
  kind: ViewKind | undefined,
  opts: { functionOnly: boolean; labels: boolean; lineOpen: boolean },
): { ops: RenderOp[]; kind: ViewKind | undefined } | undefined {
  switch (e.type) {
    case 'text_delta':
      if (opts.functionOnly || e.text === '') return undefined
      return { ops: r.event(e), kind: 'text' }
    case 'thinking_delta': {
      if (opts.functionOnly || e.kind === 'signature' || e.text === '') return undefined
      const ops = r.event(e)
      if (opts.labels && kind !== 'thinking' && e.kind !== 'redacted') {
        const at = ops.findIndex((o) => o.op === 'text')
        if (at !== -1) ops.splice(at, 0, { op: 'text', text: e.kind === 'summary' ? 'reasoning: ' : 'thinking: ', style: 'dim' })
      }
      return { ops, kind: 'thinking' }
    }
    case 'tool_call_start':
    case 'tool_args_delta':
    case 'tool_call_end':
      // `$ <command>` with backtrack, formatted arguments, parallel calls one after another.
      return { ops: r.event(e), kind: 'tool' }
    case 'error':
      return { ops: r.event(e), kind: 'other' }
    case 'unknown': {
      if (opts.functionOnly) return undefined
      const ops: RenderOp[] = []
      if (opts.lineOpen) ops.push({ op: 'newline' })
      ops.push({ op: 'text', text: `? unknown ${sanitizeText(e.event ?? 'event')}${e.reason ? ` (${sanitizeText(e.reason)})` : ''}`, style: 'dim' }, { op: 'newline' })
      return { ops, kind: 'other' }
    }
    case 'message_end':
      return { ops: r.event(e), kind: 'other' }
    default:
      return undefined
  }
}
