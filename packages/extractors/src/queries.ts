import { lit } from './duck.js'
import { CACHE_SQL } from './cache-modes.js'
import { isoInstant } from './sources.js'
import type { ExtractFilters } from './types.js'

/**
 * The SQL of every mode, over the index tables (schema.ts) through four filtered views:
 * `f` (flows), `c` (model calls), `tc` (tool calls) and `tr` (tool results), each row of the
 * last two carrying its call's `ts` (the call's start) and `session_id`. Nothing here reads
 * provider JSON: the ledger decoded it once, the tables hold facts.
 */

/** Options of {@link viewSql} beyond the row filters. */
export interface ViewOptions {
  /** Keep auxiliary (non-model) flows and calls. @defaultValue false */
  includeAux?: boolean
}

/**
 * The four views a mode reads. A flow is in when it matches the filters (its start, session and
 * client); calls, tool calls and results follow their flow, so a flow is never cut in half.
 * Calls of a flow still open when the index was updated show the outcome `open`; a flow the
 * index gave up waiting for (no flow_end for `staleMs`) shows `truncated`.
 */
export function viewSql(filters: ExtractFilters, options: ViewOptions = {}): string[] {
  const conds: string[] = []
  if (filters.since !== undefined) conds.push(`started_at >= ${lit(isoInstant(filters.since, '--since'))}`)
  if (filters.until !== undefined) conds.push(`started_at < ${lit(isoInstant(filters.until, '--until'))}`)
  if (filters.session !== undefined) conds.push(`session_id = ${lit(filters.session)}`)
  if (filters.client !== undefined) conds.push(`client = ${lit(filters.client)}`)
  if (!options.includeAux) conds.push(`kind <> 'aux'`)
  const where = conds.length > 0 ? ` where ${conds.join(' and ')}` : ''
  const open = (t: string): string => `${t}.* replace (case when not ${t}.pending and ${t}.outcome = 'open' then 'truncated' else ${t}.outcome end as outcome)`
  // Without row filters the calls need no semi-join with the flows (an aux flow's calls are aux).
  const filtered = filters.since !== undefined || filters.until !== undefined || filters.session !== undefined || filters.client !== undefined
  const callWhere = [...(filtered ? ['calls.flow_id in (select flow_id from f)'] : []), ...(options.includeAux ? [] : [`calls.kind <> 'aux'`])]
  return [
    `create or replace temp view f as select ${open('flows')} from flows${where}`,
    `create or replace temp view c as select ${open('calls')}, calls.started_at as ts from calls${callWhere.length > 0 ? ` where ${callWhere.join(' and ')}` : ''}`,
    `create or replace temp view tc as select t.*, c.ts, c.session_id, c.client from tool_calls t join c on t.call_key = c.key`,
    `create or replace temp view tr as select t.*, c.ts, c.session_id, c.client from tool_results t join c on t.call_key = c.key`,
  ]
}

/**
 * One row per distinct prompt of the calls in `from`: wire retries (same session, history length
 * and text) collapse into the first. A transcript prompt is the prompt of the one call that answers
 * it (the files hold no retries): the same text typed twice in a session is two prompts.
 */
export const promptsFrom = (from: string): string => `(select min(ts) as ts, session_id, arg_min(flow_id, (ts, flow_id, idx)) as flow_id, arg_min(key, (ts, flow_id, idx)) as key,
    any_value(client) as client, prompt as text
  from ${from} where prompt is not null and prompt <> ''
  group by session_id, message_count, prompt, case when source in ('claude-transcript', 'codex-rollout') then key end)`
const PROMPTS = promptsFrom('c')

/** The token sums of a call with usage (the columns `usage` adds to the call's own). */
const TOKEN_SUMS = `cache_write_5m_tokens + cache_write_1h_tokens as cache_write_tokens,
    input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens as total_tokens`

/**
 * Calls with usage, tokens and cost. The price of each distinct model is found once (longest
 * model-prefix match in `prices`), then joined to the calls by equality (one price row per
 * model: the calls with usage, each once — `usage`, which shows no cost, reads them without it).
 */
