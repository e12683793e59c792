import type { TranscriptDirs } from '@agenttap/transcripts'
import type { PriceTable } from '@agenttap/ledger'
import type { RecordSource } from './source-update.js'

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
  'cache_ratio',
  'context',
  'quota',
  'clients',
  'latency',
  'call_validation',
  'daily',
  'compactions',
  'reconcile',
] as const

/** Name of one extraction mode. */
export type ModeName = (typeof MODE_NAMES)[number]

/** One output row: column name → JSON-compatible value (string, number, boolean, null). */
export type Row = Record<string, string | number | boolean | null>

/**
 * Which engine answers a mode.
 * - `index`: SQL over the ledger tables of the incremental index (brought up to date first).
 * - `reverse`: reads the flows file backwards (jsonl-io `readLast`); cost ∝ N, not the log size.
 *   Only for "latest N" questions (`user_prompts` with a limit).
 * - `auto`: reverse for latest-N prompts, index for everything else.
 */
export type EngineName = 'auto' | 'index' | 'reverse'

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

/** Prices (USD per million tokens) and the versioned table: `@agenttap/ledger`'s pricing. */
export type { ModelPrice, PriceTable } from '@agenttap/ledger'

/** What one mode returned. */
export interface ModeResult {
  mode: ModeName
  /** The engine that answered. */
  engine: Exclude<EngineName, 'auto'>
  rows: Row[]
  /** Column order for tables / CSV. */
  columns: string[]
  /** Things the user should know (pending modes, …). */
  warnings: string[]
  /**
   * With `RunOptions.ndjson`: the rows as NDJSON lines straight from DuckDB (`rows` is then
   * empty; absent for modes computed in TypeScript, which fill `rows`).
   */
  ndjson?: string[]
  /**
   * With `RunOptions.ndjsonBytes`: the NDJSON as bytes (`chunks`, each ending at a line end) and
   * how many `rows` they hold, from modes that write it straight from their columns (the usage
   * summary's `usage` / `cost`); `rows` is then empty. Other modes answer as without the option.
   */
  ndjsonBytes?: { rows: number; chunks: Uint8Array[] }
  /** With `RunOptions.ndjsonTo`: how many rows were written there (`rows` is then empty). */
  written?: number
}

