/**
 * The SQL of every DuckDB-backed mode. Each query reads the three filtered views `flows`,
 * `lines` and `ends` (see `sources.ts`). Stream content is rebuilt in SQL: the raw SSE `data`
 * strings are filtered by event name first (a plain string compare on the `event` column, so
 * the JSON of the dominant delta lines is only parsed by the modes that need it), then
 * `json_extract` pulls the few fields needed and `string_agg(… ORDER BY seq)` joins fragments.
 * Fragments are joined as raw text before anything parses them, so escapes split across
 * `partial_json` / `arguments.delta` fragments are never an issue.
 */

/** Quotes a string as a SQL literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** Event name of a line: the SSE `event:` field, else the JSON `type` (WebSocket frames have no event name). */
const EVT = `coalesce(event, try(json_extract_string(data, '$.type')), try(json_extract_string(data, '$.object')))`

/**
 * Lines whose event is one of `names`, each parsed once: `j` holds the strings at `paths`
 * (objects as JSON text) in order, so `j[1]` is `paths[0]`. `keep` is an optional cheap test
 * on the raw line run before any JSON parse (e.g. only the `content_block_delta` lines that
 * contain `input_json_delta`). Lines are deduplicated on (flow_id, seq): the same line captured
 * twice contributes once; grouping carries only the extracted fields, not the raw data.
 */
function events(names: string[], paths: string[], keep?: string): string {
  const list = names.map(lit).join(', ')
  return `(select flow_id, seq, any_value(session_id) as session_id, min(ts) as ts, any_value(evt) as evt, any_value(j) as j
    from (select flow_id, seq, session_id, ts, evt, json_extract_string(data, [${paths.map(lit).join(', ')}]) as j
          from (select flow_id, seq, session_id, ts, ${EVT} as evt, data from lines
                where (event in (${list}) or (event is null and ${EVT} in (${list})))${keep ? ` and (${keep})` : ''}))
    group by flow_id, seq)`
}

/** Text of a message `content` (a string or a list of text blocks), without system wrappers. */
function contentText(c: string): string {
  const wrapper = `'^\\s*<(system-reminder|environment_context|user_instructions)>'`
  return `(case when json_type(${c}) = 'VARCHAR' then (case when regexp_matches(${c}->>'$', ${wrapper}) then '' else ${c}->>'$' end)
    else coalesce(array_to_string(list_transform(list_filter(json_extract(${c}, '$[*]'),
      lambda b: (b->>'type') in ('text', 'input_text') and not regexp_matches(coalesce(b->>'text', ''), ${wrapper})), lambda b: b->>'text'), chr(10)), '') end)`
}

/** Request bodies: one row per flow with the parsed request JSON (the `bodies` view resolves `$ref` bodies). */
const BODIES = `(select ts, flow_id, session_id, client, provider, b from bodies)`

/** Flows whose request ends with a new user prompt; `n` is the history length (retries share it). */
const PROMPT_FLOWS = `(select ts, flow_id, session_id, client, n, ${contentText('m->\'$.content\'')} as text
  from (select ts, flow_id, session_id, client,
          case when json_type(b, '$.input') = 'VARCHAR' then json_object('role', 'user', 'content', b->'$.input')
               else coalesce(b->'$.messages[#-1]', b->'$.input[#-1]') end as m,
          coalesce(json_array_length(b, '$.messages'), json_array_length(b, '$.input'), 1) as n,
          coalesce(json_array_length(b, '$.tools'), 0) > 0 as has_tools
        from ${BODIES})
  where m->>'$.role' = 'user' and coalesce(m->>'$.type', 'message') = 'message'
    -- Claude Code's auxiliary requests (quota check, topic / title detection) offer no tools:
    -- they repeat or invent user text and are not prompts.
    and not (coalesce(client, '') = 'claude-code' and has_tools = false))`

/** One row per user prompt; retries of the same request (same session, history length, text) collapse into the first. */
export const USER_PROMPTS_CTE = `(select min(ts) as ts, session_id, arg_min(flow_id, ts) as flow_id, any_value(client) as client, text
  from ${PROMPT_FLOWS} where text <> '' group by session_id, n, text)`

