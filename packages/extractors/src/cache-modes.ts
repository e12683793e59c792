import type { CacheBreak, InsightCall } from '@agenttap/cache-insights'
import type { CallApi, FlowKind, PriceTable } from '@agenttap/ledger'
import { lit } from './duck.js'
import { decodeSegments } from './rows.js'
import type { Row } from './types.js'

/**
 * cache-insights, loaded by the modes and the update that use it: every other mode on a current
 * index answers without loading it (or the ledger modules it pulls in).
 */
let insightsModule: Promise<typeof import('@agenttap/cache-insights')> | undefined
const insights = (): Promise<typeof import('@agenttap/cache-insights')> => (insightsModule ??= import('@agenttap/cache-insights'))

/**
 * The `cache`, `context` and `quota` modes: SQL over the index picks the calls (and for `cache`,
 * only the candidate breaks and the call each is compared with), `@agenttap/cache-insights` says
 * what they mean. The rules live there once; nothing here decides a cause.
 */

const OPENAI = `(provider = 'openai' or api in ('openai-responses', 'openai-chat'))`

/**
 * Candidate breaks and what each is compared with: a call that read less than its lane's previous
 * call left in the cache (beyond the analyzer's tolerance), or the first call of a model after
 * another model in its session and agent. A superset of the breaks (the analyzer decides), so the
 * segments of only these calls are read.
 */
export const cacheCandidatesSql = (from: string, only?: string): string => `with u as (
    select key, started_at, session_id, coalesce(agent, 'main') as agent_key, coalesce(model, req_model, '') as model_key, cache_read_tokens,
      case when ${OPENAI} then input_tokens + cache_read_tokens else cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens end as cached,
      case when ${OPENAI} then 128 else 0 end as tolerance
    from ${from} where has_usage and kind <> 'aux'),
  w as (
    select *, lag(key) over lw as lane_prev, lag(cached) over lw as lane_cached,
      lag(key) over aw as agent_prev, lag(cached) over aw as agent_cached, lag(model_key) over aw as agent_model
    from u
    window lw as (partition by session_id, agent_key, model_key order by started_at, key),
      aw as (partition by session_id, agent_key order by started_at, key))
  select key, case when lane_prev is not null then lane_prev else agent_prev end as prev
  from w
  where ((lane_prev is not null and cache_read_tokens < lane_cached - tolerance)
    or (lane_prev is null and agent_prev is not null and agent_model <> model_key and cache_read_tokens < agent_cached - tolerance))${only === undefined ? '' : ` and key in (${only})`}`

/** Candidates over the filtered calls view `c`. */
export const CACHE_CANDIDATES = cacheCandidatesSql('c')

/**
 * The index's cache breaks, kept up to date by {@link updateCacheBreaks}: one row per break of a
 * call that has ended, with what pricing needs (the model, the call's cache-write split); the
 * price is applied when the mode runs, so `--prices` applies.
 */
export const CACHE_BREAKS_DDL = [
  `create table if not exists cache_breaks (key varchar, flow_id varchar, idx integer, session_id varchar, agent varchar, model varchar, provider varchar, api varchar,
    started_at varchar, prev_key varchar, prev_flow_id varchar, cause varchar, change varchar, detail varchar, segment varchar, "offset" bigint, cached_bytes bigint,
    gap_ms double, expected_read bigint, cache_read bigint, lost_tokens bigint, lost_1h bigint, lost_5m bigint, lost_input bigint)`,
  // Calls already analyzed (every ended call with usage, break or not).
  `create table if not exists cache_done (key varchar)`,
]

/**
 * Analyzes the calls that ended since the last update (not yet in \`cache_done\`): candidates by SQL,
 * the segments of each pair read once, the analysis in cache-insights. Incremental: an up-to-date
 * index answers \`cache\` with one select. `known` (key → {@link insightRow}, as the update that
 * wrote the calls had them) spares reading the calls back out of DuckDB as JSON (their segments
 * are most of their bytes); the calls it lacks are read.
 */
