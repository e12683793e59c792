import type { RequestAnatomy } from '@agenttap/session-extractor'
import type { RequestFacts } from './call-builder.js'
import type { CallRequest } from './types.js'

/** What a call keeps of an analyzed request. */
export function factsOf(a: RequestAnatomy): RequestFacts {
  const r: CallRequest = { tool_names: a.tool_names, message_count: a.message_count }
  if (a.model !== undefined) r.model = a.model
  if (a.max_tokens !== undefined) r.max_tokens = a.max_tokens
  if (a.temperature !== undefined) r.temperature = a.temperature
  if (a.reasoning_effort !== undefined) r.reasoning_effort = a.reasoning_effort
  if (a.stream !== undefined) r.stream = a.stream
  if (a.system !== undefined) r.system_hash = a.system.hash
  if (a.tools_hash !== undefined) r.tools_hash = a.tools_hash
  if (a.history_hash !== undefined) r.history_hash = a.history_hash
  if (a.prompt_cache_key !== undefined) r.prompt_cache_key = a.prompt_cache_key
  if (a.user_agent !== undefined) r.user_agent = a.user_agent
  if (a.segments.length > 0) r.segments = a.segments
  return { kind: a.kind, prompt: a.prompt, tool_results: a.tool_results, request: r, history_hash: a.history_hash }
}
