import { Buffer } from 'node:buffer'
import type { Duck } from './duck.js'
import { lit } from './duck.js'
import { readPromptCache, readState, writePromptCache } from './index-store.js'
import type { IndexPaths, PromptCache } from './index-store.js'
import { promptsFrom, viewSql } from './queries.js'
import type { Row } from './types.js'

/**
 * The index's prompt cache (`latest-prompts.json`): the latest `user_prompts` rows, for
 * `prompts -n N` without opening DuckDB. Rebuilt whole after a rebuild of the index; after an
 * update, only the prompts the update can have changed are computed again and merged into it.
 *
 * A prompt row is a group of calls (session, history length, prompt text). An update changes
 * the groups its flows' calls belong to (new flows, and open flows fed again, whose calls are
 * replaced), so the merge recomputes every group of each (session, text) pair those flows carry
 * now, and of the cached rows those flows were the first of (a flow fed again may have left its
 * group). Cached rows of those pairs are dropped, the recomputed rows merged in, and the latest
 * ones kept. The result is the rebuild's whenever it is known to be (the cache held every prompt,
 * or enough rows rank above the cache's oldest row); else the cache is rebuilt.
 */

/** How many of the latest prompts the cache keeps. */
export const PROMPT_CACHE_ROWS = 500

/** Above this many touched flows the whole cache is rebuilt (one query either way). */
const MERGE_MAX_FLOWS = 5000

const COLUMNS = 'ts, session_id, flow_id, client, text'
/** The cache's order, latest first: ties of time and flow are broken by session and text, so a merge and a rebuild agree. */
const ORDER = 'ts desc nulls last, flow_id desc, session_id desc nulls last, text desc'

/** A prompt cache that describes the index as the state file names it now (else undefined). */
export function currentPromptCache(paths: IndexPaths): PromptCache | undefined {
  const cache = readPromptCache(paths)
  return cache !== undefined && cache.stamp === readState(paths)?.stamp ? cache : undefined
}

/** Byte order of two strings' UTF-8 (DuckDB's string order); null after any string. */
function cmpText(a: unknown, b: unknown): number {
  if (a === b) return 0
  if (a === null || a === undefined) return 1
  if (b === null || b === undefined) return -1
  const x = String(a)
  const y = String(b)
  // ISO times and ids are ASCII: there the UTF-16 order is the byte order.
  if (/^[\x00-\x7f]*$/.test(x) && /^[\x00-\x7f]*$/.test(y)) return x < y ? -1 : x > y ? 1 : 0
  return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'))
}

/** The cache's order (see {@link ORDER}): negative when `a` is the later row. */
function latestFirst(a: Row, b: Row): number {
  for (const k of ['ts', 'flow_id', 'session_id', 'text'] as const) {
    const nulls = a[k] === null || b[k] === null
    const c = cmpText(a[k], b[k])
    if (c !== 0) return nulls ? c : -c
  }
  return 0
}

const pairKey = (session: unknown, text: unknown): string => JSON.stringify([session ?? null, text ?? null])

/** Computes the whole cache from the index. */
async function rebuild(d: Duck): Promise<{ rows: Row[]; complete: boolean }> {
  const { rows } = await d.select(`select ${COLUMNS} from ${promptsFrom('c')} order by ${ORDER} limit ${PROMPT_CACHE_ROWS + 1}`)
  return { rows: rows.slice(0, PROMPT_CACHE_ROWS).reverse(), complete: rows.length <= PROMPT_CACHE_ROWS }
}

/** Merges the prompts of the touched flows into `base`; undefined when the merge cannot know the answer. */
async function merge(d: Duck, base: PromptCache, touched: readonly string[]): Promise<{ rows: Row[]; complete: boolean } | undefined> {
  if (touched.length === 0) return { rows: base.rows, complete: base.complete }
  const flows = new Set(touched)
  const cachedPairs = base.rows.filter((r) => flows.has(String(r.flow_id))).map((r) => `(${r.session_id === null ? 'null' : lit(String(r.session_id))}, ${lit(String(r.text))})`)
  await d.run(`create or replace temp table prompt_flows as select unnest([${touched.map(lit).join(', ')}]::varchar[]) as flow_id;
    create or replace temp table prompt_pairs as select distinct session_id, prompt from c where flow_id in (select flow_id from prompt_flows) and prompt is not null and prompt <> ''
      ${cachedPairs.length > 0 ? `union select * from (values ${cachedPairs.join(', ')}) v(session_id, prompt)` : ''}`)
  const pairs = new Set((await d.select(`select session_id, prompt from prompt_pairs`)).rows.map((r) => pairKey(r.session_id, r.prompt)))
  const fresh = pairs.size === 0 ? [] : (await d.select(`select ${COLUMNS} from ${promptsFrom('(select c.* from c semi join prompt_pairs p on c.session_id is not distinct from p.session_id and c.prompt = p.prompt)')}`)).rows
  const kept = base.rows.filter((r) => !pairs.has(pairKey(r.session_id, r.text)))
  const all = [...kept, ...fresh].sort(latestFirst)
  if (base.complete) return { rows: all.slice(0, PROMPT_CACHE_ROWS).reverse(), complete: all.length <= PROMPT_CACHE_ROWS }
  // Prompts the cache did not hold all rank after its oldest row: the top rows are exact when at
  // least as many rows as the cache keeps rank at or before that row.
  const oldest = base.rows[0]
  if (oldest === undefined) return undefined
  let sure = 0
  for (const r of all) if (latestFirst(r, oldest) <= 0) sure++
  if (sure < PROMPT_CACHE_ROWS) return undefined
  return { rows: all.slice(0, PROMPT_CACHE_ROWS).reverse(), complete: false }
}

/**
 * Writes the prompt cache for the index as it is now (its state's stamp): merged into `base`
 * (the cache of the index before this update) when the update's flows are known, else rebuilt.
 */
export async function cachePrompts(d: Duck, paths: IndexPaths, base: PromptCache | undefined, touched: readonly string[] | undefined): Promise<void> {
  const stamp = readState(paths)?.stamp
  if (stamp === undefined) return
  await d.run(viewSql({}).join(';\n'))
  const merged = base !== undefined && touched !== undefined && touched.length <= MERGE_MAX_FLOWS ? await merge(d, base, touched) : undefined
  const { rows, complete } = merged ?? (await rebuild(d))
  writePromptCache(paths, { stamp, complete, rows })
}