export async function updateCacheBreaks(d: BreaksDuck, flows?: readonly string[], known?: ReadonlyMap<string, Row>): Promise<number> {
  const work = await selectCacheBreaks(d, flows, known)
  return storeCacheBreaks(d, work === undefined ? undefined : cacheBreakValues(work))
}

/** What the cache-break phases need of the index. */
type BreaksDuck = { run(sql: string): Promise<void>; select(sql: string): Promise<{ rows: Row[] }>; append(table: string, rows: readonly (readonly unknown[])[]): void }

/** The pairs to analyze and their calls ({@link selectCacheBreaks}), for {@link cacheBreakValues}. */
export interface CacheBreakWork {
  pairs: { key: string; prev: string }[]
  calls: Map<string, Row>
  /** cache-insights, loaded when there are pairs. */
  analysis: typeof import('@agenttap/cache-insights') | undefined
}

/**
 * The first phase of {@link updateCacheBreaks}, SQL only: the calls that ended since the last
 * update (into the temp table \`cache_new\`, which {@link storeCacheBreaks} marks done), their
 * candidate pairs and the calls of those pairs. Undefined when no call is new.
 */
export async function selectCacheBreaks(d: BreaksDuck, flows?: readonly string[], known?: ReadonlyMap<string, Row>): Promise<CacheBreakWork | undefined> {
  await d.run(CACHE_BREAKS_DDL.join(';\n'))
  // An update that names the flows it wrote (every call that ended in it is one of theirs) reads
  // only their calls, not the whole table.
  if (flows !== undefined) await d.run(`create or replace temp table cache_flows as select unnest([${flows.map(lit).join(', ')}]::varchar[]) as flow_id`)
  const fresh = `select key from calls where not pending and has_usage${flows !== undefined ? ' and flow_id in (select flow_id from cache_flows)' : ''} and key not in (select key from cache_done)`
  await d.run(`create or replace temp table cache_new as ${fresh}`)
  // Nothing ended since the last update: no candidate (the common case of an update, or a run
  // that found the index current).
  if (Number((await d.select(`select count(*) as n from cache_new`)).rows[0]?.n ?? 0) === 0) return undefined
  // A candidate is compared with the calls of its own session only (every window is partitioned by
  // session), so the sessions of the new calls are all the windows need: an update of an active
  // session reads its calls, not the whole index.
  const scope = `(select k.* from calls k semi join (select distinct session_id from calls where key in (select key from cache_new)) s
    on k.session_id is not distinct from s.session_id where not k.pending)`
  await d.run(`create or replace temp table cache_pairs as ${cacheCandidatesSql(scope, 'select key from cache_new')}`)
  const pairs = (await d.select(`select key, prev from cache_pairs`)).rows.map((r) => ({ key: String(r.key), prev: String(r.prev) }))
  const calls = new Map<string, Row>()
  if (pairs.length > 0) {
    let read = `key in (select key from cache_pairs union select prev from cache_pairs)`
    if (known !== undefined) {
      const missing = new Set<string>()
      for (const p of pairs) {
        for (const k of [p.key, p.prev]) {
          const r = known.get(k)
          if (r !== undefined) calls.set(k, r)
          else missing.add(k)
        }
      }
      read = ''
      if (missing.size > 0) {
        await d.run(`create or replace temp table cache_read as select unnest([${[...missing].map(lit).join(', ')}]::varchar[]) as key`)
        read = 'key in (select key from cache_read)'
      }
    }
    if (read !== '') for (const r of (await d.select(`select ${INSIGHT_COLUMNS}, segments from calls where ${read}`)).rows) calls.set(String(r.key), r)
  }
  return { pairs, calls, analysis: pairs.length > 0 ? await insights() : undefined }
}

/**
 * The second phase, no I/O: the breaks of the pairs, as rows of \`cache_breaks\` (cache-insights'
 * analysis). Pure, so it can run while DuckDB writes a commit.
 */
