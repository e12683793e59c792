import { ExtractError } from './errors.js'
import { MODE_NAMES } from './types.js'
import type { ModeName } from './types.js'

/** How a mode is answered. */
export interface ModeSpec {
  name: ModeName
  /** One line for `--help` and the README. */
  description: string
  /** Which capture files it reads. */
  reads: ('flows' | 'lines' | 'ends')[]
  /**
   * ripgrep pattern (Rust regex) that every `sse_lines.jsonl` line the mode's SQL can use
   * matches. The `rg` engine keeps only those lines; absent: the mode does not read lines.
   */
  linesPattern?: string
  /**
   * The pattern keeps a small share of the lines (usage, stop and error events), so on large
   * captures `--engine auto` runs the rg prefilter first when `rg` is on PATH.
   */
  selective?: boolean
}

const TOOL = String.raw`tool_use|input_json_delta|content_block_stop|output_item\.(added|done)|arguments\.delta|input\.delta`
const TEXT = String.raw`text_delta|output_text\.delta|chat\.completion\.chunk`
const REASON = String.raw`thinking_delta|reasoning_summary_text\.delta|reasoning_text\.delta|chat\.completion\.chunk`
const USAGE = String.raw`message_start|message_delta|response\.(completed|incomplete|failed|done)|usage`
const STOP = String.raw`message_delta|response\.(completed|incomplete|failed)|finish_reason`
const ERR = String.raw`error|response\.failed`
const any = (...p: string[]): string => p.join('|')

/** Every mode, what it reads and how it can be prefiltered. */
export const MODES: Record<ModeName, ModeSpec> = {
  user_prompts: { name: 'user_prompts', description: 'user prompts (from request bodies; retries collapse into one)', reads: ['flows'] },
  assistant_text: { name: 'assistant_text', description: 'assistant text per flow and block, rebuilt from deltas', reads: ['lines'], linesPattern: TEXT },
  reasoning: { name: 'reasoning', description: 'thinking / reasoning-summary text per flow and block', reads: ['lines'], linesPattern: REASON },
  tool_calls: { name: 'tool_calls', description: 'tool calls with name, call id and full arguments', reads: ['lines'], linesPattern: TOOL },
  tool_results: { name: 'tool_results', description: 'tool results sent back to the model (each call id once)', reads: ['flows'] },
  shell_commands: { name: 'shell_commands', description: 'shell commands run (Bash, shell, shell_command, exec_command, local_shell)', reads: ['lines'], linesPattern: TOOL },
  file_edits: { name: 'file_edits', description: 'files written or edited (Edit/MultiEdit/Write/NotebookEdit, apply_patch)', reads: ['lines'], linesPattern: TOOL },
  files_read: { name: 'files_read', description: 'files read (Read, view_image, simple cat/head/tail/sed -n in shell)', reads: ['lines'], linesPattern: TOOL },
  web_access: { name: 'web_access', description: 'web fetches and searches (WebFetch, WebSearch, web_search, curl/wget)', reads: ['lines'], linesPattern: TOOL },
  mcp_calls: { name: 'mcp_calls', description: 'MCP tool calls (server, tool, arguments)', reads: ['lines'], linesPattern: TOOL },
  subagents: { name: 'subagents', description: 'subagents started (Task/Agent calls, x-openai-subagent flows)', reads: ['lines', 'flows'], linesPattern: TOOL },
  config: { name: 'config', description: 'per-flow request config: model, reasoning effort, temperature, max tokens, tools', reads: ['flows'] },
  system_prompts: { name: 'system_prompts', description: 'system prompts / instructions, deduplicated with hash and first/last seen', reads: ['flows'] },
  tool_definitions: { name: 'tool_definitions', description: 'tool definitions offered to the model, deduplicated by name + schema hash', reads: ['flows'] },
  models: { name: 'models', description: 'models requested, with flow and session counts', reads: ['flows'] },
  usage: { name: 'usage', description: 'tokens per flow (input, cache read/write, output, reasoning), counted once', reads: ['lines'], linesPattern: USAGE, selective: true },
  cost: { name: 'cost', description: 'cost per flow from the versioned price table', reads: ['lines'], linesPattern: USAGE, selective: true },
  sessions: { name: 'sessions', description: 'one row per session: client, first/last seen, flows, turns, tokens, cost, errors', reads: ['flows', 'lines', 'ends'], linesPattern: any(USAGE, ERR), selective: true },
  turns: { name: 'turns', description: 'user prompt → agent idle, with response, flows, tool calls, tokens (--mode paired: prompt ↔ answer)', reads: ['flows', 'lines', 'ends'], linesPattern: any(TEXT, TOOL, USAGE, STOP) },
  flows: { name: 'flows', description: 'one row per flow: model, status, outcome, stop reason, TTFB, duration', reads: ['flows', 'lines', 'ends'], linesPattern: STOP, selective: true },
  errors: { name: 'errors', description: 'API errors, overloads, rate limits, aborted flows (one row per flow)', reads: ['flows', 'lines', 'ends'], linesPattern: ERR, selective: true },
  stop_reasons: { name: 'stop_reasons', description: 'stop reason counts per provider', reads: ['flows', 'lines'], linesPattern: STOP, selective: true },
  rate_limits: { name: 'rate_limits', description: 'rate-limit response headers per flow', reads: ['flows'] },
  cache: { name: 'cache', description: 'prompt-cache hit ratio per session', reads: ['lines', 'flows'], linesPattern: USAGE, selective: true },
  clients: { name: 'clients', description: 'clients by user-agent and version', reads: ['flows'] },
  latency: { name: 'latency', description: 'TTFB and duration percentiles per client and model', reads: ['flows', 'ends'] },
  call_validation: { name: 'call_validation', description: "tool-call lifecycle findings (flow-fsm's call validator)", reads: ['flows', 'lines'] },
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