const ANTH_TOOL_TYPES = `('tool_use', 'server_tool_use', 'mcp_tool_use')`
const RESP_TOOL_TYPES = `('function_call', 'custom_tool_call', 'local_shell_call', 'web_search_call', 'mcp_call', 'file_search_call', 'code_interpreter_call', 'image_generation_call', 'computer_call')`

/** Tool calls rebuilt from the stream (Anthropic blocks, Responses items). */
export const TOOL_CALLS_CTE = `(
  with ev as materialized ${events(
    ['content_block_start', 'content_block_delta', 'content_block_stop', 'response.output_item.added', 'response.output_item.done', 'response.function_call_arguments.delta', 'response.custom_tool_call_input.delta'],
    ['$.index', '$.content_block', '$.delta.type', '$.delta.partial_json', '$.output_index', '$.item', '$.delta', '$.content_block.type', '$.item.type'],
    // text/thinking deltas are most of the lines: skip them before parsing
    `coalesce(event, '') <> 'content_block_delta' or contains(data, 'input_json_delta')`,
  )},
  a_start as (select flow_id, any_value(session_id) as session_id, cast(j[1] as integer) as idx, min(ts) as ts, arg_min(j[2], seq) as cb
    from ev where evt = 'content_block_start' and j[8] in ${ANTH_TOOL_TYPES} group by flow_id, idx),
  a_delta as (select flow_id, cast(j[1] as integer) as idx, string_agg(j[4], '' order by seq) as args
    from ev where evt = 'content_block_delta' and j[3] = 'input_json_delta' group by flow_id, idx),
  a_stop as (select distinct flow_id, cast(j[1] as integer) as idx from ev where evt = 'content_block_stop'),
  anth as (select s.ts, s.session_id, s.flow_id, s.idx, s.cb->>'$.id' as call_id, s.cb->>'$.name' as name,
      case s.cb->>'$.type' when 'tool_use' then 'function' when 'mcp_tool_use' then 'mcp' else 'server' end as kind,
      coalesce(nullif(d.args, ''), case when json_type(s.cb, '$.input') is null then null else json(s.cb->'$.input')::varchar end) as arguments,
      st.flow_id is not null as complete
    from a_start s left join a_delta d using (flow_id, idx) left join a_stop st using (flow_id, idx)),
  r_added as (select flow_id, any_value(session_id) as session_id, cast(j[5] as integer) as idx, min(ts) as ts, arg_min(j[6], seq) as item
    from ev where evt = 'response.output_item.added' and j[9] in ${RESP_TOOL_TYPES} group by flow_id, idx),
  r_done as (select flow_id, any_value(session_id) as session_id, cast(j[5] as integer) as idx, min(ts) as ts, arg_max(j[6], seq) as item
    from ev where evt = 'response.output_item.done' and j[9] in ${RESP_TOOL_TYPES} group by flow_id, idx),
  r_delta as (select flow_id, cast(j[5] as integer) as idx, string_agg(j[7], '' order by seq) as args
    from ev where evt in ('response.function_call_arguments.delta', 'response.custom_tool_call_input.delta') group by flow_id, idx),
  resp as (select coalesce(a.ts, d.ts) as ts, coalesce(a.session_id, d.session_id) as session_id, coalesce(a.flow_id, d.flow_id) as flow_id,
      coalesce(a.idx, d.idx) as idx, coalesce(d.item, a.item) as item, x.args as delta_args, d.flow_id is not null as complete
    from r_added a full outer join r_done d using (flow_id, idx) left join r_delta x on x.flow_id = coalesce(a.flow_id, d.flow_id) and x.idx = coalesce(a.idx, d.idx)),
  resp2 as (select ts, session_id, flow_id, idx, coalesce(item->>'$.call_id', item->>'$.id') as call_id,
      coalesce(item->>'$.name', replace(item->>'$.type', '_call', '')) as name,
      case item->>'$.type' when 'function_call' then 'function' when 'custom_tool_call' then 'custom' when 'local_shell_call' then 'local_shell' when 'mcp_call' then 'mcp' else 'server' end as kind,
      case when item->>'$.type' = 'function_call' then coalesce(nullif(item->>'$.arguments', ''), delta_args)
           when item->>'$.type' = 'custom_tool_call' then coalesce(nullif(item->>'$.input', ''), delta_args)
           when item->>'$.type' = 'mcp_call' then coalesce(nullif(item->>'$.arguments', ''), delta_args)
           when json_type(item, '$.action') is not null then json(item->'$.action')::varchar
           else delta_args end as arguments,
      complete, item->>'$.server_label' as server
    from resp)
  select ts, session_id, flow_id, idx, call_id, name, kind, arguments, complete, null::varchar as server from anth
  union all select ts, session_id, flow_id, idx, call_id, name, kind, arguments, complete, server from resp2
)`

