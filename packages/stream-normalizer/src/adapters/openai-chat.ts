import type { ErrorEvent, MessageEndEvent, MessageStartEvent, Usage, UsageEvent } from '../types.js'
import { emitToolDelta, emitToolEnd, emitToolStart, emitUnknown, errorEventFields, newToolCall, num, obj, setUsage, str, textDelta, thinkingDelta, withBase, type Adapter, type AdapterContext, type ToolCall } from './common.js'

/** Tool calls of one choice are keyed choice * CHOICE_STRIDE + tool_calls[].index. */
const CHOICE_STRIDE = 65536

/**
 * OpenAI Chat Completions stream (`chat.completion.chunk`, `[DONE]`) → unified events. Tool
 * calls are assembled by `tool_calls[].index` per choice and end at the choice's
 * `finish_reason`; `reasoning_content` / `reasoning` (DeepSeek, OpenRouter, vLLM) become
 * thinking deltas; `message_end` comes at `[DONE]`.
 */
export function createOpenAIChatAdapter(ctx: AdapterContext): Adapter {
  const { flow_id } = ctx
  const provider = 'openai-chat' as const
  let started = false
  let ended = false
  let errored = false
  let finishReason: string | undefined
  let tools = new Map<number, ToolCall>()

  function endChoiceTools(choice: number, seq: number | undefined, incomplete: boolean): void {
    for (const [key, tc] of tools) {
      if (Math.floor(key / CHOICE_STRIDE) !== choice) continue
      if (tc.open) emitToolEnd(ctx, tc, seq, incomplete)
      tools.delete(key)
    }
  }

  function flushTools(seq: number | undefined, incomplete: boolean): void {
    for (const tc of tools.values()) if (tc.open) emitToolEnd(ctx, tc, seq, incomplete)
    tools = new Map()
  }

  function messageEnd(seq: number | undefined, incomplete: boolean): void {
    flushTools(seq, incomplete)
    const e: MessageEndEvent = { type: 'message_end', flow_id, provider }
    const reason = finishReason ?? (errored ? 'error' : undefined)
    if (reason !== undefined) e.stop_reason = reason
    if (incomplete) e.incomplete = true
    ctx.emit(withBase(e, seq, undefined))
  }

  function toolDeltas(calls: unknown[], choice: number, seq: number | undefined): void {
    for (const raw of calls) {
      const c = obj(raw)
      if (c === undefined) continue
      const ti = num(c['index']) ?? 0
      const key = choice * CHOICE_STRIDE + ti
      // `type: "custom"` tools (GPT-5 free-form input) carry `custom: {name, input}` instead.
      const custom = obj(c['custom'])
      const fn = custom ?? obj(c['function'])
      const id = str(c['id'])
      let tc = tools.get(key)
      if (tc !== undefined && id !== undefined && tc.call_id !== undefined && id !== tc.call_id) {
        // Some servers reuse index 0 for consecutive calls: a new id means a new call.
        if (tc.open) emitToolEnd(ctx, tc, seq, false)
        tc = undefined
      }
      if (tc === undefined) {
        tc = newToolCall(str(fn?.['name']) ?? '', custom !== undefined || c['type'] === 'custom' ? 'custom' : 'function', id, undefined, ti)
        tools.set(key, tc)
        emitToolStart(ctx, tc, seq)
      } else if (!tc.name) {
        const n = str(fn?.['name'])
        if (n) tc.name = n
      }
      const args = str(fn?.['arguments']) ?? str(fn?.['input'])
      if (args) emitToolDelta(ctx, tc, seq, args)
    }
  }

  return {
    event(v, name, seq, data) {
      const choices = v['choices']
      const err = obj(v['error'])
      if (err !== undefined && !Array.isArray(choices)) {
        errored = true
        ctx.emit(withBase<ErrorEvent>({ type: 'error', flow_id, provider, ...errorEventFields(err) }, seq, undefined))
        return
      }
      if (!Array.isArray(choices)) {
        if (str(v['type']) === 'error') {
          errored = true
          ctx.emit(withBase<ErrorEvent>({ type: 'error', flow_id, provider, ...errorEventFields(v) }, seq, undefined))
          return
        }
        emitUnknown(ctx, seq, name, data, 'chunk without choices')
        return
      }
      if (!started) {
        started = true
        const e: MessageStartEvent = { type: 'message_start', flow_id, provider }
        const id = str(v['id'])
        if (id !== undefined) e.message_id = id
        const model = str(v['model'])
        if (model !== undefined) e.model = model
        const role = str(obj(obj(choices[0])?.['delta'])?.['role'])
        e.role = role ?? 'assistant'
        ctx.emit(withBase(e, seq, undefined))
      }
      for (const raw of choices) {
        const c = obj(raw)
        if (c === undefined) continue
        const ci = num(c['index']) ?? 0
        const d = obj(c['delta'])
        if (d !== undefined) {
          const reasoning = str(d['reasoning_content']) ?? str(d['reasoning'])
          if (reasoning) ctx.emit(thinkingDelta(ctx, reasoning, 'thinking', seq, ci, undefined))
          const content = str(d['content'])
          if (content) ctx.emit(textDelta(ctx, content, seq, ci, undefined))
          const refusal = str(d['refusal'])
          if (refusal) ctx.emit(textDelta(ctx, refusal, seq, ci, undefined))
          const calls = d['tool_calls']
          if (Array.isArray(calls)) toolDeltas(calls, ci, seq)
        }
        const fr = str(c['finish_reason'])
        if (fr !== undefined) {
          finishReason = fr
          endChoiceTools(ci, seq, false)
        }
      }
      const u = obj(v['usage'])
      if (u !== undefined) {
        const usage: Usage = {}
        setUsage(usage, 'input_tokens', u['prompt_tokens'])
        setUsage(usage, 'output_tokens', u['completion_tokens'])
        setUsage(usage, 'cache_read_input_tokens', obj(u['prompt_tokens_details'])?.['cached_tokens'])
        setUsage(usage, 'reasoning_tokens', obj(u['completion_tokens_details'])?.['reasoning_tokens'])
        setUsage(usage, 'total_tokens', u['total_tokens'])
        ctx.emit(withBase<UsageEvent>({ type: 'usage', flow_id, provider, usage, cumulative: true }, seq, undefined))
      }
    },
    done(seq) {
      ended = true
      messageEnd(seq, false)
    },
    end() {
      if (!ended) {
        if (!errored) ctx.error('INCOMPLETE_STREAM', `Chat Completions stream ended without [DONE]${finishReason === undefined ? '' : ` (finish_reason ${finishReason} was seen)`}`, undefined, undefined)
        messageEnd(undefined, true)
      }
      this.reset()
    },
    reset() {
      started = false
      ended = false
      errored = false
      finishReason = undefined
      tools = new Map()
    },
  }
}
