/** Every extraction mode, in the order `--extract all` runs them. */
export const MODE_NAMES = [
  'user_prompts',
  'assistant_text',
  'reasoning',
  'tool_calls',
  'tool_results',
  'shell_commands',
  'file_edits',
  'files_read',
  'web_access',
  'mcp_calls',
  'subagents',
  'config',
  'system_prompts',
  'tool_definitions',
  'models',
  'usage',
  'cost',
  'sessions',
  'turns',
  'flows',
  'errors',
  'stop_reasons',
  'rate_limits',
  'cache',
  'clients',
  'latency',
  'call_validation',
] as const

/** Name of one extraction mode. */
export type ModeName = (typeof MODE_NAMES)[number]

/** One output row: column name → JSON-compatible value (string, number, boolean, null). */
export type Row = Record<string, string | number | boolean | null>

/**
 * Which engine answers a mode.
 * - `duckdb`: DuckDB `read_ndjson` over the full capture files.
 * - `rg`: ripgrep keeps only the lines that can matter for the mode, then the same DuckDB query
 *   runs over the prefiltered lines (same rows, less to parse).
 * - `reverse`: reads the flows file backwards (jsonl-io `readLast`); cost ∝ N, not the log size.
 *   Only for "latest N" questions (`user_prompts` with a limit).
 * - `auto`: picks per mode: reverse for latest-N prompts; rg for the selective modes on large
 *   captures when `rg` is on PATH; else duckdb.
 */
export type EngineName = 'auto' | 'duckdb' | 'rg' | 'reverse'

/** Row filters. Applied per flow: a flow is in when its `flow` record matches. */
export interface ExtractFilters {
  /** Flows that started at or after this instant (ISO-8601 or anything `Date.parse` reads). */
  since?: string
  /** Flows that started strictly before this instant. */
  until?: string
  /** Only this session id. */
  session?: string
  /** Only this client (`claude-code`, `codex`, `unknown`). */
  client?: string
}

/** A price per million tokens (USD) for one model family. */
export interface ModelPrice {
  input: number
  output: number
  cache_read: number
  cache_write: number
}

/** A versioned price table. `models` keys are model id prefixes; the longest matching prefix wins. */
export interface PriceTable {
  version: string
  currency: 'USD'
  models: Record<string, ModelPrice>
}

/** Counts of lines a scan could not use, per capture file. */
export interface ScanStats {
  /** Lines that were not valid JSON records (skipped, counted). */
  malformed: Record<string, number>
}

/** What one mode returned. */
export interface ModeResult {
  mode: ModeName
  /** The engine that answered (`node`: a Node pass, used by `call_validation`). */
  engine: Exclude<EngineName, 'auto'> | 'node'
  rows: Row[]
  /** Column order for tables / CSV. */
  columns: string[]
  /** Things the user should know (malformed lines skipped, pending modes, …). */
  warnings: string[]
}

/** Options of {@link createExtractor}. */
export interface ExtractorOptions {
  /**
   * The log root (`~/centralized-logs`) or a capture dir that directly holds `sse_flows.jsonl`,
   * `sse_lines.jsonl` and `sse_flow_ends.jsonl`.
   */
  logDir: string
  /** @defaultValue `'auto'` */
  engine?: EngineName
  /** Price table for `cost` / `sessions`. @defaultValue the bundled table */
  prices?: PriceTable
  /**
   * Largest JSON line accepted. Scans start with DuckDB's 16 MiB limit (bigger buffers slow
   * every scan) and rerun with a larger one when a longer line is met, up to this cap.
   * @defaultValue 1 GiB
   */
  maxObjectBytes?: number
  /** DuckDB worker threads. @defaultValue DuckDB's default (all cores) */
  threads?: number
  /**
   * `auto` uses the rg prefilter for selective modes (usage, cost, sessions, flows, errors,
   * stop_reasons, cache) once the SSE lines reach this size and `rg` is on PATH. @defaultValue 64 MiB
   */
  rgAutoBytes?: number
  /** Directory for rg-prefiltered temp files. @defaultValue `os.tmpdir()` */
  tmpDir?: string
}

/** Options of one {@link Extractor.run} call. */
export interface RunOptions extends ExtractFilters {
  /** Only the latest N rows (by time). For `user_prompts` this enables the reverse-scan engine. */
  limit?: number
  /** Mode variant: `turns` accepts `paired` (prompt ↔ final answer only). */
  mode?: string
  /** Overrides the extractor's engine for this call. */
  engine?: EngineName
}
