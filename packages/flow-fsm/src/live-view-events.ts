import type { AgentEvent } from '@agenttap/stream-normalizer'
import type { EventRenderer } from './event-renderer.js'
import { sanitizeText } from './render-ops.js'
import type { RenderOp } from './types.js'

/** What a flow's card showed last, so a label is printed only when the kind of output changes. */
export type ViewKind = 'text' | 'thinking' | 'tool' | 'other'

/** How a live view shows events (one object per view: nothing is allocated per event). */
export interface FlowEventOpsOptions {
  functionOnly: boolean
  labels: boolean
  /** The card's last row is open (set before each call). */
  lineOpen: boolean
}

/** The kind of output an event the view showed leaves on the card (see {@link flowEventOps}). */
export function eventViewKind(type: AgentEvent['type']): ViewKind {
  return type === 'text_delta' ? 'text' : type === 'thinking_delta' ? 'thinking' : type === 'tool_call_start' || type === 'tool_args_delta' || type === 'tool_call_end' ? 'tool' : 'other'
}

/**
 * The ops one unified event adds to a flow's card in a live view: the event renderer's ops, plus
 * the view's extras — `thinking: ` / `reasoning: ` labels (what tells thinking from the answer
 * without colours), `? unknown <event>` lines, and nothing but tool calls in `functionOnly`.
 * `undefined`: the event shows nothing; else the card's kind becomes {@link eventViewKind}.
 */
export function flowEventOps(r: EventRenderer, e: AgentEvent, kind: ViewKind | undefined, opts: FlowEventOpsOptions): RenderOp[] | undefined {
  switch (e.type) {
    case 'text_delta':
      if (opts.functionOnly || e.text === '') return undefined
      return r.event(e)
    case 'thinking_delta': {
      if (opts.functionOnly || e.kind === 'signature' || e.text === '') return undefined
      const ops = r.event(e)
      if (opts.labels && kind !== 'thinking' && e.kind !== 'redacted') {
        const at = ops.findIndex((o) => o.op === 'text')
        if (at !== -1) ops.splice(at, 0, { op: 'text', text: e.kind === 'summary' ? 'reasoning: ' : 'thinking: ', style: 'dim' })
      }
      return ops
    }
    case 'tool_call_start':
    case 'tool_args_delta':
    case 'tool_call_end':
      // `$ <command>` with backtrack, formatted arguments, parallel calls one after another.
      return r.event(e)
    case 'error':
      return r.event(e)
    case 'unknown': {
      if (opts.functionOnly) return undefined
      const ops: RenderOp[] = []
      if (opts.lineOpen) ops.push({ op: 'newline' })
      ops.push({ op: 'text', text: `? unknown ${sanitizeText(e.event ?? 'event')}${e.reason ? ` (${sanitizeText(e.reason)})` : ''}`, style: 'dim' }, { op: 'newline' })
      return ops
    }
    case 'message_end':
      return r.event(e)
    default:
      return undefined
  }
}
