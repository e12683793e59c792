import type { LedgerContent, LedgerToolCall, ModelCall } from '@agenttap/ledger'
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api'
import type { Resource } from '@opentelemetry/resources'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { argumentsValue, inputMessages, outputMessages, systemInstructions } from './content.js'
import { OtelError } from './errors.js'
import { callSpanIdOf, toolSpanIdOf, traceIdOf, turnSpanIdOf } from './ids.js'
import { AGENTTAP, ATTR, GENAI_SEMCONV_VERSION } from './semconv.js'
import { defaultResource, SCOPE } from './resource.js'

/** Options of {@link createSpanBuilder}. */
export interface SpanBuilderOptions {
  /** Receives each finished span. */
  onSpan(span: ReadableSpan): void
  /** Record message content (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`, tool arguments and results). @defaultValue false */
  content?: boolean
  /** The ledger's request content by hash (system prompts), for `gen_ai.system_instructions` with `content`. */
  contentOf?(hash: string): LedgerContent | undefined
  /** Also export auxiliary flows (quota checks, titles, policy endpoints). @defaultValue false */
  includeAux?: boolean
  /** The resource of every span. @defaultValue `service.name=agenttap` */
  resource?: Resource
  /** Turns held open at once (one per session and agent); past it the oldest is ended now. @defaultValue 10_000 */
  maxOpenTurns?: number
  /** Tool calls waiting for their result; past it the oldest is ended now. @defaultValue 100_000 */
  maxPendingTools?: number
}

/** What {@link createSpanBuilder} returns. */
export interface SpanBuilder {
  /** One model call (in the order calls ended). */
  feed(call: ModelCall): void
  /** The input is over: open turns and tool calls without a result end now. */
  end(): void
  /** Ends the turns no call was fed to for `idleMs` (wall clock), so a live export sends them without waiting for the next turn. Returns how many ended. */
  endIdle(idleMs: number, now?: number): number
  /** Forget everything held (nothing is emitted). */
  reset(): void
  /** Turns not ended yet. */
  readonly openTurns: number
  /** Spans emitted so far. */
  readonly emitted: number
}

interface Turn {
  key: string
  spanId: string
  traceId: string
  parent?: string
  agent?: string
  client: string
  provider: string
  model?: string
  start: number
  end: number
  calls: number
  input: number
  cacheRead: number
  cacheWrite: number
  output: number
  reasoning: number
  error?: { type: string; message: string }
  hasPrompt: boolean
  /** Wall-clock ms of the last call fed (for endIdle). */
  seen: number
}

interface PendingTool {
  call: ModelCall
  tool: LedgerToolCall
  turn: Turn
  start: number
}

const NO_LINKS: never[] = []
const NO_EVENTS: never[] = []

function msOf(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined
  const t = Date.parse(iso)
  return Number.isFinite(t) ? t : undefined
}

function hr(ms: number): HrTime {
  const sec = Math.floor(ms / 1000)
  return [sec, Math.round((ms - sec * 1000) * 1e6)]
}

/** OTLP's provider names: the conventions' well-known values for the two providers agenttap decodes. */
export function providerName(provider: string): string {
  return provider === 'anthropic' ? 'anthropic' : provider === 'openai' ? 'openai' : provider
}

/** `gen_ai.usage.input_tokens`: every prompt token — uncached + cache read + cache written (Anthropic reports them apart; OpenAI's input already includes the cached part, which the ledger took out). */
export function inputTokensOf(u: NonNullable<ModelCall['usage']>): number {
  return u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h
}

function errorOf(call: ModelCall): { type: string; message: string } | undefined {
  if (call.outcome === 'completed' || call.outcome === 'open') return undefined
  if (call.error) return { type: call.error.type ?? call.error.code ?? (call.http_status ? String(call.http_status) : 'error'), message: call.error.message }
  return { type: call.outcome, message: `the call ended ${call.outcome}` }
}

