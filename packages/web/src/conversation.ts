import { createLiveView, type RenderOp } from '@agenttap/flow-fsm'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { Span } from './types.js'

/**
 * The bits of a canonical `sse` record the detail view reads back — or of a `client_frame`
 * record (`type`), which shares the flow's `seq` and tells when a WebSocket response was asked for.
 */
export interface SseLike {
  /** `client_frame` for a frame the client sent; absent for a server event. */
  type?: 'client_frame'
  seq?: number
  t_ms?: number
  /** Capture time (the end line's durations are made from it). */
  ts?: string
  event?: string
  data: string
  transport?: 'sse' | 'ws'
}

/** A flow's records as loaded back for its detail. */
export interface FlowRecords {
  flow_id: string
  session_id: string
  /** The `flow` record (request), when captured. */
  flow?: Record<string, unknown>
  lines: readonly SseLike[]
  /** The `flow_end` record, when the flow ended. */
  end?: Record<string, unknown>
}

/** What {@link renderConversation} produces. */
export interface RenderedConversation {
  /** One array of spans per screen line. */
  lines: Span[][]
  /** Shell commands the tool calls ran (`$ …` lines), in order. */
  commands: string[]
  /** Malformed events met while rendering, with their place. */
  problems: string[]
}

/** Cap of event data rendered per flow, so a runaway stream cannot blow up one response. */
const MAX_RENDER_CHARS = 8 * 1024 * 1024

/**
 * Renders one flow exactly as the terminal monitor does, through flow-fsm's live view — the same
 * pipeline: text, thinking (labelled), tool calls as `$ command` lines or formatted arguments, the
 * tool results the request carried, provider errors in one line format, and the end line of each
 * model call (outcome, usage, duration, status, error). `backtrack` erases the current line, as
 * on the terminal. A flow still streaming is shown as far as it got, not declared cut off.
 *
 * @example
 * ```ts
 * const { lines, commands } = renderConversation({ flow_id, session_id, flow, lines: sse, end }, { finished: true })
 * ```
 */
export function renderConversation(records: FlowRecords, opts: { finished?: boolean } = {}): RenderedConversation {
  const ops: RenderOp[] = []
  const problems: string[] = []
  const start = (typeof records.flow?.['ts'] === 'string' ? Date.parse(records.flow['ts']) : Number.NaN) || 0
  const view = createLiveView({
    onOps: (o) => ops.push(...o),
    // One flow, no clock: nothing goes idle, no end line waits for a grace period.
    now: () => start,
    flowEndGraceMs: 0,
    onDiagnostic: (e) => problems.push(e.message),
  })
  const base = { v: 1, flow_id: records.flow_id, session_id: records.session_id }
  if (records.flow) view.feed({ ...records.flow, ...base, type: 'flow' } as CaptureRecord)
  let chars = 0
  for (const l of records.lines) {
    if (typeof l.data !== 'string' && l.type === undefined) {
      problems.push(`seq ${l.seq ?? '?'}: sse record without a data string`)
      continue
    }
    chars += l.data.length
    if (chars > MAX_RENDER_CHARS) {
      problems.push(`rendering stopped after ${MAX_RENDER_CHARS} characters of event data; see the Events tab`)
      break
    }
    view.feed({ ...base, ts: l.ts ?? '', ...l, type: l.type ?? 'sse' } as CaptureRecord)
  }
  if (records.end) view.feed({ ...records.end, ...base, type: 'flow_end' } as CaptureRecord)
  // A flow still streaming must not be reported as cut off.
  if (opts.finished === false) view.stop()
  else view.end()
  const lines = layout(ops)
  return { lines, commands: commandsOf(lines), problems }
}

/**
 * The shell commands of a rendered flow: a line that starts with a `$ ` command span, and the
 * command-only lines after it (a multi-line script).
 */
export function commandsOf(lines: readonly Span[][]): string[] {
  const out: string[] = []
  let cur: string[] | undefined
  for (const l of lines) {
    const all = l.length > 0 && l.every((s) => s.style === 'command')
    const text = l.map((s) => s.text).join('')
    if (all && text.startsWith('$ ')) {
      if (cur) out.push(cur.join('\n'))
      cur = [text.slice(2)]
    } else if (all && cur) cur.push(text)
    else if (cur) {
      out.push(cur.join('\n'))
      cur = undefined
    }
  }
  if (cur) out.push(cur.join('\n'))
  return out
}

/** Render ops → lines of spans: `newline` starts a line, `backtrack` empties the current one, headers are dropped. */
export function layout(ops: readonly RenderOp[]): Span[][] {
  const lines: Span[][] = []
  let cur: Span[] = []
  for (const op of ops) {
    if (op.op === 'text') {
      const last = cur[cur.length - 1]
      if (last && last.style === op.style) last.text += op.text
      else cur.push({ text: op.text, style: op.style })
    } else if (op.op === 'newline') {
      lines.push(cur)
      cur = []
    } else if (op.op === 'backtrack') {
      cur = []
    }
  }
  if (cur.length) lines.push(cur)
  // Collapse runs of blank lines to one.
  const out: Span[][] = []
  for (const l of lines) {
    if (l.length === 0 && (out.length === 0 || (out[out.length - 1] as Span[]).length === 0)) continue
    out.push(l)
  }
  while (out.length && (out[out.length - 1] as Span[]).length === 0) out.pop()
  return out
}