const COSTED = `(with pm as (select m.model_key, p.* from (select distinct coalesce(model, req_model, '') as model_key from c) m
      left join prices p on starts_with(lower(m.model_key), lower(p.prefix))
      qualify row_number() over (partition by m.model_key order by length(p.prefix) desc nulls last) = 1)
  select c.*, ${TOKEN_SUMS},
    pm.prefix as price_key,
    round((input_tokens * pm.input + cache_read_tokens * pm.cache_read + cache_write_5m_tokens * pm.cache_write
      + cache_write_1h_tokens * pm.cache_write_1h + output_tokens * pm.output) / 1e6, 8) as cost_usd,
    (select version from price_version) as prices_version
  from c left join pm on pm.model_key = coalesce(c.model, c.req_model, '')
  where c.has_usage)`

/** One row per failed call (and per failed flow that carried no call). */
const ERRORS = `(
  with x as (
    select ts, session_id, flow_id, idx as call, http_status as status, outcome, error_type, error_code, error_message as message from c
    where outcome not in ('completed', 'open') or error_type is not null or error_message is not null or http_status >= 400
    union all
    select started_at, session_id, flow_id, null, http_status, outcome, null, null, null from f
    where calls = 0 and outcome not in ('completed', 'open'))
  select ts, session_id, flow_id, call,
    case when error_type ilike '%overloaded%' or error_code ilike '%overloaded%' or status = 529 then 'overloaded'
         when error_type ilike '%rate_limit%' or error_code ilike '%rate_limit%' or status = 429 then 'rate_limit'
         when outcome = 'aborted' then 'aborted'
         when outcome = 'truncated' then 'truncated'
         when status >= 400 then 'http_error'
         when outcome = 'upstream_error' then 'upstream_error'
         when error_type is not null or message is not null or outcome = 'error' then 'api_error'
         else outcome end as kind,
    status, outcome, coalesce(error_type, error_code) as error_type, message
  from x)`

/** The name of a tool result: the ledger's, else the call's in the same session. */
const RESULTS_FIRST = `(select tr.ts, tr.session_id, tr.flow_id, tr.call_id, coalesce(tr.name, k.name) as name, tr.is_error, tr.exit_code, tr.output
  from (select * from tr qualify row_number() over (partition by call_id order by ts, flow_id, idx, position) = 1) tr
  left join (select session_id, call_id, any_value(name) as name from tc group by all) k using (session_id, call_id))`

/** Tool-call lifecycle findings, from the tool_calls and tool_results tables. */
const CALL_VALIDATION = `(
  with calls as (select session_id, call_id, name, kind, flow_id, ts, idx, position, complete, parse_error,
        row_number() over (partition by session_id, call_id order by ts, flow_id, idx, position) as nth,
        first_value(flow_id) over (partition by session_id, call_id order by ts, flow_id, idx, position) as first_flow
      from tc),
    results as (select session_id, call_id, name, flow_id, ts, idx, position from tr
      qualify row_number() over (partition by session_id, call_id order by ts, flow_id, idx, position) = 1),
    firsts as (select * from calls where nth = 1)
  select session_id, flow_id, 'incomplete_args' as kind, call_id, name, 'call ' || idx || ', tool call ' || position as position, null as related_flow_id,
      'the arguments of ' || name || ' never completed (the stream stopped mid-call)' as message, ts from calls where not complete
  union all select session_id, flow_id, 'invalid_args', call_id, name, 'call ' || idx || ', tool call ' || position, null,
      'the arguments of ' || name || ' are not valid JSON: ' || parse_error, ts from calls where complete and parse_error is not null
  union all select session_id, flow_id, 'duplicate_call', call_id, name, 'call ' || idx || ', tool call ' || position, first_flow,
      'call id announced again (first in flow ' || first_flow || ')', ts from calls where nth > 1
  union all select k.session_id, k.flow_id, 'unanswered_call', k.call_id, k.name, 'call ' || k.idx || ', tool call ' || k.position, null,
      'no later request carried a result for this call', k.ts
    from firsts k anti join results r using (session_id, call_id) where k.complete and k.kind <> 'server'
  union all select r.session_id, r.flow_id, 'orphan_result', r.call_id, r.name, 'call ' || r.idx || ', tool result ' || r.position, null,
      'a result for a call that was never announced (not captured, not in the request history)', r.ts
    from results r anti join firsts k using (session_id, call_id) where r.name is null
  union all select r.session_id, r.flow_id, 'result_before_call', r.call_id, coalesce(r.name, k.name), 'call ' || r.idx || ', tool result ' || r.position, k.flow_id,
      'the result was sent before the response that announced its call', r.ts
    from results r join firsts k using (session_id, call_id) where r.ts < k.ts)`

