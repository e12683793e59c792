import { createToolCallRenderer, pushText, sanitizeText, type RenderOp } from '@agenttap/flow-fsm'
import { createStreamNormalizer, type AgentEvent, type Usage } from '@agenttap/stream-normalizer'
import type { FlowUsage, Span } from './types.js'

/** The bits of a canonical `sse` record the renderer reads. */
export interface SseLike {
  seq?: number
  t_ms?: number
  event?: string
  data: string
  transport?: 'sse' | 'ws'
}

/** What {@link renderConversation} produces. */
export interface RenderedConversation {
  lines: Span[][]
  commands: string[]
  problems: string[]
  usage: FlowUsage
  model?: string
  stop_reason?: string
  error?: string
  tool_calls: number
}

/** Cap of rendered characters per flow, so a runaway stream cannot blow up one response. */
const MAX_RENDER_CHARS = 8 * 1024 * 1024

/**
 * Renders one flow's stream the way the monitor does: stream-normalizer turns the provider
 * events into unified events, flow-fsm's tool-call renderer turns tool calls into `$ command`
 * lines (or pretty JSON arguments), and the render ops are laid out as lines of styled spans
 * (`backtrack` erases the current line, as on the terminal).
 */
export function renderConversation(
  flow: { flow_id: string; url?: string; provider?: string; client?: string },
  records: Iterable<SseLike>,
  opts: { finished?: boolean } = {},
): RenderedConversation {
  const ops: RenderOp[] = []
  const problems: string[] = []
  const commands: string[] = []
  const usage: FlowUsage = {}
  let model: string | undefined
  let stopReason: string | undefined
  let error: string | undefined
  let toolCalls = 0
  let block: 'text' | 'thinking' | 'tool' | undefined
  const tool = createToolCallRenderer()
  let inTool = false

  const closeLine = (): void => {
    const last = ops[ops.length - 1]
    if (last !== undefined && last.op === 'text') ops.push({ op: 'newline' })
  }
  const switchBlock = (next: 'text' | 'thinking' | 'tool'): void => {
    if (block !== next) {
      closeLine()
      if (block !== undefined) ops.push({ op: 'newline' })
      block = next
    }
  }
  const endTool = (final?: { arguments?: string; parse_error?: string }): void => {
    if (!inTool) return
    ops.push(...tool.end(final))
    const cmd = tool.command
    if (cmd !== undefined) commands.push(cmd)
    inTool = false
  }

  const onEvent = (e: AgentEvent): void => {
    switch (e.type) {
      case 'message_start':
        if (e.model) model = e.model
        break
      case 'text_delta':
        if (inTool) endTool()
        switchBlock('text')
        pushText(ops, e.text, 'text')
        break
      case 'thinking_delta':
        if (e.kind === 'signature') break
        if (inTool) endTool()
        switchBlock('thinking')
        pushText(ops, e.kind === 'redacted' ? '[redacted thinking]' : e.text, 'thinking')
        break
      case 'tool_call_start':
        if (inTool) endTool()
        switchBlock('tool')
        closeLine()
        toolCalls++
        ops.push(...tool.start({ name: e.name, kind: e.kind, ...(e.call_id !== undefined ? { call_id: e.call_id } : {}) }))
        inTool = true
        break
      case 'tool_args_delta':
        if (!inTool) {
          switchBlock('tool')
          inTool = true
        }
        ops.push(...tool.feed(e.delta))
        break
      case 'tool_call_end':
        if (!inTool) {
          // An end without a start (the stream began mid-call): render it whole.
          switchBlock('tool')
          ops.push(...tool.start({ name: e.name, kind: e.kind }))
          inTool = true
          toolCalls++
        }
        endTool(
          e.incomplete
            ? undefined
            : { arguments: e.arguments, ...(e.parse_error !== undefined ? { parse_error: e.parse_error } : {}) },
        )
        break
      case 'usage':
        mergeUsage(usage, e.usage, e.cumulative)
        break
      case 'message_end':
        if (e.stop_reason) stopReason = e.stop_reason
        if (e.incomplete && error === undefined) {
          endTool()
          closeLine()
          ops.push({ op: 'text', text: '✗ stream ended before its terminal event (incomplete)', style: 'error' }, { op: 'newline' })
        }
        break
      case 'error': {
        endTool()
        closeLine()
        const msg = `${e.error_type ?? e.code ?? 'error'}: ${e.message}`
        error ??= msg
        ops.push({ op: 'text', text: `✗ ${sanitizeText(msg)}`, style: 'error' }, { op: 'newline' })
        break
      }
      case 'unknown':
        if (e.reason && /pars|malformed|invalid|json/i.test(e.reason)) {
          problems.push(`seq ${e.seq ?? '?'}: ${e.reason}`)
        }
        break
    }
  }

  const normalizer = createStreamNormalizer({
    flow_id: flow.flow_id,
    flow: {
      ...(flow.url !== undefined ? { url: flow.url } : {}),
      ...(flow.provider !== undefined ? { provider: flow.provider } : {}),
      ...(flow.client !== undefined ? { client: flow.client } : {}),
    },
    onEvent,
    onError: (err) => problems.push(err.message),
  })
  let chars = 0
  for (const r of records) {
    if (typeof r.data !== 'string') {
      problems.push(`seq ${r.seq ?? '?'}: sse record without a data string`)
      continue
    }
    chars += r.data.length
    if (chars > MAX_RENDER_CHARS) {
      problems.push(`rendering stopped after ${MAX_RENDER_CHARS} characters of event data; see the Events tab`)
      break
    }
    normalizer.feedRecord({
      data: r.data,
      ...(r.seq !== undefined ? { seq: r.seq } : {}),
      ...(r.event !== undefined ? { event: r.event } : {}),
      ...(r.transport !== undefined ? { transport: r.transport } : {}),
    })
  }
  // A flow still streaming must not be reported as cut off.
  if (opts.finished !== false) normalizer.end()
  if (opts.finished !== false) endTool()
  closeLine()
  const u = usageLine(usage)
  if (u) ops.push({ op: 'newline' }, { op: 'text', text: u, style: 'meta' }, { op: 'newline' })
  if (stopReason) ops.push({ op: 'text', text: `stop: ${sanitizeText(stopReason)}`, style: 'meta' }, { op: 'newline' })

  return {
    lines: layout(ops),
    commands,
    problems,
    usage,
    ...(model !== undefined ? { model } : {}),
    ...(stopReason !== undefined ? { stop_reason: stopReason } : {}),
    ...(error !== undefined ? { error } : {}),
    tool_calls: toolCalls,
  }
}

