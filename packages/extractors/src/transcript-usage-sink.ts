/**
 * The usage summary's sink (see `ImportSink` of `@agenttap/transcripts`): on each worker thread
 * of a usage-only import, the calls it read become columns (transcript-usage-cols.ts), so 48k
 * call objects never cross to the main thread. Built as its own entry
 * (dist/transcript-usage-sink.js) for the workers to import.
 */
import type { ImportResult } from '@agenttap/transcripts'
import type { ModelCall } from '@agenttap/ledger'
import { encodeCalls, encodeRows, inUsageOrder } from './transcript-usage-cols.js'
import type { UsageCall, UsageColumns } from './transcript-usage-cols.js'

/** A call as the summary keeps it: the facts the index's `calls` row has for the usage answers. */
export function usageCall(c: ModelCall): UsageCall {
  const u = c.usage
  return {
    key: c.key,
    ts: c.started_at,
    session_id: c.session_id,
    agent: c.agent ?? null,
    source: c.source,
    client: c.client,
    // The index's `coalesce(model, req_model)`.
    model: c.model ?? c.request?.model ?? null,
    has_usage: u !== undefined,
    input: u?.input ?? 0,
    cache_read: u?.cache_read ?? 0,
    cache_write_5m: u?.cache_write_5m ?? 0,
    cache_write_1h: u?.cache_write_1h ?? 0,
    output: u?.output ?? 0,
    reasoning: u?.reasoning ?? null,
    stop_reason: c.stop_reason ?? null,
  }
}

/**
 * The calls of one part as columns (from the importer's rows when it gave them: no call
 * objects), in the order of `usage` (sorted here, on the thread that read them).
 */
export function sinkImport(r: Pick<ImportResult, 'calls' | 'rows'>): UsageColumns {
  return r.rows !== undefined ? encodeRows(r.rows) : inUsageOrder([encodeCalls(r.calls.map(usageCall))])
}
