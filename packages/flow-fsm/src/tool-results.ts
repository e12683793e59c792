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

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    const parts: string[] = []
    for (const b of content) {
      if (isObj(b) && typeof b.text === 'string') parts.push(b.text)
      else if (isObj(b) && typeof b.type === 'string' && b.type !== 'text') parts.push(`[${b.type}]`)
    }
    return parts.join('\n')
  }
  return content === undefined || content === null ? '' : JSON.stringify(content)
}

/**
 * The results carried by the newest turn of a request: Anthropic Messages — the `tool_result`
 * blocks of the last message when it is the user's; OpenAI Responses — the trailing
 * `function_call_output` / `custom_tool_call_output` items of `input`. Anything else (no body,
 * a body stored out of line, another API) gives none.
 */
export function requestToolResults(body: unknown, max = 32): ToolResult[] {
  if (!isObj(body)) return []
  const out: ToolResult[] = []
  if (Array.isArray(body.messages)) {
    const names = new Map<string, string>()
    for (const m of body.messages) {
      if (isObj(m) && m.role === 'assistant' && Array.isArray(m.content)) {
        for (const b of m.content) if (isObj(b) && b.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string') names.set(b.id, b.name)
      }
    }
    const last = body.messages[body.messages.length - 1]
    if (!isObj(last) || last.role !== 'user' || !Array.isArray(last.content)) return []
    for (const b of last.content) {
      if (!isObj(b) || b.type !== 'tool_result' || typeof b.tool_use_id !== 'string') continue
      const r: ToolResult = { call_id: b.tool_use_id, text: textOf(b.content), error: b.is_error === true }
      const name = names.get(b.tool_use_id)
      if (name !== undefined) r.name = name
      out.push(r)
      if (out.length >= max) break
    }
    return out
  }
  if (Array.isArray(body.input)) {
    const input = body.input as unknown[]
    let start = input.length
    while (start > 0) {
      const it = input[start - 1]
      if (!isObj(it) || (it.type !== 'function_call_output' && it.type !== 'custom_tool_call_output')) break
      start--
    }
    if (start === input.length) return []
    const names = new Map<string, string>()
    for (let i = 0; i < start; i++) {
      const it = input[i]
      if (isObj(it) && typeof it.call_id === 'string' && typeof it.name === 'string') names.set(it.call_id, it.name)
    }
    for (let i = start; i < input.length && out.length < max; i++) {
      const it = input[i] as Record<string, unknown>
      if (typeof it.call_id !== 'string') continue
      let text = textOf(it.output)
      let exitCode: number | undefined
      // Codex `shell` wraps its output: {"output": "...", "metadata": {"exit_code": 1, ...}}
      if (text.startsWith('{"output"')) {
        try {
          const o = JSON.parse(text) as unknown
          if (isObj(o) && typeof o.output === 'string') {
            text = o.output
            if (isObj(o.metadata) && typeof o.metadata.exit_code === 'number') exitCode = o.metadata.exit_code
          }
        } catch {
          // not the wrapper after all: show it as it is
        }
      }
      // Codex `exec_command`: a header (chunk id, wall time, exit code) then `Output:`.
      const head = text.slice(0, 400)
      const m = /Process exited with code (\d+)/.exec(head)
      if (exitCode === undefined && m) exitCode = Number(m[1])
      const at = head.indexOf('\nOutput:\n')
      if (m && at !== -1) text = text.slice(at + 9)
      const r: ToolResult = { call_id: it.call_id, text, error: exitCode !== undefined && exitCode !== 0 }
      if (exitCode !== undefined) r.exitCode = exitCode
      const name = names.get(it.call_id)
      if (name !== undefined) r.name = name
      out.push(r)
    }
  }
  return out
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
