/**
 * Cache-break analysis: for consecutive calls of one lane (session, agent, model), compare the
 * requests segment by segment in the provider's cache order, find the first divergent segment and
 * say why the cache missed, and what the miss cost. Pure: calls in, breaks out.
 */
import { BUNDLED_PRICES, cacheWrite1h, priceFor, type CallSegment, type PriceTable } from '@agenttap/ledger'
import { CacheInsightsError } from './errors.js'
import type { BreakCause, CacheBreak, InsightCall, MessageChange, ToolsDiff } from './types.js'

const FIVE_MIN = 5 * 60_000
const ONE_HOUR = 60 * 60_000

/** Options of {@link createCacheAnalyzer}. */
export interface CacheAnalyzerOptions {
  /** Prices the waste. @defaultValue the ledger's `BUNDLED_PRICES` */
  prices?: PriceTable
  /**
   * Tokens a cache read may fall short of what the previous call cached before it counts as a
   * break (OpenAI caches in 128-token steps). @defaultValue 0 for Anthropic, 128 for OpenAI
   */
  tolerance?: number
  /** Lanes remembered (least recently used forgotten first). @defaultValue 100000 */
  maxLanes?: number
  /** Calls that cannot be analyzed (no key or start time). */
  onError?(error: CacheInsightsError): void
}

/** A streaming analyzer: feed calls in the order they were sent; each returns its break, if any. */
export interface CacheAnalyzer {
  /** Analyzes one call against its lane's previous one; the break when the cache missed. */
  feed(call: InsightCall): CacheBreak | undefined
  /** Forgets every lane. */
  reset(): void
}

/** `session · agent · model`: consecutive calls of one lane share a cache. */
export function laneOf(call: Pick<InsightCall, 'session_id' | 'agent' | 'model' | 'request'>): string {
  return `${call.session_id} · ${call.agent ?? 'main'} · ${modelOf(call) ?? '?'}`
}

const modelOf = (c: Pick<InsightCall, 'model' | 'request'>): string | undefined => c.model ?? c.request.model

const ms = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined
  const t = Date.parse(iso)
  return Number.isFinite(t) ? t : undefined
}

const isOpenAi = (c: InsightCall): boolean => c.provider === 'openai' || c.api === 'openai-responses' || c.api === 'openai-chat'

/** Tokens the call left in the cache: what it read plus what it wrote (OpenAI: its whole prompt). */
function cachedTokens(c: InsightCall): number {
  const u = c.usage
  if (u === undefined) return 0
  return isOpenAi(c) ? u.input + u.cache_read : u.cache_read + u.cache_write_5m + u.cache_write_1h
}

/** Index after the last segment that carries a breakpoint (OpenAI caches the whole prompt). */
function cachedEnd(c: InsightCall, segs: readonly CallSegment[]): number {
  if (isOpenAi(c)) return segs.length
  for (let i = segs.length - 1; i >= 0; i--) if (segs[i]!.breakpoint !== undefined) return i + 1
  return 0
}

function bytesBefore(segs: readonly CallSegment[], end: number): number {
  let n = 0
  for (let i = 0; i < end && i < segs.length; i++) n += segs[i]!.bytes
  return n
}

/** Index of the first segment where two requests differ (the shorter length when one extends the other). */
export function firstDivergence(a: readonly CallSegment[], b: readonly CallSegment[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i]!.hash !== b[i]!.hash || a[i]!.kind !== b[i]!.kind) return i
  return n
}

/** Tools added, removed, edited (same name, another definition) and whether the order changed. */
export function toolsDiff(a: readonly CallSegment[], b: readonly CallSegment[]): ToolsDiff {
  const ta = a.filter((s) => s.kind === 'tool')
  const tb = b.filter((s) => s.kind === 'tool')
  const ma = new Map(ta.map((s) => [s.label, s.hash]))
  const mb = new Map(tb.map((s) => [s.label, s.hash]))
  const added = tb.filter((s) => !ma.has(s.label)).map((s) => s.label)
  const removed = ta.filter((s) => !mb.has(s.label)).map((s) => s.label)
  const edited = tb.filter((s) => ma.has(s.label) && ma.get(s.label) !== s.hash).map((s) => s.label)
  const common = (xs: CallSegment[], other: Map<string, string>): string[] => xs.filter((s) => other.has(s.label)).map((s) => s.label)
  const reordered = common(ta, mb).join('\u0000') !== common(tb, ma).join('\u0000')
  return { added, removed, edited, reordered }
}