/** Text or reasoning per (flow, block). */
function streamText(kind: 'text' | 'reasoning'): string {
  const paths = ['$.index', '$.delta.type', '$.delta.text', '$.delta.thinking', '$.output_index', '$.delta', '$.choices[0].index', '$.choices[0].delta.content', '$.choices[0].delta.reasoning_content', '$.choices[0].delta.reasoning']
  const names = kind === 'text'
    ? ['content_block_delta', 'response.output_text.delta', 'chat.completion.chunk']
    : ['content_block_delta', 'response.reasoning_summary_text.delta', 'response.reasoning_text.delta', 'chat.completion.chunk']
  const keep = `coalesce(event, '') <> 'content_block_delta' or contains(data, '${kind === 'text' ? 'text_delta' : 'thinking_delta'}')`
  const parts = kind === 'text'
    ? `select flow_id, session_id, ts, seq, cast(j[1] as integer) as idx, 'text' as k, j[3] as t from ev where evt = 'content_block_delta' and j[2] = 'text_delta'
       union all select flow_id, session_id, ts, seq, cast(j[5] as integer), 'text', j[6] from ev where evt = 'response.output_text.delta'
       union all select flow_id, session_id, ts, seq, coalesce(cast(j[7] as integer), 0), 'text', j[8] from ev where evt = 'chat.completion.chunk'`
    : `select flow_id, session_id, ts, seq, cast(j[1] as integer) as idx, 'thinking' as k, j[4] as t from ev where evt = 'content_block_delta' and j[2] = 'thinking_delta'
       union all select flow_id, session_id, ts, seq, cast(j[5] as integer), 'summary', j[6] from ev where evt = 'response.reasoning_summary_text.delta'
       union all select flow_id, session_id, ts, seq, cast(j[5] as integer), 'thinking', j[6] from ev where evt = 'response.reasoning_text.delta'
       union all select flow_id, session_id, ts, seq, coalesce(cast(j[7] as integer), 0), 'thinking', coalesce(j[9], j[10]) from ev where evt = 'chat.completion.chunk'`
  return `(with ev as materialized ${events(names, paths, keep)}, p as (${parts})
    select min(ts) as ts, any_value(session_id) as session_id, flow_id, idx as block, k as kind, string_agg(t, '' order by seq) as text
    from p where t is not null and t <> '' group by flow_id, idx, k)`
}

export const ASSISTANT_TEXT_CTE = streamText('text')
export const REASONING_CTE = streamText('reasoning')

/**
 * Usage per flow, counted once. Anthropic: `message_start.message.usage`, overridden field by
 * field by the LAST `message_delta.usage` (cumulative, so never summed). Responses: the usage of
 * the terminal `response.*` event. Chat Completions: the last chunk carrying `usage`. A flow's
 * `ts` is its first usage-bearing event (so the rg prefilter, which keeps only those, agrees).
 * Token columns are normalized: `input_tokens` excludes cache reads (OpenAI reports them inside
 * input, Anthropic outside), so input + cache_read + cache_write + output is what was billed.
 */
