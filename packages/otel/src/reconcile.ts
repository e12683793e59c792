import type { ModelCall, TelemetryFact } from '@agenttap/ledger'

/** One place where the wire and the agent's telemetry disagree, or where one has what the other lacks. */
export interface ReconcileRow {
  /** `differs` (both have it, values differ), `wire_only` (a call the agent's telemetry does not report), `telemetry_only` (telemetry naming a call the capture lacks). */
  kind: 'differs' | 'wire_only' | 'telemetry_only'
  /** What is compared: `model`, `input_tokens`, `cache_read_tokens`, `cache_creation_tokens`, `output_tokens`, `tool_outcome`, `api_request`. */
  field: string
  session_id: string
  client: string
  call_key: string | null
  request_id: string | null
  tool_call_id: string | null
  wire: string | number | boolean | null
  telemetry: string | number | boolean | null
  time: string
}

/** Totals of a reconciliation. */
export interface ReconcileSummary {
  calls: number
  facts: number
  /** api_request / api_error events joined to a wire call by request id. */
  joinedRequests: number
  /** tool_result events joined to the call that made the tool call. */
  joinedTools: number
  differs: number
  wireOnly: number
  telemetryOnly: number
  /** The agent's cost estimate over the joined calls (Claude Code `cost_usd`). */
  costUsd: number
}

/**
 * Where the capture (wire) and the agents' own telemetry differ: for every `api_request` event
 * joined to a wire call, the model and token counts (Claude Code counts input like the API,
 * uncached; Codex counts it with the cached part); for every `tool_result` joined to a tool call,
 * whether it failed; calls of a session that sends telemetry but has no event for them
 * (`wire_only`), and events naming a request the capture lacks (`telemetry_only`).
 */
export function reconcileTelemetry(calls: readonly ModelCall[], facts: readonly TelemetryFact[]): { rows: ReconcileRow[]; summary: ReconcileSummary } {
  const rows: ReconcileRow[] = []
  const byKey = new Map(calls.map((c) => [c.key, c]))
  const summary: ReconcileSummary = { calls: calls.length, facts: facts.length, joinedRequests: 0, joinedTools: 0, differs: 0, wireOnly: 0, telemetryOnly: 0, costUsd: 0 }
  const results = new Map<string, boolean>()
  for (const c of calls) for (const r of c.tool_results) if (!results.has(`${c.session_id}\0${r.call_id}`)) results.set(`${c.session_id}\0${r.call_id}`, r.is_error)
  const reported = new Set<string>()
  const telemetrySessions = new Set<string>()
  const row = (r: Omit<ReconcileRow, 'tool_call_id'> & { tool_call_id?: string | null }): void => {
    rows.push({ ...r, tool_call_id: r.tool_call_id ?? null })
    if (r.kind === 'differs') summary.differs++
    else if (r.kind === 'wire_only') summary.wireOnly++
    else summary.telemetryOnly++
  }
  for (const f of facts) {
    if (f.event === 'api_request' || f.event === 'api_error' || f.event === 'tool_result' || f.event === 'sse_event') telemetrySessions.add(f.session_id)
    const c = f.call_key !== undefined ? byKey.get(f.call_key) : undefined
    if ((f.event === 'api_request' || f.event === 'api_error') && f.join === 'request_id' && c) {
      summary.joinedRequests++
      reported.add(c.key)
      if (f.cost_usd !== undefined) summary.costUsd += f.cost_usd
      const base = { session_id: c.session_id, client: c.client, call_key: c.key, request_id: f.request_id ?? null, time: f.time }
      if (f.model !== undefined && c.model !== undefined && f.model !== c.model) row({ kind: 'differs', field: 'model', wire: c.model, telemetry: f.model, ...base })
      const u = c.usage
      if (u && f.event === 'api_request') {
        // Codex counts input with the cached part (like OpenAI); Claude Code like Anthropic (without).
        const wireInput = c.client === 'codex' ? u.input + u.cache_read : u.input
        const pairs: [string, number, number | undefined][] = [
          ['input_tokens', wireInput, f.input_tokens],
          ['cache_read_tokens', u.cache_read, f.cache_read_tokens],
          ['cache_creation_tokens', u.cache_write_5m + u.cache_write_1h, f.cache_creation_tokens],
          ['output_tokens', u.output, f.output_tokens],
        ]
        for (const [field, w, t] of pairs) if (t !== undefined && t !== w) row({ kind: 'differs', field, wire: w, telemetry: t, ...base })
      }
    } else if ((f.event === 'api_request' || f.event === 'api_error') && f.request_id !== undefined && !c) {
      row({ kind: 'telemetry_only', field: 'api_request', session_id: f.session_id, client: f.client, call_key: null, request_id: f.request_id, wire: null, telemetry: f.model ?? f.event, time: f.time })
    } else if (f.event === 'tool_result' && f.join === 'tool_call_id' && c && f.tool_call_id !== undefined) {
      summary.joinedTools++
      // The result came back in a later call's request; the wire says whether it was an error.
      const isError = results.get(`${c.session_id}\0${f.tool_call_id}`)
      if (isError !== undefined && f.success !== undefined && f.success === isError) {
        row({ kind: 'differs', field: 'tool_outcome', session_id: c.session_id, client: c.client, call_key: c.key, request_id: c.request_id ?? null, tool_call_id: f.tool_call_id, wire: isError ? 'error' : 'ok', telemetry: f.success ? 'ok' : 'error', time: f.time })
      }
    }
  }
  for (const c of calls) {
    if (c.kind !== 'model' || reported.has(c.key) || !telemetrySessions.has(c.session_id) || c.client !== 'claude-code') continue
    row({ kind: 'wire_only', field: 'api_request', session_id: c.session_id, client: c.client, call_key: c.key, request_id: c.request_id ?? null, wire: c.model ?? null, telemetry: null, time: c.started_at })
  }
  return { rows, summary }
}