/**
 * Wire calls joined with transcript calls. Claude Code: the response's \`request-id\` header is the
 * transcript's \`requestId\`, else the message id, else (same session) a shared \`tool_use\` id.
 * Codex: the \`session_id\` header is the rollout's \`session_meta.id\`; within a session a
 * response pairs with the usage delta that shares a tool \`call_id\` with it, else with one of
 * equal usage. Each call pairs at most once.
 * Usage "differs" when a pair's token columns are not all equal. Only calls that report usage are
 * compared (an HTTP 429 has no transcript entry: Claude Code writes a \`<synthetic>\` notice).
 */
const RECONCILE = `(
  with w as (select * from c where source = 'wire' and has_usage),
    t as (select * from c where source in ('claude-transcript', 'codex-rollout') and has_usage),
    wt as (select call_key as key, call_id from tc where call_key in (select key from w)),
    tt as (select call_key as key, call_id from tc where call_key in (select key from t)),
    pairs as (
      select w.key as wk, t.key as tk from w join t on w.provider = 'anthropic' and t.source = 'claude-transcript'
        and (w.request_id = t.request_id or w.response_id = t.response_id)
      union
      select w.key, t.key from w join t on w.session_id = t.session_id
        and exists (select 1 from wt join tt on wt.call_id = tt.call_id where wt.key = w.key and tt.key = t.key)
      union
      select w.key, t.key from w join t on w.session_id = t.session_id and t.source = 'codex-rollout'
        and w.input_tokens = t.input_tokens and w.cache_read_tokens = t.cache_read_tokens and w.output_tokens = t.output_tokens),
    p1 as (select * from pairs qualify row_number() over (partition by wk order by tk) = 1 and row_number() over (partition by tk order by wk) = 1),
    sess as (select distinct session_id from c),
    diff as (select w.session_id, w.key as wk, t.key as tk, coalesce(w.request_id, w.response_id, w.key) as id from p1 join w on w.key = p1.wk join t on t.key = p1.tk
      where w.input_tokens <> t.input_tokens or w.cache_read_tokens <> t.cache_read_tokens or w.cache_write_5m_tokens + w.cache_write_1h_tokens <> t.cache_write_5m_tokens + t.cache_write_1h_tokens
        or w.output_tokens <> t.output_tokens),
    notes as (select session_id, sum(n) filter (where trap in ('reemit', 'block_line')) as reemitted, sum(n) filter (where trap = 'replayed') as replayed from transcript_traps group by session_id)
  select s.session_id,
    (select mode(client) from c where c.session_id = s.session_id) as client,
    (select count(*) from w where w.session_id = s.session_id) as wire_calls,
    (select count(*) from t where t.session_id = s.session_id) as transcript_calls,
    (select count(*) from p1 join w on w.key = p1.wk where w.session_id = s.session_id) as matched,
    (select count(*) from w where w.session_id = s.session_id and w.key not in (select wk from p1)) as only_wire,
    (select count(*) from t where t.session_id = s.session_id and t.key not in (select tk from p1)) as only_transcript,
    (select count(*) from diff where diff.session_id = s.session_id) as usage_differs,
    (select coalesce(sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens), 0) from w where w.session_id = s.session_id) as wire_tokens,
    (select coalesce(sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens), 0) from t where t.session_id = s.session_id) as transcript_tokens,
    coalesce(n.reemitted, 0) as reemitted, coalesce(n.replayed, 0) as replayed,
    (select string_agg(coalesce(request_id, response_id, key), ',' order by ts) from w where w.session_id = s.session_id and w.key not in (select wk from p1)) as only_wire_ids,
    (select string_agg(coalesce(request_id, response_id, key), ',' order by ts) from t where t.session_id = s.session_id and t.key not in (select tk from p1)) as only_transcript_ids,
    (select string_agg(id, ',') from diff where diff.session_id = s.session_id) as differing_ids
  from sess s left join notes n using (session_id)
  order by s.session_id)`

/** The columns of each tool-derived mode when it has no rows. */
export const TOOL_ROW_SQL = `select ts, session_id, flow_id, idx as call, position, call_id, name, kind, arguments, complete, command, workdir, server
  from tc order by ts, flow_id, idx, position`