function messageChange(prev: readonly CallSegment[], next: readonly CallSegment[], i: number): MessageChange {
  const a = prev[i]
  const b = next[i]
  // A summary the earlier request did not have: the history was compacted (again, when it already
  // began with the summary of an earlier compaction).
  if (next.slice(i).some((s) => s.summary === true && !prev.some((p) => p.summary === true && p.hash === s.hash))) return 'compaction'
  if (b === undefined) return 'removed'
  if (a === undefined) return 'edited'
  if (a.thinking !== undefined && a.loose !== undefined && (a.loose === b.hash || a.loose === b.loose) && (b.thinking ?? 0) < a.thinking) return 'thinking_stripped'
  if (a.reminder === true || b.reminder === true) return 'reminder'
  // The message at i now is one that came later: the ones between were removed.
  for (let k = i + 1; k < Math.min(prev.length, i + 9); k++) if (prev[k]!.hash === b.hash) return 'removed'
  return 'edited'
}

const CHANGE_TEXT: Record<MessageChange, string> = {
  reminder: 'a system reminder was injected or changed',
  thinking_stripped: 'its thinking blocks were stripped',
  compaction: 'the history was compacted into a summary',
  removed: 'it was removed',
  edited: 'it was edited',
}

function toolsText(d: ToolsDiff): string {
  const parts: string[] = []
  if (d.added.length > 0) parts.push(`added ${d.added.join(', ')}`)
  if (d.removed.length > 0) parts.push(`removed ${d.removed.join(', ')}`)
  if (d.edited.length > 0) parts.push(`edited ${d.edited.join(', ')}`)
  if (d.reordered) parts.push('reordered')
  return parts.length === 0 ? 'tools changed' : `tools: ${parts.join('; ')}`
}

const fmtGap = (gapMs: number): string => (gapMs >= ONE_HOUR ? `${(gapMs / ONE_HOUR).toFixed(1)} h` : `${(gapMs / 60_000).toFixed(1)} min`)

interface LaneState {
  call: InsightCall
  /** When the call ended (ms), else its start. */
  end: number
}

/**
 * Where `lost` tokens went: written at 1 h, written at 5 min, or sent as uncached input. The
 * prefix is the 1-hour part when a request mixes TTLs (1-hour breakpoints must come first), so
 * lost tokens are taken from the 1-hour writes first; OpenAI has no writes: all input.
 */
export function lostSplit(call: InsightCall, lost: number): { lost_1h: number; lost_5m: number; lost_input: number } {
  const u = call.usage
  if (lost <= 0) return { lost_1h: 0, lost_5m: 0, lost_input: 0 }
  if (isOpenAi(call) || u === undefined) return { lost_1h: 0, lost_5m: 0, lost_input: lost }
  const lost_1h = Math.min(u.cache_write_1h, lost)
  const lost_5m = Math.min(u.cache_write_5m, lost - lost_1h)
  return { lost_1h, lost_5m, lost_input: lost - lost_1h - lost_5m }
}

/**
 * USD of `lost` tokens processed again: `(1h write − read) × lost_1h + (5m write − read) × lost_5m
 * + (input − read) × lost_input` (see {@link lostSplit}), per million tokens, rounded to 1e-8.
 */
export function wastedUsd(call: InsightCall, lost: number, prices: PriceTable): { usd: number; price_key?: string } {
  const p = priceFor(prices, modelOf(call))
  if (p === undefined) return { usd: 0 }
  const s = lostSplit(call, lost)
  const usd = (s.lost_1h * (cacheWrite1h(p.price) - p.price.cache_read) + s.lost_5m * (p.price.cache_write - p.price.cache_read) + s.lost_input * (p.price.input - p.price.cache_read)) / 1e6
  return { usd: Math.round(usd * 1e8) / 1e8, price_key: p.key }
}

