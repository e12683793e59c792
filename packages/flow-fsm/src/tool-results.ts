import { requestTurn } from '@agenttap/session-extractor'

/**
 * The tool results a request sends back (the answers to the previous response's tool calls), read
 * from a canonical flow record's `request_body`: what the monitor prints under a flow as
 * `↳ Bash result: …`, and what any other reader of a capture can use per request (the call
 * validator follows the same results across requests for its lifecycle checks).
 *
 * @example
 * for (const r of requestToolResults(flowRecord.request_body)) console.log(toolResultLine(r))
 */

/** One tool result found in a request body. */
export interface ToolResult {
  call_id: string
  /** Tool name, from the call in the same request's history, when present. */
  name?: string
  /** The result text (joined text blocks; Codex shell output unwrapped). */
  text: string
  /** The tool reported failure (`is_error`, non-zero exit code). */
  error: boolean
  /** Exit code, when the tool reported one (Codex shell). */
  exitCode?: number
}

/**
 * The results carried by the newest turn of a request (session-extractor's `requestTurn`):
 * Anthropic Messages — the `tool_result` blocks of the user messages after the last assistant
 * message (also before Claude Code 2.1.x's trailing `system` entry); OpenAI Responses — the trailing `*_call_output` items of
 * `input` (Codex shell output unwrapped, with its exit code); Chat Completions — the trailing
 * `tool` messages. Anything else (no body, a body stored out of line) gives none.
 */
export function requestToolResults(body: unknown, max = 32): ToolResult[] {
  return requestTurn(body, undefined, { maxToolResults: max, prompt: false }).tool_results.map((r) => {
    const out: ToolResult = { call_id: r.call_id, text: r.output, error: r.is_error }
    if (r.name !== undefined) out.name = r.name
    if (r.exit_code !== undefined) out.exitCode = r.exit_code
    return out
  })
}

/** One line for a result: `↳ Bash result: first line … (+4 lines)`, at most `width` characters of text. */
export function toolResultLine(r: ToolResult, width = 120): string {
  const lines = r.text.split('\n').filter((l) => l.trim() !== '')
  let first = (lines[0] ?? '(empty)').replace(/\s+/g, ' ').trim()
  if (first.length > width) first = `${first.slice(0, width - 1)}…`
  const more = lines.length > 1 ? ` (+${lines.length - 1} line${lines.length > 2 ? 's' : ''})` : ''
  const who = r.name ?? r.call_id
  const status = r.exitCode !== undefined ? ` exit ${r.exitCode}` : r.error ? ' error' : ''
  return `↳ ${who} result${status}: ${first}${more}`
}
