/**
 * `@agenttap/extractors/prompts`: "the latest N user prompts" of a capture, as
 * `createExtractor({ logDir }).run('user_prompts', { limit })` answers it with the auto engine —
 * from the prompt cache of a current index, else the flows file read backwards (reverse.ts) —
 * without loading the rest of the package (the index, DuckDB, the SQL modes, the facts): a
 * module a fraction of the main entry's size, for a CLI's `prompts -n N`, whose whole run is
 * mostly the start of the process.
 */
import { DEFAULT_LEDGER, ledgerBuild } from './ledger-module.js'
import { filesCurrent, promptCacheRows, stateCurrent } from './index-fresh.js'
import { indexPaths, readPromptCache, readState, writableOrCreatable } from './index-store.js'
import { MODES } from './modes.js'
import { latestPrompts } from './reverse.js'
import { findCaptureFiles } from './sources.js'
import type { ExtractFilters, Row } from './types.js'

export { toNdjson } from './output.js'
export type { ExtractFilters, Row } from './types.js'

/** The columns of the rows {@link latestUserPrompts} returns (the `user_prompts` mode's). */
export const USER_PROMPT_COLUMNS: readonly string[] = MODES.user_prompts.columns

/**
 * The latest `limit` user prompts (`user_prompts` columns) of the capture under `logDir`, oldest
 * first, with `filters`. Auxiliary requests are left out (no `includeAux` here); the index is
 * neither built nor updated: its prompt cache answers only when the index is current.
 * @throws ExtractError `LOG_DIR_MISSING` / `NO_CAPTURES` / `BAD_FILTER` — this module's own copy
 *   of the class: check `code`, not `instanceof`.
 */
export async function latestUserPrompts(logDir: string, limit: number, filters: ExtractFilters = {}, now = Date.now()): Promise<Row[]> {
  const files = findCaptureFiles(logDir)
  const paths = writableOrCreatable(files.dir) ? indexPaths(files.dir) : undefined
  if (paths !== undefined) {
    const st = readState(paths)
    if (stateCurrent(st, paths, ledgerBuild(DEFAULT_LEDGER), now) && filesCurrent(st, files)) {
      const rows = promptCacheRows(readPromptCache(paths), st.stamp, limit, filters)
      if (rows !== undefined) return rows
    }
  }
  return latestPrompts(files.flows, limit, filters, files.dir, { lineFiles: files.lines })
}