/** Final SELECT of each SQL mode. */
export const MODE_SQL: Record<string, string> = {
  user_prompts: `select ts, session_id, flow_id, client, text from ${PROMPTS} order by ts, flow_id`,
  assistant_text: `select ts, session_id, flow_id, idx as call, text from c where text <> '' order by ts, flow_id, idx`,
  reasoning: `select ts, session_id, flow_id, idx as call, reasoning as text from c where reasoning <> '' order by ts, flow_id, idx`,
  tool_calls: `select ts, session_id, flow_id, idx as call, position as "index", call_id, name, kind, arguments, complete from tc order by ts, flow_id, idx, position`,
  tool_results: `select ts, session_id, flow_id, call_id, name, is_error, output, exit_code from ${RESULTS_FIRST} order by ts, flow_id, call_id`,
  shell_commands: `select ts, session_id, flow_id, call_id, name as tool, command, workdir from tc where command is not null order by ts, flow_id, idx, position`,
  config: `select ts, session_id, flow_id, idx as call, client, req_model as model, reasoning_effort, temperature, max_tokens,
      json_array_length(tool_names) as tool_count, array_to_string(from_json(tool_names, '["VARCHAR"]'), ',') as tools
    from c order by ts, flow_id, idx`,
  system_prompts: `select c.system_hash as hash, min(c.ts) as first_seen, max(c.ts) as last_seen, count(distinct c.flow_id) as flows,
      count(distinct c.session_id) as sessions, length(any_value(s.text)) as chars, any_value(s.text) as text
    from c join contents s on s.hash = c.system_hash and s.kind = 'system' group by c.system_hash order by first_seen, hash`,
  tool_definitions: `with sets as (select hash as tools_hash, unnest(from_json(tool_hashes, '["VARCHAR"]')) as tool_hash from contents where kind = 'tools')
    select t.name, t.tool_kind as kind, t.hash, min(c.ts) as first_seen, max(c.ts) as last_seen, count(distinct c.flow_id) as flows,
      count(distinct c.session_id) as sessions, any_value(t.description) as description, any_value(t.schema) as schema
    from c join sets s on s.tools_hash = c.tools_hash join contents t on t.hash = s.tool_hash and t.kind = 'tool'
    group by t.name, t.tool_kind, t.hash order by first_seen, name, hash`,
  models: `select coalesce(req_model, model, '(none)') as model, provider, count(distinct flow_id) as flows, count(distinct session_id) as sessions,
      min(ts) as first_seen, max(ts) as last_seen
    from c group by all order by flows desc, model`,
  usage: `select ts, session_id, flow_id, idx as call, model, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, total_tokens
    from (select c.*, ${TOKEN_SUMS} from c where c.has_usage) order by ts, flow_id, idx`,
  cost: `select ts, session_id, flow_id, idx as call, model, price_key, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, prices_version
    from ${COSTED} order by ts, flow_id, idx`,
  sessions: `with fl as (select session_id, mode(client) as client, min(started_at) as first_seen, max(coalesce(ended_at, started_at)) as last_seen,
        count(*) as flows from f group by session_id),
      u as (select session_id, sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens, sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens, sum(cost_usd) as cost_usd, count(*) filter (where cost_usd is null) as unpriced_calls from ${COSTED} group by session_id),
      p as (select session_id, count(*) as turns from ${PROMPTS} group by session_id),
      e as (select session_id, count(*) as errors from ${ERRORS} group by session_id)
    select fl.session_id, fl.client, fl.first_seen, fl.last_seen, fl.flows, coalesce(p.turns, 0) as turns,
      coalesce(u.input_tokens, 0) as input_tokens, coalesce(u.cache_read_tokens, 0) as cache_read_tokens, coalesce(u.cache_write_tokens, 0) as cache_write_tokens,
      coalesce(u.output_tokens, 0) as output_tokens, round(coalesce(u.cost_usd, 0), 8) as cost_usd, coalesce(u.unpriced_calls, 0) as unpriced_calls,
      coalesce(e.errors, 0) as errors, (select version from price_version) as prices_version
    from fl left join u using (session_id) left join p using (session_id) left join e using (session_id)
    order by fl.first_seen, fl.session_id`,
  turns: `with starts as (select key, text from ${PROMPTS}),
      nb as (select c.*, s.text as turn_prompt,
        sum(case when s.text is null then 0 else 1 end) over (partition by c.session_id order by c.ts, c.flow_id, c.idx rows unbounded preceding) as turn
        from c left join starts s using (key))
    select min(ts) as ts, session_id, turn, any_value(client) as client, max(turn_prompt) as prompt,
      arg_max(text, (ts, flow_id, idx)) filter (where text <> '') as response,
      count(distinct flow_id) as flows, sum(tool_call_count) as tool_calls,
      nullif(arg_max(coalesce(stop_reason, ''), (ts, flow_id, idx)), '') as stop_reason, arg_max(outcome, (ts, flow_id, idx)) as outcome,
      sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens) as input_tokens, sum(output_tokens) as output_tokens,
      max(coalesce(ended_at, ts)) as ended,
      date_diff('millisecond', min(try_cast(ts as timestamptz)), max(try_cast(coalesce(ended_at, ts) as timestamptz))) as duration_ms
    from nb group by session_id, turn order by ts, session_id, turn`,
  flows: `with lc as (select flow_id, arg_max(model, idx) as model, arg_max(req_model, idx) as req_model, arg_max(stop_reason, idx) as stop_reason from c group by flow_id)
    select f.started_at as ts, f.session_id, f.flow_id, f.client, f.provider, f.kind, coalesce(lc.model, lc.req_model) as model, f.method, f.url,
      f.http_status as status, f.outcome, lc.stop_reason, f.ttfb_ms, f.duration_ms, f.events, f.bytes, f.calls
    from f left join lc using (flow_id) order by f.started_at, f.flow_id`,
  errors: `select ts, session_id, flow_id, call, kind, status, outcome, error_type, message from ${ERRORS} order by ts, flow_id, call`,
  stop_reasons: `select provider, coalesce(stop_reason, '(none)') as stop_reason, count(*) as calls from c group by all order by calls desc, provider, stop_reason`,
  rate_limits: `select ts, session_id, flow_id, idx as call, client, http_status as status, rate_limits as headers from c
    where rate_limits is not null and rate_limits <> '{}' order by ts, flow_id, idx`,
  cache: CACHE_SQL,
  cache_ratio: `select session_id, any_value(client) as client, count(*) as calls, sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens,
      sum(cache_write_tokens) as cache_write_tokens,
      round(sum(cache_read_tokens) / nullif(sum(input_tokens + cache_read_tokens + cache_write_tokens), 0), 4) as hit_ratio
    from ${COSTED} group by session_id order by session_id`,
  clients: `select client, coalesce(user_agent, '(none)') as user_agent, regexp_extract(coalesce(user_agent, ''), '/([0-9]+(\\.[0-9A-Za-z-]+)+)', 1) as version,
      count(distinct flow_id) as flows, count(distinct session_id) as sessions, min(started_at) as first_seen, max(started_at) as last_seen
    from f group by all order by flows desc, client, user_agent`,
  latency: `select client, coalesce(model, req_model) as model, count(*) as calls, count(ttft_ms) as with_ttft,
      round(quantile_cont(ttft_ms, 0.5), 1) as ttft_p50, round(quantile_cont(ttft_ms, 0.9), 1) as ttft_p90, round(quantile_cont(ttft_ms, 0.99), 1) as ttft_p99, max(ttft_ms) as ttft_max,
      round(quantile_cont(duration_ms, 0.5), 1) as duration_p50, round(quantile_cont(duration_ms, 0.9), 1) as duration_p90, round(quantile_cont(duration_ms, 0.99), 1) as duration_p99, max(duration_ms) as duration_max
    from c group by all order by calls desc, client, model`,
  call_validation: `select session_id, flow_id, kind, call_id, name, position, related_flow_id, message from ${CALL_VALIDATION} order by ts, flow_id, position, kind`,
  daily: `select substr(ts, 1, 10) as date, coalesce(model, req_model, '(none)') as model, source, count(*) as calls,
      sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens, sum(cache_write_5m_tokens) as cache_write_5m_tokens,
      sum(cache_write_1h_tokens) as cache_write_1h_tokens, sum(output_tokens) as output_tokens, sum(coalesce(reasoning_tokens, 0)) as reasoning_tokens,
      sum(total_tokens) as total_tokens, round(sum(cost_usd), 8) as cost_usd, count(*) filter (where cost_usd is null) as unpriced_calls,
      (select version from price_version) as prices_version
    from ${COSTED} group by all order by date, model, source`,
  compactions: `select "at" as ts, session_id, source, agent, "trigger", pre_tokens, post_tokens from compactions
    where session_id in (select session_id from f) order by "at", key`,
  reconcile: `select * from ${RECONCILE}`,
  subagent_flows: `select started_at as ts, session_id, flow_id, agent from f where agent is not null order by ts, flow_id`,
}
