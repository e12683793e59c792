import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Duck } from './duck.js'
import { ExtractError } from './errors.js'
import { createFlowFeeder } from './flow-feeder.js'
import type { PendingFlow, Problem } from './flow-feeder.js'
import { commitUpdate, readMeta, readPending, readSessionChain } from './index-store.js'
import type { IndexUpdate } from './indexer.js'
import { createRowFiles } from './row-files.js'
import type { DataTable } from './schema.js'
import { loadLedger } from './shard-run.js'

/**
 * Index updates from a record source other than capture files: the Redis stream that proxies
 * on many machines write to. Entries come in stream order (the proxies' write order), so no
 * merge is needed; the position of the last entry read is kept in the index (`meta.cursor`)
 * and committed with the rows, so an update reads each entry once, and an entry delivered
 * again (at-least-once) is a duplicate the feeder drops (same flow_id + seq, or a flow the
 * index already holds complete).
 */

/** One entry of a source: a record, or why it is not one. */
export interface SourceEntry {
  /** The entry's position (a Redis stream id). */
  id: string
  record?: unknown
  error?: Error
}

/** Records from somewhere other than capture files, read from a position on. */
export interface RecordSource {
  /** Names the source in problems and in the index (e.g. `redis://127.0.0.1:6379 agenttap:events`). */
  name: string
  /** Entries after `cursor` (undefined: from the start) up to the end of what is there now. */
  read(cursor: string | undefined): AsyncIterable<SourceEntry>
}

/** Options of {@link updateFromSource}. */
export interface SourceUpdateOptions {
  source: RecordSource
  ledgerModule: string
  stageDir: string
  now?: number
  holdEndMs?: number
  staleMs?: number
  /** No later update will come (an in-memory index). */
  final?: boolean
}

/** Feeds the entries after the index's cursor, then commits rows, open flows and the new cursor. */
export async function updateFromSource(duck: Duck, options: SourceUpdateOptions): Promise<IndexUpdate> {
  const t0 = performance.now()
  const meta = await readMeta(duck)
  const pending = await readPending(duck)
  // The session chain continues the last update's (flows without a session id join earlier ones).
  const before = await readSessionChain(duck)
  const { createSessionChain } = await import('@agenttap/session-extractor')
  const chain = createSessionChain()
  chain.restore(before)
  const createLedger = await loadLedger(options.ledgerModule)
  const stage = mkdtempSync(join(options.stageDir, 'update-'))
  try {
    const rows = createRowFiles(stage, 'source')
    const onProblem = (p: Problem): void => rows.write('problems', { ...p })
    const feeder = createFlowFeeder({
      createLedger,
      sessionChain: chain,
      onRow: (t, r) => rows.write(t, r),
      onProblem,
      now: options.now ?? Date.now(),
      ...(options.holdEndMs !== undefined ? { holdEndMs: options.holdEndMs } : {}),
      ...(options.staleMs !== undefined ? { staleMs: options.staleMs } : {}),
      ...(options.final ? { final: true } : {}),
    })
    for (const p of pending) await feeder.refeed(p)
    let cursor = meta.cursor
    let entries = 0
    let bytes = 0
    try {
      for await (const e of options.source.read(cursor)) {
        cursor = e.id
        entries++
        if (e.error !== undefined || typeof e.record !== 'object' || e.record === null) {
          onProblem({ code: 'MALFORMED_LINE', file: options.source.name, line: null, offset: null, flow_id: null, seq: null, message: `entry ${e.id}: ${e.error?.message ?? 'not a record'}` })
          continue
        }
        const text = JSON.stringify(e.record)
        bytes += text.length
        const fed = feeder.feed({ rec: e.record as Record<string, unknown>, text, file: `${options.source.name}#${e.id}`, line: 0, offset: -1, bytes: 0 })
        if (fed) await fed
      }
    } catch (e) {
      throw new ExtractError('INDEX_FAILED', `reading ${options.source.name} failed (the index was not changed): ${(e as Error).message}`, { cause: e })
    }
    const res = await feeder.finish()
    const counts = rows.counts()
    const written = rows.close()
    const files: Partial<Record<DataTable, string[]>> = {}
    for (const [t, f] of Object.entries(written)) files[t as DataTable] = [f]
    const stillOpen: PendingFlow[] = res.pending
    let pendingFiles: { records: string; flows: string } | undefined
    if (stillOpen.length > 0) {
      pendingFiles = { records: join(stage, 'pending-records.ndjson'), flows: join(stage, 'pending-flows.ndjson') }
      let ord = 0
      writeFileSync(pendingFiles.records, stillOpen.flatMap((p) => p.records.map((r) => JSON.stringify({ flow_id: p.flow_id, ord: ord++, file: r.file, line: r.line, offset: r.offset, record: r.record }) + '\n')).join(''), { mode: 0o600 })
      writeFileSync(pendingFiles.flows, stillOpen.map((p) => JSON.stringify({ flow_id: p.flow_id, last_seen_ms: p.last_seen_ms, held_since_ms: p.held_since_ms }) + '\n').join(''), { mode: 0o600 })
    }
    let sessionChainFile: string | undefined
    if (chain.size > 0 || before.length > 0) {
      sessionChainFile = join(stage, 'session-chain.ndjson')
      writeFileSync(sessionChainFile, chain.snapshot().map((e, ord) => JSON.stringify({ ord, ...e }) + '\n').join(''), { mode: 0o600 })
    }
    const { orphanProblems } = await commitUpdate(duck, {
      ...(sessionChainFile !== undefined ? { sessionChainFile } : {}),
      files,
      refed: pending.map((p) => p.flow_id),
      pending: stillOpen,
      ...(pendingFiles ? { pendingFiles } : {}),
      orphans: res.orphans.map((o) => ({ flow_id: o.flow_id, records: o.records, file: o.first.file, line: null, offset: null })),
      meta: { ...(cursor !== undefined ? { cursor } : {}), capture_dir: options.source.name },
    })
    return {
      bytes,
      records: entries,
      shards: 1,
      pending: stillOpen.length,
      problems: (counts.problems ?? 0) + orphanProblems,
      ms: performance.now() - t0,
    }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}