export const USAGE_CTE = `(
  with ev as materialized (select flow_id, seq, session_id, ts, evt,
        -- one JSON parse per line: every field the aggregates need, by position
        json_extract(data, ['$.message.usage', '$.usage', '$.response.usage', '$.message.model', '$.response.model', '$.model']) as j from
      (select flow_id, seq, session_id, ts, ${EVT} as evt, data from lines
       where event in ('message_start', 'message_delta', 'response.completed', 'response.incomplete', 'response.failed', 'response.done')
          or (event is null and (data like '%message_%' or data like '%response.%' or data like '%"usage"%'))) as x
      where evt in ('message_start', 'message_delta', 'response.completed', 'response.incomplete', 'response.failed', 'response.done', 'chat.completion.chunk')),
  agg as (select flow_id, any_value(session_id) as session_id, min(ts) filter (where evt <> 'chat.completion.chunk' or j[2] is not null) as ts,
      arg_min(j[1], seq) filter (where evt = 'message_start') as u0,
      arg_max(j[2], seq) filter (where evt = 'message_delta' and json_type(j[2]) = 'OBJECT') as u1,
      arg_max(j[3], seq) filter (where evt like 'response.%' and json_type(j[3]) = 'OBJECT') as ur,
      arg_max(j[2], seq) filter (where evt = 'chat.completion.chunk' and json_type(j[2]) = 'OBJECT') as uc,
      coalesce(arg_min(j[4]->>'$', seq) filter (where evt = 'message_start'),
               arg_max(j[5]->>'$', seq) filter (where evt like 'response.%' and j[5] is not null),
               arg_max(j[6]->>'$', seq) filter (where evt = 'chat.completion.chunk' and json_type(j[2]) = 'OBJECT')) as model
    from ev group by flow_id)
  select ts, session_id, flow_id, model,
    case when u0 is not null or u1 is not null then 'anthropic' when ur is not null then 'openai-responses' else 'openai-chat' end as source,
    cast(coalesce(cast(u1->>'$.input_tokens' as bigint), cast(u0->>'$.input_tokens' as bigint),
      cast(ur->>'$.input_tokens' as bigint) - coalesce(cast(ur->>'$.input_tokens_details.cached_tokens' as bigint), 0),
      cast(uc->>'$.prompt_tokens' as bigint) - coalesce(cast(uc->>'$.prompt_tokens_details.cached_tokens' as bigint), 0), 0) as bigint) as input_tokens,
    cast(coalesce(cast(u1->>'$.cache_read_input_tokens' as bigint), cast(u0->>'$.cache_read_input_tokens' as bigint),
      cast(ur->>'$.input_tokens_details.cached_tokens' as bigint), cast(uc->>'$.prompt_tokens_details.cached_tokens' as bigint), 0) as bigint) as cache_read_tokens,
    cast(coalesce(cast(u1->>'$.cache_creation_input_tokens' as bigint), cast(u0->>'$.cache_creation_input_tokens' as bigint), 0) as bigint) as cache_write_tokens,
    cast(coalesce(cast(u1->>'$.output_tokens' as bigint), cast(u0->>'$.output_tokens' as bigint), cast(ur->>'$.output_tokens' as bigint), cast(uc->>'$.completion_tokens' as bigint), 0) as bigint) as output_tokens,
    coalesce(cast(ur->>'$.output_tokens_details.reasoning_tokens' as bigint), cast(uc->>'$.completion_tokens_details.reasoning_tokens' as bigint)) as reasoning_tokens
  from agg where u0 is not null or u1 is not null or ur is not null or uc is not null
)`

/** USAGE_CTE plus total and cost from the `prices` table (longest model-prefix match). */
export const COST_CTE = `(
  select u.*, input_tokens + cache_read_tokens + cache_write_tokens + output_tokens as total_tokens,
    p.prefix as price_key,
    round((input_tokens * p.input + cache_read_tokens * p.cache_read + cache_write_tokens * p.cache_write + output_tokens * p.output) / 1e6, 8) as cost_usd,
    (select version from price_version) as prices_version
  from ${USAGE_CTE} u left join prices p on starts_with(lower(coalesce(u.model, '')), lower(p.prefix))
  qualify row_number() over (partition by u.flow_id order by length(p.prefix) desc nulls last) = 1
)`

/** Stop reason per flow. */
export const STOP_CTE = `(
  with ev as materialized ${events(['message_delta', 'response.completed', 'response.incomplete', 'response.failed', 'chat.completion.chunk'],
    ['$.delta.stop_reason', '$.response.incomplete_details.reason', '$.choices[0].finish_reason'],
    `coalesce(event, '') <> 'chat.completion.chunk' or contains(data, 'finish_reason')`)}
  select flow_id, arg_max(case
      when evt = 'message_delta' then j[1]
      when evt = 'response.completed' then 'completed'
      when evt = 'response.incomplete' then coalesce(j[2], 'incomplete')
      when evt = 'response.failed' then 'failed'
      else j[3] end, seq) as stop_reason
  from ev where evt <> 'chat.completion.chunk' or j[3] is not null
  group by flow_id
)`

