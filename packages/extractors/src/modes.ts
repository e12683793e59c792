import { ExtractError } from './errors.js'
import { MODE_NAMES } from './types.js'
import type { ModeName } from './types.js'

/** What a mode is. */
export interface ModeSpec {
  name: ModeName
  /** One line for `--help` and the README. */
  description: string
  /** Its columns, in order. */
  columns: string[]
}

const spec = (name: ModeName, description: string, columns: string): ModeSpec => ({ name, description, columns: columns.split(', ') })

/** Every mode: what it answers and its columns. */
export const MODES: Record<ModeName, ModeSpec> = {
  user_prompts: spec('user_prompts', 'user prompts (the new prompt of each request; retries collapse into one)', 'ts, session_id, flow_id, client, text'),
  assistant_text: spec('assistant_text', 'assistant text per model call', 'ts, session_id, flow_id, call, text'),
  reasoning: spec('reasoning', 'thinking / reasoning text per model call', 'ts, session_id, flow_id, call, text'),
  tool_calls: spec('tool_calls', 'tool calls with name, call id and full arguments', 'ts, session_id, flow_id, call, index, call_id, name, kind, arguments, complete'),
  tool_results: spec('tool_results', 'tool results sent back to the model (each call id once)', 'ts, session_id, flow_id, call_id, name, is_error, output, exit_code'),
  shell_commands: spec('shell_commands', 'shell commands run (the shell tools of stream-normalizer)', 'ts, session_id, flow_id, call_id, tool, command, workdir'),
  file_edits: spec('file_edits', 'files written or edited (Edit/MultiEdit/Write/NotebookEdit, apply_patch)', 'ts, session_id, flow_id, call_id, tool, op, path'),
  files_read: spec('files_read', 'files read (Read, view_image, simple cat/head/tail/sed -n in shell)', 'ts, session_id, flow_id, call_id, tool, path, via'),
  web_access: spec('web_access', 'web fetches and searches (WebFetch, WebSearch, web_search, curl/wget)', 'ts, session_id, flow_id, call_id, tool, kind, target'),
  mcp_calls: spec('mcp_calls', 'MCP tool calls (server, tool, arguments)', 'ts, session_id, flow_id, call_id, server, tool, arguments'),
  subagents: spec('subagents', 'subagents started (Task/Agent calls, requests sent by a subagent)', 'ts, session_id, flow_id, source, call_id, subagent, description'),
  config: spec('config', 'per-call request config: model, reasoning effort, temperature, max tokens, tools', 'ts, session_id, flow_id, call, client, model, reasoning_effort, temperature, max_tokens, tool_count, tools'),
  system_prompts: spec('system_prompts', 'system prompts / instructions, deduplicated with hash and first/last seen', 'hash, first_seen, last_seen, flows, sessions, chars, text'),
  tool_definitions: spec('tool_definitions', 'tool definitions offered to the model, deduplicated by hash', 'name, kind, hash, first_seen, last_seen, flows, sessions, description, schema'),
  models: spec('models', 'models requested, with flow and session counts', 'model, provider, flows, sessions, first_seen, last_seen'),
  usage: spec('usage', 'tokens per model call (input, cache read/write, output, reasoning), counted once', 'ts, session_id, flow_id, call, model, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, total_tokens'),
  cost: spec('cost', 'cost per model call from the versioned price table', 'ts, session_id, flow_id, call, model, price_key, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, prices_version'),
  sessions: spec('sessions', 'one row per session: client, first/last seen, flows, turns, tokens, cost, errors', 'session_id, client, first_seen, last_seen, flows, turns, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, unpriced_calls, errors, prices_version'),
  turns: spec('turns', 'user prompt → agent idle, with response, flows, tool calls, tokens (--mode paired: prompt ↔ answer)', 'ts, session_id, turn, client, prompt, response, flows, tool_calls, stop_reason, outcome, input_tokens, output_tokens, ended, duration_ms'),
  flows: spec('flows', 'one row per flow: kind, model, status, outcome, stop reason, TTFB, duration, calls', 'ts, session_id, flow_id, client, provider, kind, model, method, url, status, outcome, stop_reason, ttfb_ms, duration_ms, events, bytes, calls'),
  errors: spec('errors', 'API errors, overloads, rate limits, aborted and truncated calls', 'ts, session_id, flow_id, call, kind, status, outcome, error_type, message'),
  stop_reasons: spec('stop_reasons', 'stop reason counts per provider', 'provider, stop_reason, calls'),
  rate_limits: spec('rate_limits', 'rate-limit state each response reported', 'ts, session_id, flow_id, call, client, status, retry_after, requests_remaining, tokens_remaining, used_percent, reset, headers'),
  cache: spec('cache', 'prompt-cache breaks: per lane (session, agent, model), the cause, first divergent offset and wasted dollars (--explain <flow>: the divergence as a diff)', 'ts, session_id, agent, model, flow_id, call, prev_flow_id, cause, change, detail, segment, offset, cached_bytes, gap_s, expected_read, cache_read, lost_tokens, wasted_usd, price_key'),
  cache_ratio: spec('cache_ratio', 'prompt-cache hit ratio per session', 'session_id, client, calls, input_tokens, cache_read_tokens, cache_write_tokens, hit_ratio'),
  context: spec('context', 'context window over time: per main-lane call, context tokens (input + cache read + cache write) vs the model window, compactions', 'ts, session_id, flow_id, call, model, context_tokens, window, ratio, compaction'),
  quota: spec('quota', 'quota over time: each response\'s rate-limit windows (5h, 7d, per-token), the change since the account\'s previous reading, attributed to the reporting session', 'ts, session_id, flow_id, call, account, window, used, delta, session_used, reset, status, reset_seen'),
  clients: spec('clients', 'clients by user-agent and version', 'client, user_agent, version, flows, sessions, first_seen, last_seen'),
  latency: spec('latency', 'time to first token and duration percentiles per client and model', 'client, model, calls, with_ttft, ttft_p50, ttft_p90, ttft_p99, ttft_max, duration_p50, duration_p90, duration_p99, duration_max'),
  daily: spec('daily', 'tokens and cost per UTC day, model and source (wire, claude-transcript, codex-rollout)', 'date, model, source, calls, input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, total_tokens, cost_usd, unpriced_calls, prices_version'),
  compactions: spec('compactions', 'context compactions the transcripts recorded (Claude compact_boundary, Codex compacted), with token figures', 'ts, session_id, source, agent, trigger, pre_tokens, post_tokens'),
  reconcile: spec('reconcile', 'wire calls joined with transcript calls per session: matched, only one side, usage that differs, re-emitted or replayed entries', 'session_id, client, wire_calls, transcript_calls, matched, only_wire, only_transcript, usage_differs, wire_tokens, transcript_tokens, reemitted, replayed, only_wire_ids, only_transcript_ids, differing_ids'),
  call_validation: spec('call_validation', 'tool-call lifecycle findings: unanswered, orphan, duplicate, early results, bad arguments', 'session_id, flow_id, kind, call_id, name, position, related_flow_id, message'),
}

