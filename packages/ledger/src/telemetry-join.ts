import type { ModelCall, TelemetryFact } from './types.js'
import { LEDGER_VERSION } from './types.js'

type Obj = Record<string, unknown>

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  return Number.isFinite(n) ? n : undefined
}
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined)
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined)

/**
 * What one telemetry log event says, in the ledger's words. Attribute names are Claude Code's
 * (`claude_code.*` events: `cost_usd`, `duration_ms`, `input_tokens`, `cache_read_tokens`,
 * `cache_creation_tokens`, `request_id`, `query_source`, `decision`, `source`, `success`,
 * `tool_use_id`) and Codex's (`codex.*` events: `input_token_count`, `cached_token_count`,
 * `output_token_count`, `reasoning_token_count`, `call_id`, `conversation.id`).
 */
export function telemetryFactOf(record: Obj): TelemetryFact | undefined {
  if (record['signal'] !== 'log' || typeof record['name'] !== 'string') return undefined
  const a = (typeof record['attributes'] === 'object' && record['attributes'] !== null ? record['attributes'] : {}) as Obj
  const name = record['name']
  const dot = name.indexOf('.')
  const f: TelemetryFact = {
    ledger_version: LEDGER_VERSION,
    source: 'otel',
    name,
    event: dot >= 0 ? name.slice(dot + 1) : name,
    client: str(record['client']) ?? 'unknown',
    session_id: str(record['session_id']) ?? '-',
    time: str(record['time']) ?? str(record['ts']) ?? '',
    join: 'none',
  }
  const set = <K extends keyof TelemetryFact>(k: K, v: TelemetryFact[K] | undefined): void => {
    if (v !== undefined) f[k] = v
  }
  set('request_id', str(record['request_id']) ?? str(a['request_id']))
  set('prompt_id', str(record['prompt_id']) ?? str(a['prompt.id']))
  set('tool_call_id', str(record['tool_call_id']) ?? str(a['tool_use_id']) ?? str(a['call_id']))
  set('tool_name', str(a['tool_name']) ?? str(a['tool.name']))
  set('model', str(a['model']))
  set('cost_usd', num(a['cost_usd']))
  set('duration_ms', num(a['duration_ms']))
  set('input_tokens', num(a['input_tokens']) ?? num(a['input_token_count']))
  set('output_tokens', num(a['output_tokens']) ?? num(a['output_token_count']))
  set('cache_read_tokens', num(a['cache_read_tokens']) ?? num(a['cached_token_count']))
  set('cache_creation_tokens', num(a['cache_creation_tokens']))
  set('reasoning_tokens', num(a['reasoning_token_count']))
  set('decision', str(a['decision']))
  set('decision_source', str(a['source']) ?? str(a['decision_source']))
  set('success', bool(a['success']))
  set('query_source', str(a['query_source']))
  set('agent_id', str(a['agent_id']) ?? str(a['agent.id']))
  set('status_code', num(a['status_code']) ?? num(a['http.response.status_code']))
  set('error', str(a['error']) ?? str(a['error.message']))
  return f
}

/** Options of {@link createTelemetryJoin}. */
export interface TelemetryJoinOptions {
  onFact(fact: TelemetryFact): void
  /** Facts waiting for the call they name (a request id or tool call id not seen yet). @defaultValue 10_000 */
  maxPending?: number
  /** Request ids and tool call ids remembered from calls. @defaultValue 200_000 */
  maxKeys?: number
}

/** Bounded map: insertion order is age; past the cap the oldest key goes. */
class RecentMap<V> {
  private m = new Map<string, V>()
  constructor(private readonly cap: number) {}
  get(k: string): V | undefined {
    return this.m.get(k)
  }
  set(k: string, v: V): void {
    this.m.delete(k)
    this.m.set(k, v)
    if (this.m.size > this.cap) this.m.delete(this.m.keys().next().value as string)
  }
}

/**
 * Joins telemetry facts to the wire's model calls: by the provider's request id (Claude Code's
 * `api_request` / `api_error` `request_id` = the response's `request-id` header), or by the tool
 * call id (Claude `tool_use_id`, Codex `call_id`) to the call whose response made that tool call.
 * A fact naming an id not seen yet waits (bounded) for its call; one that names none, or whose call
 * never comes, is emitted joined to its session only.
 */
export function createTelemetryJoin(opts: TelemetryJoinOptions): { call(call: ModelCall): void; telemetry(record: Obj): void; end(): void } {
  const maxPending = opts.maxPending ?? 10_000
  const byRequest = new RecentMap<ModelCall>(opts.maxKeys ?? 200_000)
  const byTool = new RecentMap<ModelCall>(opts.maxKeys ?? 200_000)
  /** Facts waiting, oldest first, keyed by the id they wait for. */
  const pending = new Map<string, TelemetryFact[]>()
  let pendingCount = 0

  const joined = (f: TelemetryFact, c: ModelCall, how: TelemetryFact['join']): void => {
    f.join = how
    f.call_key = c.key
    f.flow_id = c.flow_id
    opts.onFact(f)
  }
  const loose = (f: TelemetryFact): void => {
    f.join = f.session_id !== '-' ? 'session' : 'none'
    opts.onFact(f)
  }
  const release = (key: string, c: ModelCall, how: TelemetryFact['join']): void => {
    const list = pending.get(key)
    if (!list) return
    pending.delete(key)
    pendingCount -= list.length
    for (const f of list) joined(f, c, how)
  }

  return {
    call(c) {
      if (c.request_id !== undefined) {
        byRequest.set(c.request_id, c)
        release(`r:${c.request_id}`, c, 'request_id')
      }
      for (const t of c.tool_calls) {
        byTool.set(t.call_id, c)
        release(`t:${t.call_id}`, c, 'tool_call_id')
      }
    },
    telemetry(record) {
      const f = telemetryFactOf(record)
      if (!f) return
      // A tool event names its tool call (Claude Code's also carry the request id of the call that
      // made it): the tool call id is the more precise key.
      if (f.tool_call_id !== undefined) {
        const c = byTool.get(f.tool_call_id)
        if (c) return joined(f, c, 'tool_call_id')
      } else if (f.request_id !== undefined) {
        const c = byRequest.get(f.request_id)
        if (c) return joined(f, c, 'request_id')
      }
      const key = f.tool_call_id !== undefined ? `t:${f.tool_call_id}` : f.request_id !== undefined ? `r:${f.request_id}` : undefined
      if (key === undefined) return loose(f)
      const list = pending.get(key)
      if (list) list.push(f)
      else pending.set(key, [f])
      pendingCount++
      if (pendingCount > maxPending) {
        const [oldestKey, oldest] = pending.entries().next().value as [string, TelemetryFact[]]
        pending.delete(oldestKey)
        pendingCount -= oldest.length
        for (const o of oldest) loose(o)
      }
    },
    end() {
      for (const list of pending.values()) for (const f of list) loose(f)
      pending.clear()
      pendingCount = 0
    },
  }
}