/**
 * Creates a streaming cache-break analyzer. Each call is compared with the previous call of its
 * lane (`session · agent · model`); a call with no previous call in its lane is compared with the
 * previous call of its session and agent when that one used another model (`model_switch`).
 *
 * A call is a break when it read fewer tokens from the cache than the previous call left there
 * (`cache_read + cache_write`; OpenAI: its whole prompt), beyond `tolerance`. Calls without usage
 * (errors, aborted) are skipped: they cached nothing. The cause, in order: model switch, a changed
 * `prompt_cache_key`, TTL expiry (the gap exceeded 5 min with 5-minute writes, or 1 h, and the
 * cached prefix was sent intact or nothing was read), the first divergent segment (tool, system
 * block, message), else the provider (prefix intact, within TTL, not read).
 *
 * @example
 * const a = createCacheAnalyzer()
 * for (const call of calls) {
 *   const b = a.feed(call)
 *   if (b) console.log(b.cause, b.detail, b.offset, b.wasted_usd)
 * }
 */
export function createCacheAnalyzer(options: CacheAnalyzerOptions = {}): CacheAnalyzer {
  const prices = options.prices ?? BUNDLED_PRICES
  const maxLanes = options.maxLanes ?? 100_000
  if (!Number.isInteger(maxLanes) || maxLanes < 1) throw new CacheInsightsError('INVALID_OPTION', `createCacheAnalyzer: maxLanes must be a positive integer, received ${String(options.maxLanes)}`)
  if (options.tolerance !== undefined && !(options.tolerance >= 0)) throw new CacheInsightsError('INVALID_OPTION', `createCacheAnalyzer: tolerance must be ≥ 0, received ${String(options.tolerance)}`)
  /** Last call with usage per lane. */
  let lanes = new Map<string, LaneState>()
  /** Last call with usage per session · agent (any model). */
  let agents = new Map<string, LaneState>()

  const remember = (m: Map<string, LaneState>, k: string, v: LaneState): void => {
    m.delete(k)
    m.set(k, v)
    if (m.size > maxLanes) {
      const oldest = m.keys().next().value
      if (oldest !== undefined) m.delete(oldest)
    }
  }

  function analyze(call: InsightCall, prev: LaneState, switched: boolean): CacheBreak | undefined {
    const u = call.usage!
    const p = prev.call
    const expected = cachedTokens(p)
    const tolerance = options.tolerance ?? (isOpenAi(call) ? 128 : 0)
    const missing = expected - u.cache_read
    if (missing <= tolerance) return undefined
    // What was processed again instead of read: written to the cache, or sent uncached past the last breakpoint.
    const uncached = u.input + (isOpenAi(call) ? 0 : u.cache_write_5m + u.cache_write_1h)
    const lost = Math.max(0, Math.min(missing, uncached))
    const start = ms(call.started_at) ?? prev.end
    const gap = Math.max(0, start - prev.end)
    const pa = p.request.segments ?? []
    const na = call.request.segments ?? []
    const end = cachedEnd(p, pa)
    const div = firstDivergence(pa, na)
    const intact = pa.length > 0 && div >= end
    const known = pa.length > 0 && na.length > 0
    const pu = p.usage
    const expired = (gap > FIVE_MIN && (pu?.cache_write_5m ?? 0) > 0 && !isOpenAi(p)) || gap > ONE_HOUR || (isOpenAi(p) && gap > FIVE_MIN)
    let cause: BreakCause
    let detail: string
    let change: MessageChange | undefined
    let tools: ToolsDiff | undefined
    const seg = known && !intact ? (na[div] ?? pa[div]) : undefined
    if (switched) {
      cause = 'model_switch'
      detail = `model switched from ${modelOf(p) ?? '?'} to ${modelOf(call) ?? '?'}: the cache is per model`
    } else if (p.request.prompt_cache_key !== call.request.prompt_cache_key && (p.request.prompt_cache_key !== undefined || call.request.prompt_cache_key !== undefined)) {
      cause = 'cache_key_changed'
      detail = `prompt_cache_key changed from ${p.request.prompt_cache_key ?? '(none)'} to ${call.request.prompt_cache_key ?? '(none)'}`
    } else if (expired && (intact || u.cache_read === 0 || !known)) {
      cause = 'ttl_expiry'
      const ttl = gap > ONE_HOUR ? '1 h' : '5 min'
      detail = `idle ${fmtGap(gap)} > ${ttl} TTL`
    } else if (seg !== undefined && seg.kind === 'tool') {
      cause = 'tools_changed'
      tools = toolsDiff(pa, na)
      detail = toolsText(tools)
    } else if (seg !== undefined && seg.kind === 'system') {
      cause = 'system_changed'
      detail = `system block ${seg.index} changed`
    } else if (seg !== undefined) {
      cause = 'message_changed'
      change = messageChange(pa, na, div)
      const s = pa[div] ?? seg
      detail = `message ${s.index} (${s.label}): ${CHANGE_TEXT[change]}`
    } else if (known) {
      cause = 'provider'
      detail = 'cached prefix sent intact within its TTL but not read'
    } else {
      cause = 'unknown'
      detail = 'cache read fell short; a request was not at hand (no cache segments) to say why'
    }
    const waste = wastedUsd(call, lost, prices)
    const b: CacheBreak = {
      key: call.key,
      flow_id: call.flow_id,
      session_id: call.session_id,
      lane: laneOf(call),
      prev_key: p.key,
      prev_flow_id: p.flow_id,
      started_at: call.started_at,
      cause,
      detail,
      offset: known && !intact && !switched ? bytesBefore(na, div) : null,
      cached_bytes: bytesBefore(pa, end),
      gap_ms: gap,
      expected_read: expected,
      cache_read: u.cache_read,
      lost_tokens: lost,
      wasted_usd: waste.usd,
    }
    if (call.agent !== undefined) b.agent = call.agent
    const model = modelOf(call)
    if (model !== undefined) b.model = model
    if (change !== undefined) b.change = change
    if (tools !== undefined) b.tools = tools
    if (seg !== undefined && !switched) {
      const s = cause === 'message_changed' ? (pa[div] ?? seg) : seg
      b.segment = { kind: s.kind, index: s.index, label: s.label }
    }
    if (waste.price_key !== undefined) b.price_key = waste.price_key
    return b
  }

  return {
    feed(call) {
      if (typeof call?.key !== 'string' || typeof call.started_at !== 'string' || typeof call.session_id !== 'string' || call.request === undefined) {
        options.onError?.(new CacheInsightsError('BAD_CALL', `expected a model call with key, session_id, started_at and request; got ${JSON.stringify(call)?.slice(0, 120)}; skipped`, { flow_id: typeof call?.flow_id === 'string' ? call.flow_id : undefined }))
        return undefined
      }
      // Auxiliary calls (quota checks, titles) and calls without usage (errors) cache nothing.
      if (call.usage === undefined || call.kind === 'aux') return undefined
      const lane = laneOf(call)
      const agentKey = `${call.session_id} · ${call.agent ?? 'main'}`
      const state: LaneState = { call, end: ms(call.ended_at) ?? ms(call.started_at) ?? 0 }
      const prev = lanes.get(lane)
      const last = agents.get(agentKey)
      let b: CacheBreak | undefined
      if (prev !== undefined) b = analyze(call, prev, false)
      else if (last !== undefined && modelOf(last.call) !== modelOf(call)) b = analyze(call, last, true)
      remember(lanes, lane, state)
      remember(agents, agentKey, state)
      return b
    },
    reset() {
      lanes = new Map()
      agents = new Map()
    },
  }
}

/**
 * The cache breaks of a set of calls: sorted by start (then key), fed to one analyzer.
 * @example
 * findCacheBreaks(calls).map((b) => [b.flow_id, b.cause, b.offset, b.wasted_usd])
 */
export function findCacheBreaks(calls: Iterable<InsightCall>, options: CacheAnalyzerOptions = {}): CacheBreak[] {
  const sorted = [...calls].sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const a = createCacheAnalyzer(options)
  const out: CacheBreak[] = []
  for (const c of sorted) {
    const b = a.feed(c)
    if (b !== undefined) out.push(b)
  }
  return out
}
