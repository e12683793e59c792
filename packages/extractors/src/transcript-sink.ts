/**
 * The rows of transcript calls, written on the thread that read them: `@agenttap/transcripts`
 * calls `sinkImport` on each of its worker threads (see `ImportSink`), so turning 48k calls
 * into NDJSON rows is split over the cores and the calls never cross to the main thread. Built
 * as its own entry (dist/transcript-sink.js) for the workers to import.
 */
import type { ImportResult } from '@agenttap/transcripts'
import { createRowFiles } from './row-files.js'
import { callRows } from './rows.js'
import type { IndexRow } from './rows.js'
import { columnList } from './schema.js'
import type { DataTable } from './schema.js'

/** Options of {@link sinkImport}. */
export interface TranscriptSinkOptions {
  /** Where the row files go (a private stage directory). */
  dir: string
}

/** The row files one part was written to, by table, and how many calls they hold. */
export interface TranscriptPart {
  files: Partial<Record<DataTable, string>>
  calls: number
  /** The call keys (to tell whether two parts hold pieces of one call). */
  keys: string[]
}

let seq = 0

/** Writes the calls of one part as `flows`, `calls` and `tool_calls` row files; returns them. */
export function sinkImport(r: Pick<ImportResult, 'calls'>, options: TranscriptSinkOptions): TranscriptPart {
  if (r.calls.length === 0) return { files: {}, calls: 0, keys: [] }
  // The thread id read here, not imported: this module is also part of the main bundle, whose
  // start-up should not load worker_threads.
  const { threadId } = process.getBuiltinModule('node:worker_threads')
  const rows = createRowFiles(options.dir, `part-${process.pid}-${threadId}-${seq++}`)
  const keys: string[] = []
  // No flow rows: a transcript call's flow is derived from its row in SQL (FLOW_OF_CALL).
  for (const c of r.calls) {
    keys.push(c.key)
    const cr = callRows(c, false)
    rows.write('calls', dropNulls(cr.calls))
    for (const t of cr.tool_calls) rows.write('tool_calls', dropNulls(t))
  }
  return { files: rows.close(), calls: r.calls.length, keys }
}

/** A row without its null columns (read_ndjson fills them in): less JSON to write and to parse. */
function dropNulls(row: IndexRow): IndexRow {
  for (const k in row) if (row[k] === null) delete row[k]
  return row
}

/**
 * The flow rows of transcript calls, from the calls table: a transcript call is its own flow
 * (one flow per call, the call's own facts), so its row needs no file of its own.
 */
export function flowOfCallSql(where: string): string {
  return `insert into flows (${columnList('flows')}) select flow_id, session_id, session_source, agent, client, provider, kind,
      null, null, null, null, null, outcome, started_at, ended_at, null, duration_ms, null, null, null, 1, false from calls where ${where}`
}