export function cacheBreakValues(w: CacheBreakWork): unknown[][] {
  if (w.analysis === undefined) return []
  const { createCacheAnalyzer, lostSplit } = w.analysis
  const a = createCacheAnalyzer()
  const values: unknown[][] = []
  // Most calls are the previous call of one pair and the call of the next: decoded once (the
  // analyzer only reads them).
  const decoded = new Map<string, InsightCall>()
  const insight = (r: Row): InsightCall => {
    const k = String(r.key)
    let c = decoded.get(k)
    if (c === undefined) decoded.set(k, (c = insightCall(r, true)))
    return c
  }
  for (const p of w.pairs) {
    const cur = w.calls.get(p.key)
    const prev = w.calls.get(p.prev)
    if (cur === undefined || prev === undefined) continue
    a.reset()
    a.feed(insight(prev))
    const b = a.feed(insight(cur))
    if (b === undefined) continue
    const split = lostSplit(insight(cur), b.lost_tokens)
    values.push([b.key, b.flow_id, num(cur.idx), b.session_id, b.agent, b.model, str(cur.provider), str(cur.api), b.started_at, b.prev_key, b.prev_flow_id, b.cause, b.change, b.detail, segmentText(b), b.offset, b.cached_bytes, b.gap_ms, b.expected_read, b.cache_read, b.lost_tokens, split.lost_1h, split.lost_5m, split.lost_input])
  }
  return values
}

/**
 * The last phase: stores the breaks ({@link cacheBreakValues}; undefined when no call was new)
 * and marks the new calls analyzed. Returns the breaks stored.
 */
export async function storeCacheBreaks(d: BreaksDuck, values: unknown[][] | undefined): Promise<number> {
  if (values === undefined) return 0
  if (values.length > 0) d.append('cache_breaks', values)
  await d.run(`insert into cache_done select key from cache_new`)
  return values.length
}

/**
 * The cache breaks of a build, around its commit (the index update's `aroundCommit`): `select`
 * finds the pairs in the update's transaction, `work` analyzes them while DuckDB writes the
 * commit (a failure is kept, not thrown), and `store`, in a transaction after it, stores them —
 * or, when the work failed or never ran, finds and stores them as {@link updateCacheBreaks} does.
 */
export function cacheBreaksAroundCommit(d: BreaksDuck): {
  around: { select(insight: ReadonlyMap<string, Row>): Promise<void>; work(): void }
  store(insight?: ReadonlyMap<string, Row>): Promise<number>
} {
  let selected = false
  let work: CacheBreakWork | undefined
  let values: unknown[][] | undefined
  let failed = false
  return {
    around: {
      async select(insight) {
        work = await selectCacheBreaks(d, undefined, insight)
        selected = true
      },
      work() {
        try {
          if (work !== undefined) values = cacheBreakValues(work)
        } catch {
          failed = true
        }
        work = undefined
      },
    },
    store: (insight) => (selected && !failed ? storeCacheBreaks(d, values) : updateCacheBreaks(d, undefined, insight)),
  }
}

const segmentText = (b: CacheBreak): string | null => (b.segment === undefined ? null : `${b.segment.kind} ${b.segment.kind === 'tool' ? b.segment.label : `${b.segment.index} (${b.segment.label})`}`)

/**
 * The `cache` mode: the materialized breaks of the calls in view `c`, priced here by the split
 * cache-insights made (`lostSplit`): each part at its price minus the cache-read price — the
 * same arithmetic as its `wastedUsd`, on the price table of this run (`--prices`).
 */