function makeSpan(p: {
  name: string
  kind: SpanKind
  traceId: string
  spanId: string
  parent?: string | undefined
  start: number
  end: number
  attributes: Attributes
  error?: { type: string; message: string } | undefined
  resource: Resource
}): ReadableSpan {
  const ctx: SpanContext = { traceId: p.traceId, spanId: p.spanId, traceFlags: TraceFlags.SAMPLED }
  const end = Math.max(p.start, p.end)
  const span: ReadableSpan = {
    name: p.name,
    kind: p.kind,
    spanContext: () => ctx,
    ...(p.parent ? { parentSpanContext: { traceId: p.traceId, spanId: p.parent, traceFlags: TraceFlags.SAMPLED } } : {}),
    startTime: hr(p.start),
    endTime: hr(end),
    duration: hr(end - p.start),
    status: p.error ? { code: SpanStatusCode.ERROR, message: p.error.message } : { code: SpanStatusCode.UNSET },
    attributes: p.attributes,
    links: NO_LINKS,
    events: NO_EVENTS,
    ended: true,
    resource: p.resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }
  return span
}

/**
 * Model calls in, OTLP spans out, following the OpenTelemetry GenAI semantic conventions
 * ({@link GENAI_SEMCONV_VERSION}):
 *
 * - one trace per agent session (`gen_ai.conversation.id` = the session id);
 * - `invoke_agent {agent}` per turn: a call carrying a new user prompt starts one, the calls that
 *   follow (tool results sent back) belong to it; a subagent's calls make turns of their own,
 *   children of the main agent's turn open at the time;
 * - `chat {model}` per model call, child of its turn;
 * - `execute_tool {name}` per tool call, child of the turn, from the end of the response that asked
 *   for it to the start of the request that carried its result (the time the agent took to run it).
 *
 * Ids are derived from the session, call keys and tool call ids, so building the same calls twice
 * gives the same spans. A turn ends (and its span is emitted) when the next turn of the same
 * session and agent starts, or at {@link SpanBuilder.end}.
 */
