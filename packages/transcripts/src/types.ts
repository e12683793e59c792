import type { CompactionEvent, ModelCall } from '@agenttap/ledger'
import type { UsageCalls } from './call-merge.js'
import type { TranscriptErrorCode } from './errors.js'

/**
 * Types of `@agenttap/transcripts`: the files it reads, how far it read each one, and what it
 * made of them. Everything here is plain data (it crosses worker threads and is kept by an
 * index between runs).
 */

/** Which agent wrote a file. */
export type TranscriptKind = 'claude' | 'codex'

/** A transcript file found on disk. */
export interface TranscriptFile {
  kind: TranscriptKind
  path: string
  /** Size when it was listed (bytes). */
  size: number
  /** Claude: the subagent id of `<session>/subagents/agent-<id>.jsonl`. */
  agent?: string
  /** Claude: the parent session of a subagent file (its directory name). */
  parent_session?: string
}

/** What a Codex rollout reader remembers between two reads of the same (append-only) file. */
export interface CodexFileState {
  session_id?: string | undefined
  /** Subagent role (`source.subagent.thread_spawn.agent_role`), `subagent`, or `fork` for a forked thread. */
  agent?: string | undefined
  /** The thread was forked / spawned from another: its first lines replay the parent's history. */
  forked?: boolean | undefined
  /** When the fork happened (the child's session_meta, ms since the epoch). */
  fork_at_ms?: number | undefined
  /** Still inside the replayed part. */
  replay?: boolean | undefined
  model?: string | undefined
  effort?: string | undefined
  /** The last cumulative `total_token_usage` seen (replayed ones included: deltas are taken against it). */
  last?: RawCodexUsage | undefined
  /** How many times the cumulative totals went backwards (a new counter): part of the call keys. */
  resets?: number | undefined
  /** Prompt size of the last response (`last_token_usage.input_tokens`): a compaction's `pre_tokens`. */
  last_prompt?: number | undefined
  /** A `compacted` item was seen since the last usage: the `context_compacted` event that follows is the same compaction. */
  compacted_since_usage?: boolean | undefined
  /** Tool calls seen since the last usage, attached to the next call. */
  pending_tools?: { call_id: string; name: string; kind: 'function' | 'custom' | 'local_shell'; arguments: string }[] | undefined
  /** Rate limits seen in a `token_count` without usage, attached to the next call. */
  pending_limits?: Record<string, string> | undefined
  /** The user's prompt (`event_msg` `user_message`, redacted) not yet attached to a call: the next call's `prompt`. */
  pending_prompt?: string | undefined
}

/** A Claude Code file's reader state between reads. */
export interface ClaudeFileState {
  /** The user's prompt (redacted) not yet attached to a call: the next call's `prompt`. */
  pending_prompt?: string | undefined
}

/** One Codex usage counter set (`total_token_usage` / `last_token_usage`). */
export interface RawCodexUsage {
  input_tokens: number
  cached_input_tokens: number
  output_tokens: number
  reasoning_output_tokens: number
  total_tokens: number
}

/** How far a file was read: whole lines up to `offset`, `line` lines. */
export interface FileCursor {
  file: TranscriptFile
  offset: number
  line: number
  /** Codex: the reader's state at `offset`. */
  codex?: CodexFileState
  /** Claude: the reader's state at `offset` (a prompt read, its call not yet). */
  claude?: ClaudeFileState
  /**
   * A read from the start with `heads` (ImportFilesOptions): the hash ({@link bytesHash}) of the
   * file's first `len` bytes as read (`len`: the option's count, or `offset` when smaller).
   */
  head?: { len: number; hash: string }
}

/** Input skipped, with where it was (plain data; see {@link TranscriptError} for the class). */
export interface TranscriptProblem {
  code: TranscriptErrorCode
  file: string
  line: number | null
  offset: number | null
  message: string
}

/** Counts of what the traps would have counted wrong, per import (for reconcile and the README's table). */
export interface TrapCounts {
  /** Claude lines that repeated a call already seen (one line per content block, same `message.id` + `requestId`). */
  claude_block_lines: number
  /** Claude calls whose first line carried a smaller `output_tokens` than the final one. */
  claude_partial_output: number
  /** Claude calls read from `<session>/subagents/agent-*.jsonl`. */
  claude_subagent_calls: number
  /** Claude calls with 1-hour cache writes. */
  claude_cache_1h_calls: number
  /** Codex `token_count` events whose cumulative totals did not move (re-emits). */
  codex_reemits: number
  /** Codex `token_count` events inside a fork's or subagent's replay of its parent's history. */
  codex_replayed: number
}

/** What one import read. */
export interface ImportResult {
  calls: ModelCall[]
  compactions: CompactionEvent[]
  problems: TranscriptProblem[]
  /** Where each file was read to (pass them back for the next, incremental, import). */
  cursors: FileCursor[]
  traps: TrapCounts
  /** The skipped entries per session: `block_line` (Claude), `reemit`, `replayed` (Codex). */
  session_traps: { session_id: string; trap: 'block_line' | 'reemit' | 'replayed'; n: number }[]
  /** Bytes read. */
  bytes: number
  /** Lines seen / lines parsed as JSON (the rest could not carry usage and were skipped unparsed). */
  lines: number
  parsed: number
  /**
   * With a {@link ImportSink}: what the sink returned for each part (one per worker thread, in no
   * particular order); `calls` is then empty — the sink had them.
   */
  sunk?: unknown[]
  /**
   * The calls of a usage-only read given to a sink that takes rows ({@link ImportSink.rows}),
   * as columns: `rows.facts()` hands out each call's usage facts. Never crosses threads (the
   * sink turns it into its answer where it was read).
   */
  rows?: UsageCalls
}

/**
 * Where the calls of an import go instead of back to the caller: a module (URL or specifier) whose
 * `sinkImport(result, options)` is called on the thread that read them (each worker for its part),
 * e.g. to write them as rows for a bulk load. Its return value (plain data) comes back in
 * {@link ImportResult.sunk}. Calls of one key read by two threads come back in two parts: the
 * sink's consumer merges them (by {@link mergeCall}'s rule).
 */
export interface ImportSink {
  module: string
  /** Handed to `sinkImport` as its second argument (plain data: it crosses threads). */
  options?: unknown
  /**
   * The sink takes a usage-only read's calls as rows: its `sinkImport` gets them in
   * {@link ImportResult.rows} (and `calls` empty), with no call object built for each.
   */
  rows?: boolean
}

