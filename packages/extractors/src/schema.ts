import { fileLit, ident, lit } from './duck.js'

/**
 * The index's tables: the ledger's facts, flattened. One definition per table (column → DuckDB
 * type) serves the DDL and the `read_ndjson` column spec the row files are loaded with, so the
 * two cannot drift. Documented in the package README ("Index") and docs/FORMAT.md.
 */

/**
 * Version of the index layout. A different version (or a different `ledger_version`) makes the
 * next run rebuild the index from the capture.
 */
export const INDEX_VERSION = 2

/** Column name → DuckDB type. */
export type TableSpec = Record<string, string>

/** One row per flow (FlowFacts). */
export const FLOWS: TableSpec = {
  flow_id: 'VARCHAR',
  session_id: 'VARCHAR',
  session_source: 'VARCHAR',
  agent: 'VARCHAR',
  client: 'VARCHAR',
  provider: 'VARCHAR',
  kind: 'VARCHAR',
  method: 'VARCHAR',
  url: 'VARCHAR',
  host: 'VARCHAR',
  path: 'VARCHAR',
  http_status: 'INTEGER',
  outcome: 'VARCHAR',
  started_at: 'VARCHAR',
  ended_at: 'VARCHAR',
  ttfb_ms: 'DOUBLE',
  duration_ms: 'DOUBLE',
  events: 'BIGINT',
  bytes: 'BIGINT',
  user_agent: 'VARCHAR',
  calls: 'INTEGER',
  /** The flow had not ended when the index was last updated (its rows are replaced when it does). */
  pending: 'BOOLEAN',
}

/** One row per model call (ModelCall without its lists, which have their own tables). */
export const CALLS: TableSpec = {
  key: 'VARCHAR',
  flow_id: 'VARCHAR',
  idx: 'INTEGER',
  source: 'VARCHAR',
  response_id: 'VARCHAR',
  request_id: 'VARCHAR',
  session_id: 'VARCHAR',
  session_source: 'VARCHAR',
  agent: 'VARCHAR',
  client: 'VARCHAR',
  provider: 'VARCHAR',
  api: 'VARCHAR',
  transport: 'VARCHAR',
  kind: 'VARCHAR',
  model: 'VARCHAR',
  started_at: 'VARCHAR',
  first_token_at: 'VARCHAR',
  ended_at: 'VARCHAR',
  ttft_ms: 'DOUBLE',
  duration_ms: 'DOUBLE',
  outcome: 'VARCHAR',
  stop_reason: 'VARCHAR',
  http_status: 'INTEGER',
  error_type: 'VARCHAR',
  error_code: 'VARCHAR',
  error_message: 'VARCHAR',
  /** false when the response carried no usage (the token columns are then 0). */
  has_usage: 'BOOLEAN',
  input_tokens: 'BIGINT',
  cache_read_tokens: 'BIGINT',
  cache_write_5m_tokens: 'BIGINT',
  cache_write_1h_tokens: 'BIGINT',
  output_tokens: 'BIGINT',
  reasoning_tokens: 'BIGINT',
  prompt: 'VARCHAR',
  text: 'VARCHAR',
  reasoning: 'VARCHAR',
  req_model: 'VARCHAR',
  max_tokens: 'BIGINT',
  temperature: 'DOUBLE',
  reasoning_effort: 'VARCHAR',
  stream: 'BOOLEAN',
  /** JSON array of the offered tool names, in order. */
  tool_names: 'VARCHAR',
  message_count: 'INTEGER',
  system_hash: 'VARCHAR',
  tools_hash: 'VARCHAR',
  history_hash: 'VARCHAR',
  prompt_cache_key: 'VARCHAR',
  user_agent: 'VARCHAR',
  /** JSON object: rate-limit header (lower-cased) → value. */
  rate_limits: 'VARCHAR',
  /**
   * The request's cache segments (ledger `request.segments`), JSON array of
   * `[kind, index, label, hash, bytes, breakpoint, flags]` (flags: t thinking, r reminder, s summary;
   * loose hash after a `~`), read back by the `cache` mode.
   */
  segments: 'VARCHAR',
  /** The request carries a compaction summary (a segment flagged `summary`). */
  has_summary: 'BOOLEAN',
  tool_call_count: 'INTEGER',
  pending: 'BOOLEAN',
}

/** One row per tool call a response made. */
export const TOOL_CALLS: TableSpec = {
  call_key: 'VARCHAR',
  flow_id: 'VARCHAR',
  idx: 'INTEGER',
  position: 'INTEGER',
  call_id: 'VARCHAR',
  name: 'VARCHAR',
  kind: 'VARCHAR',
  arguments: 'VARCHAR',
  complete: 'BOOLEAN',
  parse_error: 'VARCHAR',
  command: 'VARCHAR',
  workdir: 'VARCHAR',
  server: 'VARCHAR',
}

/** One row per tool result a request carried. */
export const TOOL_RESULTS: TableSpec = {
  call_key: 'VARCHAR',
  flow_id: 'VARCHAR',
  idx: 'INTEGER',
  position: 'INTEGER',
  call_id: 'VARCHAR',
  name: 'VARCHAR',
  output: 'VARCHAR',
  is_error: 'BOOLEAN',
  exit_code: 'INTEGER',
}