export const CACHE_SQL = `with pm as (select m.model_key, p.* from (select distinct coalesce(model, '') as model_key from cache_breaks) m
      left join prices p on starts_with(lower(m.model_key), lower(p.prefix))
      qualify row_number() over (partition by m.model_key order by length(p.prefix) desc nulls last) = 1)
  select b.started_at as ts, b.session_id, b.agent, b.model, b.flow_id, b.idx as call, b.prev_flow_id, b.cause, b.change, b.detail, b.segment, b."offset",
    b.cached_bytes, round(b.gap_ms / 1000, 1) as gap_s, b.expected_read, b.cache_read, b.lost_tokens,
    coalesce(round((b.lost_1h * (pm.cache_write_1h - pm.cache_read) + b.lost_5m * (pm.cache_write - pm.cache_read) + b.lost_input * (pm.input - pm.cache_read)) / 1e6, 8), 0) as wasted_usd,
    pm.prefix as price_key
  from cache_breaks b left join pm on pm.model_key = coalesce(b.model, '')
  where b.key in (select key from c)
  order by b.started_at, b.flow_id, b.idx`

/** Columns of a call the analysis reads, by type (as the calls table declares them). */
const INSIGHT_TEXT = ['key', 'flow_id', 'session_id', 'agent', 'client', 'provider', 'api', 'kind', 'model', 'req_model', 'started_at', 'ended_at'] as const
const INSIGHT_INTS = ['idx', 'input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'message_count'] as const

/** Columns of a call the analysis reads. */
export const INSIGHT_COLUMNS = `key, flow_id, idx, session_id, agent, client, provider, api, kind, model, req_model, started_at, ended_at, has_usage,
  input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, prompt_cache_key, message_count, rate_limits`

// eslint-disable-next-line no-control-regex
const SURROGATE = /[\uD800-\uDFFF]/

/**
 * A calls row as it is written (`callRows`), reduced to what the cache-break analysis selects
 * (\`INSIGHT_COLUMNS\`, \`segments\`) with the values DuckDB gives back for it; undefined when a
 * value might not come back the same (a number that is not an integer, a string with a UTF-16
 * surrogate): that call is then read from DuckDB.
 */
export function insightRow(r: Readonly<Record<string, unknown>>): Row | undefined {
  const out: Row = {}
  for (const k of INSIGHT_TEXT) {
    const v = r[k] ?? null
    if (v !== null && (typeof v !== 'string' || SURROGATE.test(v))) return undefined
    out[k] = v
  }
  for (const k of INSIGHT_INTS) {
    const v = r[k] ?? null
    if (v !== null && !Number.isSafeInteger(v)) return undefined
    out[k] = v as number | null
  }
  const usage = r.has_usage ?? null
  if (usage !== null && typeof usage !== 'boolean') return undefined
  out.has_usage = usage
  for (const k of ['prompt_cache_key', 'rate_limits', 'segments'] as const) {
    const v = r[k] ?? null
    if (v !== null && (typeof v !== 'string' || SURROGATE.test(v))) return undefined
    out[k] = v
  }
  return out
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(v ?? 0))

/** A row of the index's calls as the analysis's call. */
export function insightCall(r: Row, withSegments: boolean): InsightCall {
  const c: InsightCall = { key: String(r.key), flow_id: String(r.flow_id), session_id: String(r.session_id), started_at: String(r.started_at), request: {} }
  const set = <K extends keyof InsightCall>(k: K, v: InsightCall[K] | undefined): void => {
    if (v !== undefined) c[k] = v
  }
  set('agent', str(r.agent))
  set('client', str(r.client))
  set('provider', str(r.provider))
  set('api', str(r.api) as CallApi | undefined)
  set('kind', str(r.kind) as FlowKind | undefined)
  set('model', str(r.model))
  set('ended_at', str(r.ended_at))
  if (r.has_usage === true) {
    c.usage = { input: num(r.input_tokens), cache_read: num(r.cache_read_tokens), cache_write_5m: num(r.cache_write_5m_tokens), cache_write_1h: num(r.cache_write_1h_tokens), output: num(r.output_tokens) }
  }
  const model = str(r.req_model)
  if (model !== undefined) c.request.model = model
  const pck = str(r.prompt_cache_key)
  if (pck !== undefined) c.request.prompt_cache_key = pck
  if (withSegments) {
    const segs = decodeSegments(r.segments)
    if (segs !== undefined) c.request.segments = segs
  }
  if (r.has_summary === true) c.request.has_summary = true
  const rl = str(r.rate_limits)
  if (rl !== undefined) {
    try {
      const v: unknown = JSON.parse(rl)
      if (typeof v === 'object' && v !== null) c.rate_limits = v as Record<string, string>
    } catch {
      // A column the index wrote itself; unreadable only if the index is damaged: no rate limits then.
    }
  }
  return c
}

/** A break as a `cache` row. */
export function breakRow(b: CacheBreak, idx: unknown): Row {
  return {
    ts: b.started_at,
    session_id: b.session_id,
    agent: b.agent ?? null,
    model: b.model ?? null,
    flow_id: b.flow_id,
    call: num(idx),
    prev_flow_id: b.prev_flow_id,
    cause: b.cause,
    change: b.change ?? null,
    detail: b.detail,
    segment: segmentText(b),
    offset: b.offset,
    cached_bytes: b.cached_bytes,
    gap_s: Math.round(b.gap_ms / 100) / 10,
    expected_read: b.expected_read,
    cache_read: b.cache_read,
    lost_tokens: b.lost_tokens,
    wasted_usd: b.wasted_usd,
    price_key: b.price_key ?? null,
  }
}

/**
 * The `cache` rows from the candidate pairs: each pair fed to a fresh analyzer (the previous call
 * of the lane, then the call), which gives what one analyzer fed every call in order would.
 */
export async function cacheRows(pairs: { key: string; prev: string }[], calls: Map<string, Row>, prices: PriceTable): Promise<{ rows: Row[]; breaks: CacheBreak[] }> {
  const { createCacheAnalyzer } = await insights()
  const a = createCacheAnalyzer({ prices })
  const rows: Row[] = []
  const breaks: CacheBreak[] = []
  for (const p of pairs) {
    const cur = calls.get(p.key)
    const prev = calls.get(p.prev)
    if (cur === undefined || prev === undefined) continue
    a.reset()
    a.feed(insightCall(prev, true))
    const b = a.feed(insightCall(cur, true))
    if (b === undefined) continue
    breaks.push(b)
    rows.push(breakRow(b, cur.idx))
  }
  rows.sort((x, y) => (String(x.ts) < String(y.ts) ? -1 : String(x.ts) > String(y.ts) ? 1 : String(x.flow_id) < String(y.flow_id) ? -1 : 1))
  return { rows, breaks }
}

/** The `context` rows. */
export async function contextRows(rows: Row[]): Promise<Row[]> {
  const { contextTimeline } = await insights()
  const idx = new Map(rows.map((r) => [String(r.key), r.idx]))
  return contextTimeline(rows.map((r) => insightCall(r, typeof r.segments === 'string'))).map((p) => ({
    ts: p.started_at,
    session_id: p.session_id,
    flow_id: p.flow_id,
    call: num(idx.get(p.key)),
    model: p.model ?? null,
    context_tokens: p.context_tokens,
    window: p.window ?? null,
    ratio: p.ratio ?? null,
    compaction: p.compaction ?? null,
  }))
}

/** The `quota` rows, with each session's running share of each window. */
export async function quotaRows(rows: Row[]): Promise<Row[]> {
  const { quotaTimeline } = await insights()
  const idx = new Map(rows.map((r) => [String(r.key), r.idx]))
  const running = new Map<string, number>()
  return quotaTimeline(rows.map((r) => insightCall(r, false))).points.map((p) => {
    const k = `${p.account}\u0000${p.window}\u0000${p.session_id}`
    const used = Math.round(((running.get(k) ?? 0) + p.delta) * 1e9) / 1e9
    running.set(k, used)
    return {
      ts: p.at,
      session_id: p.session_id,
      flow_id: p.flow_id,
      call: num(idx.get(p.key)),
      account: p.account,
      window: p.window,
      used: p.used,
      delta: p.delta,
      session_used: used,
      reset: p.reset ?? null,
      status: p.status ?? null,
      reset_seen: p.reset_seen ?? false,
    }
  })
}
