import type { LedgerContent, ModelCall } from '@agenttap/ledger'

/**
 * Message content in the GenAI conventions' JSON shapes (gen-ai-input-messages.json,
 * gen-ai-output-messages.json, gen-ai-system-instructions.json), recorded on spans as JSON
 * strings (the JS SDK has no structured attribute values; the conventions allow a string then).
 * The text comes from the ledger, which reads it from the capture: already redacted as on disk.
 */

type Part =
  | { type: 'text'; content: string }
  | { type: 'reasoning'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id: string; response: unknown }

interface Message {
  role: 'user' | 'assistant' | 'tool' | 'system'
  parts: Part[]
  finish_reason?: string
}

/** A tool call's arguments as an object when they are JSON, else the raw text. */
export function argumentsValue(raw: string): unknown {
  if (raw === '') return {}
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** The conventions' finish reasons (`stop`, `length`, `tool_call`, `content_filter`, `error`) from a provider's stop reason. */
export function finishReason(stopReason: string | undefined, outcome: ModelCall['outcome']): string {
  if (outcome === 'error') return 'error'
  switch (stopReason) {
    case 'end_turn':
    case 'stop':
    case 'stop_sequence':
    case 'completed':
      return 'stop'
    case 'max_tokens':
    case 'max_output_tokens':
    case 'length':
    case 'incomplete':
      return 'length'
    case 'tool_use':
    case 'tool_calls':
      return 'tool_call'
    case 'refusal':
    case 'content_filter':
      return 'content_filter'
    default:
      return stopReason ?? outcome
  }
}

/**
 * `gen_ai.input.messages` of a call: what its request added to the conversation — the tool
 * results it carried, then the new user prompt. The earlier history is on the earlier spans of
 * the same trace (a request resends it whole; repeating it on every span would grow the trace
 * quadratically).
 */
export function inputMessages(call: ModelCall): string {
  const messages: Message[] = []
  for (const r of call.tool_results) messages.push({ role: 'tool', parts: [{ type: 'tool_call_response', id: r.call_id, response: r.output }] })
  if (call.prompt !== undefined) messages.push({ role: 'user', parts: [{ type: 'text', content: call.prompt }] })
  return JSON.stringify(messages)
}

/** `gen_ai.output.messages` of a call: one assistant message (reasoning, text, tool calls) with its finish reason. */
export function outputMessages(call: ModelCall): string {
  const parts: Part[] = []
  if (call.reasoning) parts.push({ type: 'reasoning', content: call.reasoning })
  if (call.text) parts.push({ type: 'text', content: call.text })
  for (const t of call.tool_calls) parts.push({ type: 'tool_call', id: t.call_id, name: t.name, arguments: argumentsValue(t.arguments) })
  return JSON.stringify([{ role: 'assistant', parts, finish_reason: finishReason(call.stop_reason, call.outcome) }])
}

/** `gen_ai.system_instructions`: the system prompt / instructions, when the ledger gave its text. */
export function systemInstructions(content: LedgerContent | undefined): string | undefined {
  if (!content || content.kind !== 'system') return undefined
  return JSON.stringify([{ type: 'text', content: content.text }])
}