/** Cumulative usage replaces what it reports; incremental usage adds. */
export function mergeUsage(into: FlowUsage, u: Usage, cumulative: boolean): void {
  for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'reasoning_tokens', 'total_tokens'] as const) {
    const v = u[k]
    if (typeof v !== 'number' || !Number.isFinite(v)) continue
    into[k] = cumulative ? v : (into[k] ?? 0) + v
  }
}

/** `usage: in 9 · out 120 · cache read 14210 · cache write 1320 · reasoning 64`, or '' when none. */
export function usageLine(u: FlowUsage): string {
  const parts: string[] = []
  if (u.input_tokens !== undefined) parts.push(`in ${u.input_tokens}`)
  if (u.output_tokens !== undefined) parts.push(`out ${u.output_tokens}`)
  if (u.cache_read_input_tokens !== undefined) parts.push(`cache read ${u.cache_read_input_tokens}`)
  if (u.cache_creation_input_tokens !== undefined) parts.push(`cache write ${u.cache_creation_input_tokens}`)
  if (u.reasoning_tokens !== undefined) parts.push(`reasoning ${u.reasoning_tokens}`)
  if (u.total_tokens !== undefined) parts.push(`total ${u.total_tokens}`)
  return parts.length ? `usage: ${parts.join(' · ')}` : ''
}

/** Render ops → lines of spans: `newline` starts a line, `backtrack` empties the current one. */
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
