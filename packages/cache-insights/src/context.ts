/**
 * How full the context window is, call by call: context tokens (input + cache read + cache write,
 * the whole prompt the provider processed) of a session's main lane against the model's window,
 * and where the history was compacted. Pure.
 */
import type { InsightCall } from './types.js'

/**
 * Context windows (input tokens) by model id prefix; the longest matching prefix wins.
 * Anthropic models: 200k (the 1M-token beta of Sonnet 4 / 4.5 is opt-in per request and not
 * assumed). OpenAI GPT-5 family: 272k input tokens (400k total with 128k output), what Codex
 * shows as its window. Override with the `windows` option.
 */
export const CONTEXT_WINDOWS: Readonly<Record<string, number>> = {
  'claude-': 200_000,
  'gpt-5': 272_000,
  'codex-mini': 200_000,
  'gpt-4.1': 1_047_576,
  'gpt-4o': 128_000,
  o3: 200_000,
  'o4-mini': 200_000,
}

/** The window of a model (longest prefix of `windows` it starts with), undefined when unknown. */
export function contextWindowOf(model: string | undefined, windows: Readonly<Record<string, number>> = CONTEXT_WINDOWS): number | undefined {
  if (model === undefined) return undefined
  const id = model.toLowerCase()
  let best: string | undefined
  for (const k of Object.keys(windows)) if (id.startsWith(k.toLowerCase()) && (best === undefined || k.length > best.length)) best = k
  return best === undefined ? undefined : windows[best]
}

/** One call of a session's main lane on the context timeline. */
export interface ContextPoint {
  key: string
  flow_id: string
  session_id: string
  started_at: string
  model?: string
  /** input + cache read + cache write tokens. */
  context_tokens: number
  /** The model's window, when known. */
  window?: number
  /** `context_tokens / window`. */
  ratio?: number
  /**
   * The history was compacted before this call: `summary` when the request carries a compaction
   * summary the previous one did not, `drop` when the context fell below half of the previous call's.
   */
  compaction?: 'summary' | 'drop'
}

/** Options of {@link contextTimeline}. */
export interface ContextOptions {
  /** Context windows by model id prefix. @defaultValue {@link CONTEXT_WINDOWS} */
  windows?: Readonly<Record<string, number>>
  /** Keep subagents' calls too (each agent is its own timeline). @defaultValue false */
  includeSubagents?: boolean
}

/** The hash of the first compaction summary among a call's request segments (undefined: none, or no segments). */
export function summaryHash(c: { request: { segments?: readonly { summary?: boolean; hash: string }[] | undefined } }): string | undefined {
  for (const s of c.request.segments ?? []) if (s.summary === true) return s.hash
  return undefined
}

/**
 * The context timeline of calls: one point per call with usage of each session's main lane (no
 * subagent), in start order, with compaction events.
 * @example
 * contextTimeline(calls).filter((p) => (p.ratio ?? 0) >= 0.8)
 */
export function contextTimeline(calls: Iterable<InsightCall>, options: ContextOptions = {}): ContextPoint[] {
  const windows = options.windows ?? CONTEXT_WINDOWS
  const sorted = [...calls].filter((c) => c.usage !== undefined && c.kind !== 'aux' && (options.includeSubagents === true || c.agent === undefined)).sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0))
  const last = new Map<string, { tokens: number; summary: boolean; hash: string | undefined }>()
  const out: ContextPoint[] = []
  for (const c of sorted) {
    const u = c.usage!
    const tokens = u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h
    const model = c.model ?? c.request.model
    const p: ContextPoint = { key: c.key, flow_id: c.flow_id, session_id: c.session_id, started_at: c.started_at, context_tokens: tokens }
    if (model !== undefined) p.model = model
    const w = contextWindowOf(model, windows)
    if (w !== undefined) {
      p.window = w
      p.ratio = Math.round((tokens / w) * 1e4) / 1e4
    }
    const lane = `${c.session_id} · ${c.agent ?? 'main'}`
    const hash = summaryHash(c)
    const summary = c.request.has_summary === true || hash !== undefined
    const prev = last.get(lane)
    if (prev !== undefined) {
      // A summary the previous call did not carry: compacted (again, when its history already began
      // with an earlier summary: told apart by the summary's hash, when the segments are at hand).
      if (summary && (!prev.summary || (hash !== undefined && prev.hash !== undefined && hash !== prev.hash))) p.compaction = 'summary'
      else if (tokens < prev.tokens / 2) p.compaction = 'drop'
    }
    last.set(lane, { tokens, summary, hash })
    out.push(p)
  }
  return out
}