/** Stream errors per flow (Anthropic `error` events, Responses `error` / `response.failed`). */
const STREAM_ERRORS = `(
  with ev as materialized ${events(['error', 'response.failed'], ['$.error.type', '$.response.error.type', '$.error.code', '$.response.error.code', '$.code', '$.error.message', '$.response.error.message', '$.message'])}
  select flow_id, any_value(session_id) as session_id, min(ts) as ts,
    arg_min(coalesce(j[1], j[2], j[3], j[4], j[5]), seq) as error_type,
    arg_min(coalesce(j[6], j[7], j[8]), seq) as message
  from ev group by flow_id
)`

/** One row per flow that failed: stream error, HTTP error status, or a non-completed flow_end. */
export const ERRORS_CTE = `(
  with e as (select flow_id, any_value(session_id) as session_id, min(ts) as ts, any_value(outcome) as outcome, any_value(status) as status,
      any_value(case when json_type(error) = 'VARCHAR' then null else error->>'$.type' end) as error_type,
      any_value(case when json_type(error) = 'VARCHAR' then error->>'$' else error->>'$.message' end) as message
    from ends group by flow_id),
  f as (select flow_id, any_value(session_id) as session_id, min(ts) as ts, any_value(status) as status from flows group by flow_id),
  s as ${STREAM_ERRORS},
  j as (select coalesce(f.flow_id, e.flow_id, s.flow_id) as flow_id, coalesce(f.session_id, e.session_id, s.session_id) as session_id,
      coalesce(s.ts, e.ts, f.ts) as ts, coalesce(e.status, f.status) as status, e.outcome,
      coalesce(s.error_type, e.error_type) as error_type, coalesce(s.message, e.message) as message, s.flow_id is not null as in_stream
    from f full outer join e using (flow_id) full outer join s on s.flow_id = coalesce(f.flow_id, e.flow_id))
  select ts, session_id, flow_id,
    case when error_type ilike '%overloaded%' or status = 529 then 'overloaded'
         when error_type ilike '%rate_limit%' or status = 429 then 'rate_limit'
         when outcome = 'aborted' then 'aborted'
         when in_stream then 'api_error'
         when status >= 400 then 'http_error'
         when outcome = 'upstream_error' then 'upstream_error'
         else coalesce(outcome, 'error') end as kind,
    status, outcome, error_type, message
  from j where in_stream or status >= 400 or (outcome is not null and outcome <> 'completed')
)`

/** Any JSON value as text: strings as they are, arrays of text blocks joined, objects as JSON. */
function anyText(x: string): string {
  return `(case json_type(${x}) when 'VARCHAR' then ${x}->>'$'
    when 'ARRAY' then array_to_string(list_transform(json_extract(${x}, '$[*]'), lambda b: case when json_type(b) = 'VARCHAR' then b->>'$' when (b->>'text') is not null then b->>'text' else json(b)::varchar end), chr(10))
    when 'NULL' then null else json(${x})::varchar end)`
}

/** Every message / input item of every request, with its position. */
const MSGS = `(select ts, flow_id, session_id, e.i as i, e.m as m from
  (select ts, flow_id, session_id, unnest(list_transform(case when json_type(b, '$.messages') = 'ARRAY' then json_extract(b, '$.messages[*]') else json_extract(b, '$.input[*]') end, lambda m, i: {'i': i, 'm': m})) as e from ${BODIES}))`