/** Options of {@link createExtractor}. */
export interface ExtractorOptions {
  /**
   * The log root (`~/centralized-logs`) or a capture dir that directly holds `sse_flows.jsonl`,
   * `sse_lines.jsonl` and `sse_flow_ends.jsonl`. Not read when `source` is given.
   */
  logDir: string
  /**
   * Records from another source (the Redis stream) instead of capture files. The index then
   * lives in `indexDir` (in memory without one) and keeps the position of the last entry read.
   */
  source?: RecordSource
  /**
   * Also index agent transcripts (Claude Code `projects` dirs, Codex `sessions` dirs) through
   * `@agenttap/transcripts`: their calls join the wire's in every mode (`source`
   * `claude-transcript` / `codex-rollout`). With capture files too, the index is
   * `<capture dir>/.index-all/`; without (`wire: false`), it is `indexDir` (in memory without one).
   */
  transcripts?: TranscriptDirs
  /** Read the capture files (false: transcripts only). @defaultValue true */
  wire?: boolean
  /** Where the index of a `source` (or of transcripts only) is kept. @defaultValue in memory */
  indexDir?: string
  /** @defaultValue `'auto'` */
  engine?: EngineName
  /** Price table for `cost` / `sessions`. @defaultValue the bundled table */
  prices?: PriceTable
  /**
   * Keep the index in `<capture dir>/.index/` (updated incrementally). false: build it in
   * memory for this run only. When the capture dir is not writable the index is in memory.
   * @defaultValue true
   */
  index?: boolean
  /** Empty the on-disk index and build it again from the capture. @defaultValue false */
  rebuildIndex?: boolean
  /** Include auxiliary (non-model) flows and calls in every mode. @defaultValue false */
  includeAux?: boolean
  /** Threads for the index update (worker shards) and DuckDB. @defaultValue all cores (shards: at most 4) */
  threads?: number
  /** Module exporting `createLedger` and `LEDGER_VERSION`. @defaultValue `'@agenttap/ledger'` */
  ledgerModule?: string
  /** Waiting for another run's lock on the index gives up after this long. @defaultValue 120 s */
  lockTimeoutMs?: number
  /** Told once when this run waits for another run's lock. */
  onWait?: (message: string) => void
  /**
   * Told how an index update goes: while it reads (the capture files every few thousand records,
   * transcripts file by file; on this thread: a large update keeps this thread busy, so a
   * progress display must draw from here, not from a timer), then once as it commits (not the
   * transcripts' usage summary, which has no commit to speak of). Not called for an index that
   * is current, nor for a `source`. With transcripts and capture files, the capture's update
   * reports first, then the transcripts' (each its own `total`).
   */
  onProgress?: (progress: IndexProgress) => void
  /** Wall clock for pending-flow decisions (tests). @defaultValue Date.now() */
  now?: number
  /** A flow_end waits this long for lines it announced. @defaultValue 60 s */
  holdEndMs?: number
  /** An open flow with no new record for this long is ended as truncated. @defaultValue 1 h */
  staleMs?: number
  /** Lines longer than this are skipped (and reported). @defaultValue 256 MiB */
  maxLineBytes?: number
  /** Below this many new bytes an update runs without worker threads. @defaultValue 16 MiB */
  workerMinBytes?: number
  /** Directory for temporary files (row files of an in-memory index). @defaultValue `os.tmpdir()` */
  tmpDir?: string
  /**
   * After a run that updated a capture's index, when its deferred appends (read without DuckDB)
   * or its wire facts' segments have passed half their caps, start a detached process that
   * commits them to DuckDB and compacts the facts (`compactIndex`), as `git gc --auto` does:
   * no later run pays that in the foreground. One at a time (a marker file in the index dir).
   * @defaultValue false (the agenttap-analyze CLI sets it)
   */
  maintainInBackground?: boolean
  /**
   * Open the index for writing even when it is current (the deferred appends committed) and write
   * its wire facts whole from their own segments: what the background maintenance does. The facts
   * are written in `close()`, after the index is released (so a run that comes meanwhile waits for
   * the commit only), and put in place under the index's lock, after the segments runs appended
   * in between; `close()` waits 10 s at most for that lock (a later maintenance compacts them).
   * @defaultValue false
   */
  compactIndex?: boolean
}

/** How an index update goes (`ExtractorOptions.onProgress`). */
export interface IndexProgress {
  /** `read`: the new bytes are read and fed to the ledger; `commit`: the rows go into DuckDB. */
  phase: 'read' | 'commit'
  /** What is read: the capture files, or agent transcripts (`--source transcripts` / `all`). */
  of: 'capture' | 'transcripts'
  /** New bytes read so far (all of them once committing). */
  bytes: number
  /** New bytes this update reads. */
  total: number
  /** Milliseconds since the update started. */
  ms: number
}

/** Options of one {@link Extractor.run} call. */
export interface RunOptions extends ExtractFilters {
  /** Only the latest N rows (by time). For `user_prompts` this enables the reverse-scan engine. */
  limit?: number
  /** Mode variant: `turns` accepts `paired` (prompt ↔ final answer only). */
  mode?: string
  /** Overrides the extractor's engine for this call. */
  engine?: EngineName
  /**
   * The caller only writes NDJSON: SQL modes return `ndjson` lines as DuckDB encodes them (numbers
   * may read `300.0` where JavaScript writes `300`) and skip building row objects.
   */
  ndjson?: boolean
  /**
   * Write the rows as NDJSON to this file instead of returning them (`written` says how many).
   * SQL modes are written by DuckDB directly (numbers may read `300.0`, control characters
   * `\u001B`); a new file is private (0600). A device under `/dev/` that another process is
   * writing at the same moment (DuckDB cannot lock it) gets nothing: the lines come back in
   * `ndjson` instead, for the caller to write.
   */
  ndjsonTo?: string
  /** With `ndjson`: the caller also takes the NDJSON as bytes (`ModeResult.ndjsonBytes`). */
  ndjsonBytes?: boolean
}