export function createSpanBuilder(opts: SpanBuilderOptions): SpanBuilder {
  if (typeof opts?.onSpan !== 'function') throw new OtelError('INVALID_OPTION', 'createSpanBuilder: expected an onSpan callback')
  const resource = opts.resource ?? defaultResource()
  const maxTurns = opts.maxOpenTurns ?? 10_000
  const maxTools = opts.maxPendingTools ?? 100_000
  if (!Number.isInteger(maxTurns) || maxTurns < 1) throw new OtelError('INVALID_OPTION', `createSpanBuilder: expected maxOpenTurns to be a positive integer, received ${String(maxTurns)}`)
  if (!Number.isInteger(maxTools) || maxTools < 1) throw new OtelError('INVALID_OPTION', `createSpanBuilder: expected maxPendingTools to be a positive integer, received ${String(maxTools)}`)
  // Insertion order = age: the first entry is the oldest, the one a cap ends first.
  const turns = new Map<string, Turn>()
  const tools = new Map<string, PendingTool>()
  let emitted = 0

  const emit = (span: ReadableSpan): void => {
    emitted++
    opts.onSpan(span)
  }

  const endTurn = (t: Turn): void => {
    turns.delete(t.key)
    const attributes: Attributes = {
      [ATTR.operationName]: 'invoke_agent',
      [ATTR.providerName]: providerName(t.provider),
      [ATTR.agentName]: t.agent ?? t.client,
      [ATTR.conversationId]: t.key.slice(0, t.key.indexOf('\0')),
      [ATTR.usageInputTokens]: t.input + t.cacheRead + t.cacheWrite,
      [ATTR.usageCacheReadInputTokens]: t.cacheRead,
      [ATTR.usageCacheCreationInputTokens]: t.cacheWrite,
      [ATTR.usageOutputTokens]: t.output,
      [AGENTTAP.client]: t.client,
      'agenttap.turn.calls': t.calls,
      [AGENTTAP.turnPrompt]: t.hasPrompt,
    }
    if (t.agent !== undefined) attributes[ATTR.agentId] = t.agent
    if (t.model !== undefined) attributes[ATTR.requestModel] = t.model
    if (t.reasoning > 0) attributes[ATTR.usageReasoningOutputTokens] = t.reasoning
    if (t.error) attributes[ATTR.errorType] = t.error.type
    emit(
      makeSpan({
        name: `invoke_agent ${t.agent ?? t.client}`,
        kind: SpanKind.INTERNAL,
        traceId: t.traceId,
        spanId: t.spanId,
        parent: t.parent,
        start: t.start,
        end: t.end,
        attributes,
        error: t.error,
        resource,
      }),
    )
  }

  const endTool = (p: PendingTool, end: number, result?: ModelCall['tool_results'][number]): void => {
    tools.delete(p.tool.call_id)
    const { call, tool } = p
    const attributes: Attributes = {
      [ATTR.operationName]: 'execute_tool',
      [ATTR.toolName]: tool.name,
      [ATTR.toolCallId]: tool.call_id,
      [ATTR.toolType]: tool.kind === 'server' || tool.kind === 'mcp' ? 'extension' : 'function',
      [ATTR.conversationId]: call.session_id,
      [AGENTTAP.callKey]: call.key,
    }
    if (tool.command !== undefined) attributes[AGENTTAP.toolCommand] = tool.command
    if (result) {
      attributes[AGENTTAP.toolIsError] = result.is_error
      if (result.exit_code !== undefined) attributes[AGENTTAP.toolExitCode] = result.exit_code
    }
    if (opts.content) {
      attributes[ATTR.toolCallArguments] = JSON.stringify(argumentsValue(tool.arguments))
      if (result && !result.is_error) attributes[ATTR.toolCallResult] = JSON.stringify(result.output)
    }
    const error = result?.is_error ? { type: 'tool_error', message: result.exit_code !== undefined ? `exit code ${result.exit_code}` : 'the tool reported an error' } : undefined
    if (error) attributes[ATTR.errorType] = error.type
    emit(
      makeSpan({
        name: `execute_tool ${tool.name}`,
        kind: SpanKind.INTERNAL,
        traceId: p.turn.traceId,
        spanId: toolSpanIdOf(call.key, tool.call_id),
        parent: p.turn.spanId,
        start: p.start,
        end,
        attributes,
        error,
        resource,
      }),
    )
  }

  const openTurn = (call: ModelCall, start: number, key: string): Turn => {
    const agent = call.agent
    let parent: string | undefined
    if (agent !== undefined) parent = turns.get(`${call.session_id}\0`)?.spanId
    const t: Turn = {
      key,
      spanId: turnSpanIdOf(call.key, agent ?? ''),
      traceId: traceIdOf(call.session_id),
      client: call.client,
      provider: call.provider,
      start,
      end: start,
      calls: 0,
      input: 0,
      cacheRead: 0,
      cacheWrite: 0,
      output: 0,
      reasoning: 0,
      hasPrompt: call.prompt !== undefined,
      seen: Date.now(),
    }
    if (parent !== undefined) t.parent = parent
    if (agent !== undefined) t.agent = agent
    const model = call.request.model ?? call.model
    if (model !== undefined) t.model = model
    if (turns.size >= maxTurns) {
      const oldest = turns.values().next().value
      if (oldest) endTurn(oldest)
    }
    turns.set(key, t)
    return t
  }

  return {
    get openTurns() {
      return turns.size
    },
    get emitted() {
      return emitted
    },
    feed(call) {
      if (call.kind === 'aux' && !opts.includeAux) return
      const start = msOf(call.started_at) ?? 0
      const end = msOf(call.ended_at) ?? start
      // Results first: they close the tool spans of earlier calls, ending where this request began.
      for (const r of call.tool_results) {
        const p = tools.get(r.call_id)
        if (p) endTool(p, start, r)
      }
      const key = `${call.session_id}\0${call.agent ?? ''}`
      let turn = turns.get(key)
      if (turn && call.prompt !== undefined) {
        endTurn(turn)
        turn = undefined
      }
      if (!turn) turn = openTurn(call, start, key)
      turn.calls++
      turn.seen = Date.now()
      turn.end = Math.max(turn.end, end)
      const u = call.usage
      if (u) {
        turn.input += u.input
        turn.cacheRead += u.cache_read
        turn.cacheWrite += u.cache_write_5m + u.cache_write_1h
        turn.output += u.output
        turn.reasoning += u.reasoning ?? 0
      }
      const error = errorOf(call)
      if (error) turn.error = error
      else if (call.outcome === 'completed') delete turn.error

      const requestModel = call.request.model ?? call.model
      const attributes: Attributes = {
        [ATTR.operationName]: 'chat',
        [ATTR.providerName]: providerName(call.provider),
        [ATTR.conversationId]: call.session_id,
        [ATTR.responseFinishReasons]: call.stop_reason !== undefined ? [call.stop_reason] : [],
        [AGENTTAP.flowId]: call.flow_id,
        [AGENTTAP.callKey]: call.key,
        [AGENTTAP.client]: call.client,
        [AGENTTAP.outcome]: call.outcome,
        [AGENTTAP.transport]: call.transport,
      }
      if (requestModel !== undefined) attributes[ATTR.requestModel] = requestModel
      if (call.model !== undefined) attributes[ATTR.responseModel] = call.model
      if (call.response_id !== undefined) attributes[ATTR.responseId] = call.response_id
      if (call.request_id !== undefined) attributes['agenttap.request_id'] = call.request_id
      if (call.agent !== undefined) attributes[ATTR.agentId] = call.agent
      if (call.http_status !== undefined) attributes[AGENTTAP.httpStatus] = call.http_status
      if (call.request.max_tokens !== undefined) attributes[ATTR.requestMaxTokens] = call.request.max_tokens
      if (call.request.temperature !== undefined) attributes[ATTR.requestTemperature] = call.request.temperature
      const streamed = call.transport !== 'http'
      if (streamed) attributes[ATTR.requestStream] = true
      if (streamed && call.ttft_ms !== undefined) attributes[ATTR.responseTimeToFirstChunk] = call.ttft_ms / 1000
      if (u) {
        attributes[ATTR.usageInputTokens] = inputTokensOf(u)
        attributes[ATTR.usageCacheReadInputTokens] = u.cache_read
        attributes[ATTR.usageCacheCreationInputTokens] = u.cache_write_5m + u.cache_write_1h
        attributes[ATTR.usageOutputTokens] = u.output
        if (u.reasoning !== undefined) attributes[ATTR.usageReasoningOutputTokens] = u.reasoning
        if (u.cache_write_1h > 0) attributes[AGENTTAP.cacheWrite1h] = u.cache_write_1h
      }
      if (error) attributes[ATTR.errorType] = error.type
      if (opts.content) {
        attributes[ATTR.inputMessages] = inputMessages(call)
        attributes[ATTR.outputMessages] = outputMessages(call)
        const sys = call.request.system_hash !== undefined ? systemInstructions(opts.contentOf?.(call.request.system_hash)) : undefined
        if (sys !== undefined) attributes[ATTR.systemInstructions] = sys
      }
      emit(
        makeSpan({
          name: requestModel !== undefined ? `chat ${requestModel}` : 'chat',
          kind: SpanKind.CLIENT,
          traceId: turn.traceId,
          spanId: callSpanIdOf(call.key),
          parent: turn.spanId,
          start,
          end,
          attributes,
          error,
          resource,
        }),
      )
      for (const tool of call.tool_calls) {
        const prior = tools.get(tool.call_id)
        if (prior) endTool(prior, prior.start)
        if (tools.size >= maxTools) {
          const oldest = tools.values().next().value
          if (oldest) endTool(oldest, oldest.turn.end)
        }
        tools.set(tool.call_id, { call, tool, turn, start: end })
      }
    },
    end() {
      // A tool whose result never came ends with its turn (the agent stopped, or the capture did).
      for (const p of [...tools.values()]) endTool(p, Math.max(p.start, p.turn.end))
      for (const t of [...turns.values()]) endTurn(t)
    },
    endIdle(idleMs, now = Date.now()) {
      let n = 0
      for (const t of [...turns.values()]) {
        if (now - t.seen < idleMs) continue
        endTurn(t)
        n++
      }
      return n
    },
    reset() {
      turns.clear()
      tools.clear()
    },
  }
}

export { GENAI_SEMCONV_VERSION }