/** Tool results sent back in requests, each call id once (first request that carried it). */
export const TOOL_RESULTS_CTE = `(
  with msgs as ${MSGS},
  blocks as (select ts, flow_id, session_id, i, e2.j as j, e2.c as c from
      (select ts, flow_id, session_id, i, unnest(list_transform(json_extract(m, '$.content[*]'), lambda c, j: {'j': j, 'c': c})) as e2
       from msgs where json_type(m, '$.content') = 'ARRAY' and (m->>'$.role') in ('user', 'assistant'))
    union all select ts, flow_id, session_id, i, 0 as j, m as c from msgs where (m->>'$.type') is not null and (m->>'$.type') <> 'message'),
  outs as (select ts, flow_id, session_id, i, j, coalesce(c->>'$.tool_use_id', c->>'$.call_id') as call_id,
      try_cast(c->>'$.is_error' as boolean) as is_error, ${anyText(`coalesce(c->'$.content', c->'$.output')`)} as output
    from blocks where (c->>'$.type') in ('tool_result', 'function_call_output', 'custom_tool_call_output', 'local_shell_call_output', 'mcp_tool_result')),
  calls as (select coalesce(c->>'$.id', c->>'$.call_id') as call_id, any_value(c->>'$.name') as name from blocks
    where (c->>'$.type') in ('tool_use', 'server_tool_use', 'mcp_tool_use', 'function_call', 'custom_tool_call') group by 1)
  select min(o.ts) as ts, arg_min(o.session_id, o.ts) as session_id, arg_min(o.flow_id, o.ts) as flow_id, o.call_id, any_value(c.name) as name,
    arg_min(o.is_error, o.ts) as is_error, arg_min(o.output, o.ts) as output
  from outs o left join calls c using (call_id) where o.call_id is not null group by o.call_id
)`

/** Text of `system` (string or blocks) or Responses `instructions`. */
const SYSTEM_TEXT = `(case when json_type(b, '$.system') = 'VARCHAR' then b->>'$.system'
  when json_type(b, '$.system') = 'ARRAY' then array_to_string(list_transform(json_extract(b, '$.system[*]'), lambda x: x->>'text'), chr(10))
  else b->>'$.instructions' end)`