/** Request content by hash (LedgerContent): system prompts, tool definitions, tool sets. */
export const CONTENTS: TableSpec = {
  hash: 'VARCHAR',
  kind: 'VARCHAR',
  name: 'VARCHAR',
  tool_kind: 'VARCHAR',
  description: 'VARCHAR',
  schema: 'VARCHAR',
  text: 'VARCHAR',
  /** For `tools`: JSON array of the tool hashes, in order. */
  tool_hashes: 'VARCHAR',
}

/** Input the index could not use, with where it was. */
export const PROBLEMS: TableSpec = {
  code: 'VARCHAR',
  file: 'VARCHAR',
  line: 'BIGINT',
  offset: 'BIGINT',
  flow_id: 'VARCHAR',
  seq: 'BIGINT',
  message: 'VARCHAR',
}

/** Context compactions the transcripts recorded (CompactionEvent). */
export const COMPACTIONS: TableSpec = {
  key: 'VARCHAR',
  source: 'VARCHAR',
  session_id: 'VARCHAR',
  agent: 'VARCHAR',
  at: 'VARCHAR',
  trigger: 'VARCHAR',
  pre_tokens: 'BIGINT',
  post_tokens: 'BIGINT',
}

/** What the transcript importer skipped so it would not count it twice, per session (`reemit`, `replayed`, `block_line`). */
export const TRANSCRIPT_TRAPS: TableSpec = {
  session_id: 'VARCHAR',
  trap: 'VARCHAR',
  n: 'BIGINT',
}

/** Tables filled from row files, by row-file name. */
export const DATA_TABLES = { flows: FLOWS, calls: CALLS, tool_calls: TOOL_CALLS, tool_results: TOOL_RESULTS, contents: CONTENTS, problems: PROBLEMS, compactions: COMPACTIONS, transcript_traps: TRANSCRIPT_TRAPS } as const

/** Name of a data table. */
export type DataTable = keyof typeof DATA_TABLES

/** Bookkeeping tables (not from the ledger). */
const STATE_DDL = [
  // key/value facts about the index: index_version, ledger_version, capture dir, redis cursor.
  `create table if not exists meta (key varchar, value varchar)`,
  // How far each capture file was read: identity (dev, ino, a hash of its first bytes), the byte
  // offset of the first unread line and the number of lines before it.
  `create table if not exists sources (kind varchar, path varchar, dev varchar, ino varchar, head varchar, head_len bigint, "offset" bigint, lines bigint)`,
  // Records of flows that had not ended: fed again, before anything new, on the next update.
  `create table if not exists pending_records (flow_id varchar, ord bigint, file varchar, line bigint, "offset" bigint, record varchar)`,
  // When each pending flow last got a record (wall clock ms), to end flows that never will, and
  // since when its flow_end waits for lines it announced but that were not there yet.
  `create table if not exists pending_flows (flow_id varchar, last_seen_ms bigint, held_since_ms bigint)`,
  // How far each transcript file was read (Claude Code, Codex): identity, offset, line count, and
  // the Codex reader's state at that offset (JSON), for the next import to go on from.
  `create table if not exists transcript_sources (kind varchar, path varchar, dev varchar, ino varchar, head varchar, head_len bigint, "offset" bigint, line bigint, state varchar)`,
  // The ledger's session chain (histories of flows without a session id of their own → their
  // session), least recently used first: the next update's chain starts from it, so a request
  // appended later joins a conversation indexed earlier.
  `create table if not exists session_chain (ord bigint, key varchar, session_id varchar, response boolean, failed boolean)`,
]

/** DDL of every table. */
export function schemaSql(): string[] {
  const data = Object.entries(DATA_TABLES).map(([t, spec]) => `create table if not exists ${t} (${Object.entries(spec).map(([c, ty]) => `${ident(c)} ${ty}`).join(', ')})`)
  return [...STATE_DDL, ...data]
}

/** `read_ndjson` over row files with the table's explicit columns (no type sniffing). */
export function readRowsSql(table: DataTable, files: string[], largestRow?: number): string {
  const spec = Object.entries(DATA_TABLES[table]).map(([c, t]) => `${lit(c)}: ${lit(t)}`).join(', ')
  return `read_ndjson([${files.map(fileLit).join(', ')}], columns = {${spec}}, format = 'newline_delimited', maximum_object_size = ${maxObjectSize(largestRow)})`
}

/** DuckDB's largest JSON object (its cap; any larger is an error). */
const MAX_OBJECT = 1073741823
/** The object size asked for when the rows are known to be small. */
const SMALL_OBJECT = 16 * 1024 * 1024

/**
 * `maximum_object_size` for row files whose largest row is known: DuckDB's JSON reader sizes its
 * buffers from it (twice the size per buffer, and a buffer is parsed by one thread), so the 1 GiB
 * a row could need made it read each file as one buffer: about a third more CPU to load the rows
 * of a 1 GiB capture than with 16 MiB (and one thread per file). Rows known to be small get 16
 * MiB; larger ones twice their size; unknown ones the cap.
 */
export function maxObjectSize(largestRow: number | undefined): number {
  if (largestRow === undefined) return MAX_OBJECT
  return Math.min(MAX_OBJECT, Math.max(SMALL_OBJECT, 2 * largestRow + 1024))
}

/** Column list of a table, quoted, in order. */
export function columnList(table: DataTable): string {
  return Object.keys(DATA_TABLES[table]).map(ident).join(', ')
}
