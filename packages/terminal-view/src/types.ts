import type { Writable } from 'node:stream'
import type { Alert } from '@agenttap/cache-insights'
import type { LiveViewStats } from '@agenttap/flow-fsm'
import type { JsonlError } from '@agenttap/jsonl-io'
import type { TerminalWriterStats } from './terminal-writer.js'

/** Display and filter options shared by every entry point. */
export interface TerminalViewOptions {
  /** Where the view goes (usually `process.stdout`). */
  output: Writable
  /** Warnings in `json` mode (stdout holds only NDJSON there). @defaultValue process.stderr */
  errorOutput?: Writable
  /** Environment for `NO_COLOR`. @defaultValue process.env */
  env?: NodeJS.ProcessEnv
  /** Colours. @defaultValue output is a TTY and `NO_COLOR` is unset or empty */
  color?: boolean
  /** Terminal control (row erase for the backtrack). @defaultValue output is a TTY */
  ansi?: boolean
  /** Print unified events as NDJSON (one object per line, with `session_id` and `client`) instead of the view. */
  json?: boolean
  /** Prefix lines with the record time. */
  showTime?: boolean
  /** Show flow ids (header and a short prefix on every line). */
  showFlowId?: boolean
  /** Only tool calls (name + arguments). */
  functionOnly?: boolean
  /** The card on screen keeps it until silent this long. @defaultValue 2000 */
  sessionGuardMs?: number
  /** Shell-detection window in argument deltas (min 8). @defaultValue 8 */
  argsSubDeltas?: number
  /** Only sessions whose id starts with one of these. */
  sessions?: readonly string[]
  /** Only these clients (`claude-code`, `codex`, `unknown`). */
  clients?: readonly string[]
  /** Wait this long after a stream's last event for its flow_end record. @defaultValue 1000 */
  flowEndGraceMs?: number
  /** A silent streaming flow is shown as dead after this long. @defaultValue 120000 */
  idleMs?: number
  /** Timer period for idle checks and the session guard. @defaultValue 250 */
  tickMs?: number
  /**
   * Live mode: when the terminal falls behind, coalesce and past `maxPendingChars` skip the
   * oldest output rather than slow the input down. Off: wait for the terminal (nothing is
   * skipped; right for replays and files). @defaultValue true
   */
  keepUp?: boolean
  /** @defaultValue 1048576 */
  maxPendingChars?: number
  /** Clock. @defaultValue Date.now */
  now?: () => number
  /**
   * Diagnostics that do not belong on the view: malformed stream data inside records
   * (NormalizerError), lifecycle defects (FlowFsmError), and a failure of the view itself on one
   * input (TerminalViewError `VIEW_FAILED`). The monitor CLI logs them with pino on `--verbose`.
   */
  onDiagnostic?(e: Error): void
  /** Stops the view; it then shows what is buffered and resolves. */
  signal?: AbortSignal
  /**
   * Live alerts (cache break with cause and cost, context ≥ 80 %, quota ≥ 80 %, model switch): one
   * line each under the end line of the call that raised it. @defaultValue false
   */
  alerts?: boolean
  /** Receives each alert once (e.g. {@link createAlertCommand}); turns alerts on. */
  onAlert?(alert: Alert): void
}

/** Counters of a terminal view. */
export interface TerminalViewStats extends LiveViewStats {
  /** Lines skipped as malformed JSON or not canonical records. */
  warnings: number
  /** Inputs the view failed on (reported through `onDiagnostic`, then skipped). */
  failures: number
  writer: TerminalWriterStats
}

/** A terminal view you feed records. See {@link createTerminalView}. */
export interface TerminalView {
  /** One parsed value (a canonical record, validated here) and where it came from. */
  feed(value: unknown, where?: { line?: number; file?: string }): void
  /**
   * A reader's error (malformed line, truncation, rotation): shown once per line, dim. Readers
   * that report errors before the records preceding them are fed get their warnings held
   * until those records are shown; pass `ordered` when the error is already in its place.
   */
  warn(err: JsonlError | Error, opts?: { ordered?: boolean }): void
  /** An informational dim line (not a card), e.g. what is being watched. */
  note(text: string): void
  /** Applies the clock now (a timer also does, every `tickMs`). */
  tick(): void
  /** Resolves when the output has room (backpressure for lossless sources). */
  room(): Promise<void>
  /**
   * Ends the input: open flows end (shown as dead, input ended), buffered cards and the output
   * are flushed. With `stopped` (the viewer quit, the input did not end) open flows are left as
   * they are: only buffered output is shown.
   */
  end(opts?: { stopped?: boolean }): Promise<TerminalViewStats>
  readonly stats: TerminalViewStats
}

/** Options of {@link runTerminalView}. */
export interface RunTerminalViewOptions extends TerminalViewOptions {
  /**
   * What to read: parsed records (any async iterable, e.g. from a proxy in the same process;
   * an array yielded is taken as a batch of records or source items), a capture file or log
   * directory path, or `-` for stdin.
   */
  source: AsyncIterable<unknown> | string
  /** Follow a file as it grows. @defaultValue true for paths, false with `replay` */
  follow?: boolean
  /** Following: start at the beginning of the file instead of its end. */
  fromStart?: boolean
  /** Read `sse_flows.jsonl` / `sse_flow_ends.jsonl` beside an `sse_lines.jsonl`. @defaultValue true */
  siblings?: boolean
  /** Read a finished capture from the start, at its recorded pace (or `delayMs`), then stop. */
  replay?: boolean
  /** Replay: fixed delay per record in ms (0: as fast as possible). */
  delayMs?: number
  /** Replay at recorded pace: speed factor. @defaultValue 1 */
  speed?: number
  /** Replay at recorded pace: longest pause in ms. @defaultValue 2000 */
  maxGapMs?: number
  /** Poll interval of followed files. @defaultValue 250 */
  pollMs?: number
  /** Start with a dim line saying what is read (the CLI shows it on a terminal). */
  banner?: boolean
  /** Where `-` reads from. @defaultValue process.stdin */
  stdin?: AsyncIterable<Uint8Array | string>
}

/** Handle of an attached terminal view. */
export interface AttachedTerminalView {
  /** Resolves with the counters once the records end or `close()` was called. Never rejects. */
  readonly done: Promise<TerminalViewStats | undefined>
  /** Stops watching: records arriving within 250 ms and buffered output are still shown. */
  close(): void
}