/** Final SELECT of each plain SQL mode. */
export const MODE_SQL: Record<string, string> = {
  user_prompts: `select ts, session_id, flow_id, client, text from ${USER_PROMPTS_CTE} order by ts, flow_id`,
  assistant_text: `select ts, session_id, flow_id, block, text from ${ASSISTANT_TEXT_CTE} order by ts, flow_id, block`,
  reasoning: `select ts, session_id, flow_id, block, kind, text from ${REASONING_CTE} order by ts, flow_id, block`,
  tool_calls: `select ts, session_id, flow_id, idx as "index", call_id, name, kind, arguments, complete from ${TOOL_CALLS_CTE} order by ts, flow_id, idx`,
  tool_results: `select ts, session_id, flow_id, call_id, name, is_error, output from ${TOOL_RESULTS_CTE} order by ts, flow_id, call_id`,
  config: `select ts, session_id, flow_id, client, b->>'$.model' as model,
      coalesce(b->>'$.reasoning.effort', case when (b->>'$.thinking.type') = 'enabled' then 'thinking:' || coalesce(b->>'$.thinking.budget_tokens', '') else b->>'$.thinking.type' end) as reasoning_effort,
      try_cast(b->>'$.temperature' as double) as temperature,
      try_cast(coalesce(b->>'$.max_tokens', b->>'$.max_output_tokens') as bigint) as max_tokens,
      coalesce(json_array_length(b, '$.tools'), 0) as tool_count,
      coalesce(array_to_string(list_transform(json_extract(b, '$.tools[*]'), lambda t: coalesce(t->>'name', t->>'type')), ','), '') as tools
    from ${BODIES} order by ts, flow_id`,
  system_prompts: `select left(h, 16) as hash, first_seen, last_seen, flows, sessions, length(text) as chars, text from (
      select sha256(text) as h, min(ts) as first_seen, max(ts) as last_seen, count(distinct flow_id) as flows, count(distinct session_id) as sessions, any_value(text) as text
      from (select ts, flow_id, session_id, ${SYSTEM_TEXT} as text from ${BODIES}) where text is not null and text <> '' group by h)
    order by first_seen, hash`,
  tool_definitions: `select name, kind, left(h, 16) as hash, first_seen, last_seen, flows, sessions, description, schema from (
      select coalesce(d->>'name', d->>'type') as name, case when (d->>'type') is null then 'function' else d->>'type' end as kind,
        sha256(json(d)::varchar) as h, min(ts) as first_seen, max(ts) as last_seen, count(distinct flow_id) as flows, count(distinct session_id) as sessions,
        any_value(d->>'description') as description, any_value(json(coalesce(d->'input_schema', d->'parameters', d->'format'))::varchar) as schema
      from (select ts, flow_id, session_id, unnest(json_extract(b, '$.tools[*]')) as d from ${BODIES} where json_type(b, '$.tools') = 'ARRAY')
      group by all)
    order by first_seen, name, hash`,
  models: `select coalesce(b->>'$.model', '(none)') as model, provider, count(distinct flow_id) as flows, count(distinct session_id) as sessions, min(ts) as first_seen, max(ts) as last_seen
    from ${BODIES} group by all order by flows desc, model`,
  usage: `select ts, session_id, flow_id, model, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
      input_tokens + cache_read_tokens + cache_write_tokens + output_tokens as total_tokens from ${USAGE_CTE} order by ts, flow_id`,
  cost: `select ts, session_id, flow_id, model, price_key, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, prices_version from ${COST_CTE} order by ts, flow_id`,
  sessions: `with f as (select session_id, mode(client) as client, min(ts) as first_seen, max(ts) as last_seen, count(distinct flow_id) as flows from flows group by session_id),
      le as (select session_id, max(ts) as last_end from ends group by session_id),
      u as (select session_id, sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens, sum(cache_write_tokens) as cache_write_tokens,
              sum(output_tokens) as output_tokens, sum(cost_usd) as cost_usd, count(*) filter (where cost_usd is null) as unpriced_flows from ${COST_CTE} group by session_id),
      p as (select session_id, count(*) as turns from ${USER_PROMPTS_CTE} group by session_id),
      e as (select session_id, count(*) as errors from ${ERRORS_CTE} group by session_id)
    select f.session_id, f.client, f.first_seen, greatest(f.last_seen, coalesce(le.last_end, f.last_seen)) as last_seen, f.flows, coalesce(p.turns, 0) as turns,
      coalesce(u.input_tokens, 0) as input_tokens, coalesce(u.cache_read_tokens, 0) as cache_read_tokens, coalesce(u.cache_write_tokens, 0) as cache_write_tokens,
      coalesce(u.output_tokens, 0) as output_tokens, round(coalesce(u.cost_usd, 0), 8) as cost_usd, coalesce(u.unpriced_flows, 0) as unpriced_flows,
      coalesce(e.errors, 0) as errors, (select version from price_version) as prices_version
    from f left join le using (session_id) left join u using (session_id) left join p using (session_id) left join e using (session_id)
    order by f.first_seen, f.session_id`,
  turns: `with pf as (select ts, flow_id, session_id, n, text from ${PROMPT_FLOWS} where text <> ''),
      starts as (select arg_min(flow_id, ts) as flow_id, any_value(text) as text from pf group by session_id, n, text),
      fl as (select f.ts, f.flow_id, f.session_id, f.client, s.text as prompt
        from (select flow_id, min(ts) as ts, any_value(session_id) as session_id, any_value(client) as client from flows group by flow_id) f left join starts s using (flow_id)),
      nb as (select *, sum(case when prompt is null then 0 else 1 end) over (partition by session_id order by ts, flow_id rows unbounded preceding) as turn from fl),
      txt as (select flow_id, string_agg(text, chr(10) order by block) as text from ${ASSISTANT_TEXT_CTE} group by flow_id),
      tc as (select flow_id, count(*) as n from ${TOOL_CALLS_CTE} group by flow_id),
      en as (select flow_id, max(ts) as ts, any_value(outcome) as outcome from ends group by flow_id),
      u as (select flow_id, input_tokens + cache_read_tokens + cache_write_tokens as input_all, output_tokens from ${USAGE_CTE}),
      st as ${STOP_CTE}
    select min(nb.ts) as ts, nb.session_id, nb.turn, any_value(nb.client) as client, max(nb.prompt) as prompt,
      arg_max(txt.text, nb.ts) filter (where txt.text is not null) as response,
      count(*) as flows, coalesce(sum(tc.n), 0) as tool_calls,
      nullif(arg_max(coalesce(st.stop_reason, ''), nb.ts), '') as stop_reason, nullif(arg_max(coalesce(en.outcome, ''), nb.ts), '') as outcome,
      coalesce(sum(u.input_all), 0) as input_tokens, coalesce(sum(u.output_tokens), 0) as output_tokens,
      max(coalesce(en.ts, nb.ts)) as ended,
      date_diff('millisecond', min(try_cast(nb.ts as timestamptz)), max(try_cast(coalesce(en.ts, nb.ts) as timestamptz))) as duration_ms
    from nb left join txt using (flow_id) left join tc using (flow_id) left join en using (flow_id) left join u using (flow_id) left join st using (flow_id)
    group by nb.session_id, nb.turn order by ts, nb.session_id, nb.turn`,
  flows: `with e as (select flow_id, any_value(outcome) as outcome, any_value(status) as status, any_value(ttfb_ms) as ttfb_ms, any_value(duration_ms) as duration_ms,
        any_value(events) as events, any_value(bytes) as bytes from ends group by flow_id)
    select f.ts, f.session_id, f.flow_id, f.client, f.provider, f.request_body->>'$.model' as model, f.method, f.url, coalesce(e.status, f.status) as status,
      e.outcome, s.stop_reason, e.ttfb_ms, e.duration_ms, e.events, e.bytes
    from flows f left join e using (flow_id) left join ${STOP_CTE} s using (flow_id) order by f.ts, f.flow_id`,
  errors: `select ts, session_id, flow_id, kind, status, outcome, error_type, message from ${ERRORS_CTE} order by ts, flow_id`,
  stop_reasons: `select f.provider, coalesce(s.stop_reason, '(none)') as stop_reason, count(*) as flows
    from (select flow_id, any_value(provider) as provider from flows group by flow_id) f left join ${STOP_CTE} s using (flow_id)
    group by all order by flows desc, provider, stop_reason`,
  rate_limits: `select ts, session_id, flow_id, client, status, json(response_headers)::varchar as headers from flows
    where json_type(response_headers) = 'OBJECT' and regexp_matches(json(response_headers)::varchar, '(?i)ratelimit|retry-after|x-codex-(primary|secondary)')
    order by ts, flow_id`,
  cache: `select u.session_id, any_value(f.client) as client, count(*) as flows, sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens,
      sum(cache_write_tokens) as cache_write_tokens,
      round(sum(cache_read_tokens) / nullif(sum(input_tokens + cache_read_tokens + cache_write_tokens), 0), 4) as hit_ratio
    from ${USAGE_CTE} u left join (select flow_id, any_value(client) as client from flows group by flow_id) f using (flow_id)
    group by u.session_id order by u.session_id`,
  clients: `select client, ua as user_agent, regexp_extract(ua, '/([0-9]+(\\.[0-9A-Za-z-]+)+)', 1) as version, count(distinct flow_id) as flows,
      count(distinct session_id) as sessions, min(ts) as first_seen, max(ts) as last_seen
    from (select client, flow_id, session_id, ts, coalesce(request_headers->>'$."user-agent"', request_headers->>'$."User-Agent"', '(none)') as ua from flows)
    group by all order by flows desc, client, user_agent`,
  latency: `select f.client, f.model, count(*) as flows, count(e.ttfb_ms) as with_ttfb,
      round(quantile_cont(e.ttfb_ms, 0.5), 1) as ttfb_p50, round(quantile_cont(e.ttfb_ms, 0.9), 1) as ttfb_p90, round(quantile_cont(e.ttfb_ms, 0.99), 1) as ttfb_p99, max(e.ttfb_ms) as ttfb_max,
      round(quantile_cont(e.duration_ms, 0.5), 1) as duration_p50, round(quantile_cont(e.duration_ms, 0.9), 1) as duration_p90, round(quantile_cont(e.duration_ms, 0.99), 1) as duration_p99, max(e.duration_ms) as duration_max
    from (select flow_id, any_value(ttfb_ms) as ttfb_ms, any_value(duration_ms) as duration_ms from ends group by flow_id) e
    left join (select flow_id, any_value(client) as client, any_value(request_body->>'$.model') as model from flows group by flow_id) f using (flow_id)
    group by all order by flows desc, client, model`,
  subagent_headers: `select ts, session_id, flow_id, request_headers->>'$."x-openai-subagent"' as subagent from flows
    where (request_headers->>'$."x-openai-subagent"') is not null order by ts, flow_id`,
}
