import { existsSync, statSync } from 'node:fs'
import type { IndexPaths, IndexState, PromptCache } from './index-store.js'
import { INDEX_VERSION } from './schema.js'
import { isoInstant } from './sources.js'
import type { CaptureFiles } from './sources.js'
import type { ExtractFilters, Row } from './types.js'

/**
 * Whether an index is current, read from its state.json alone, and the prompt cache's answer on
 * one that is: shared by the extractor and `@agenttap/extractors/prompts` (prompts-entry.ts), so
 * `prompts -n N` gives the same answer whichever of the two a program loads.
 */

/** The state is this index version's, made with the ledger build `build`, its database is there, and no open flow is due (`now`: ms). */
export function stateCurrent(st: IndexState | undefined, paths: IndexPaths, build: string, now: number): st is IndexState {
  if (st === undefined || st.index_version !== INDEX_VERSION || st.ledger_build !== build || !existsSync(paths.db)) return false
  return st.deadline_ms === null || now < st.deadline_ms
}

/** Every capture file is the one the state read (device, inode), read to its end. */
export function filesCurrent(st: IndexState, files: CaptureFiles): boolean {
  const all = [...files.flows, ...files.lines, ...files.ends]
  if (all.length !== st.files.length) return false
  for (const path of all) {
    const f = st.files.find((x) => x.path === path)
    if (f === undefined) return false
    try {
      const s = statSync(path, { bigint: true })
      if (String(s.ino) !== f.ino || String(s.dev) !== f.dev || Number(s.size) !== f.offset) return false
    } catch {
      return false
    }
  }
  return true
}

/**
 * The latest `limit` prompts from the prompt cache of the state stamped `stamp`, when it holds
 * the answer (enough rows past the filters, or every prompt there is); undefined otherwise.
 */
export function promptCacheRows(cache: PromptCache | undefined, stamp: string | undefined, limit: number, filters: ExtractFilters): Row[] | undefined {
  if (cache === undefined || cache.stamp !== stamp) return undefined
  const since = filters.since === undefined ? undefined : isoInstant(filters.since, '--since')
  const until = filters.until === undefined ? undefined : isoInstant(filters.until, '--until')
  const rows = cache.rows.filter((r) =>
    (since === undefined || String(r.ts) >= since) && (until === undefined || String(r.ts) < until) &&
    (filters.session === undefined || r.session_id === filters.session) && (filters.client === undefined || r.client === filters.client))
  // Enough rows, or all there are: the cache answers exactly what the index would.
  return rows.length >= limit || cache.complete ? rows.slice(Math.max(0, rows.length - limit)) : undefined
}