/**
 * Parses a comma-separated mode list (`config,tool_calls` or `all`).
 * @throws ExtractError `UNKNOWN_MODE` naming the bad entries and the valid ones.
 */
export function parseModes(list: string | string[]): ModeName[] {
  const items = (Array.isArray(list) ? list : [list]).flatMap((s) => s.split(',')).map((s) => s.trim().replace(/-/g, '_')).filter((s) => s !== '')
  if (items.length === 0) throw new ExtractError('UNKNOWN_MODE', `no mode given; expected one or more of: ${MODE_NAMES.join(', ')} (or all)`)
  if (items.includes('all')) return [...MODE_NAMES]
  const bad = items.filter((s) => !(MODE_NAMES as readonly string[]).includes(s))
  if (bad.length > 0) throw new ExtractError('UNKNOWN_MODE', `unknown mode ${bad.map((b) => JSON.stringify(b)).join(', ')}; expected one of: ${MODE_NAMES.join(', ')} (or all)`)
  return [...new Set(items)] as ModeName[]
}

/** Column that orders rows in time for `limit` (default `ts`); '' for aggregate modes with no time order. */
export const LATEST_BY: Partial<Record<ModeName, string>> = {
  system_prompts: 'last_seen',
  tool_definitions: 'last_seen',
  models: 'last_seen',
  sessions: 'last_seen',
  clients: 'last_seen',
  stop_reasons: '',
  cache_ratio: '',
  latency: '',
  call_validation: '',
  daily: 'date',
  reconcile: '',
}
