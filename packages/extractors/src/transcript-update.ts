import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
// The importers (and the ledger they load) only when there is something to import.
import { findTranscripts } from '@agenttap/transcripts/dirs'
import type { ClaudeFileState, CodexFileState, FileCursor, TranscriptDirs, TranscriptFile } from '@agenttap/transcripts'
import { headHash } from './capture-snapshot.js'
import type { Duck } from './duck.js'
import { lit } from './duck.js'
import { ExtractError } from './errors.js'
import type { IndexUpdate } from './indexer.js'
import { createRowFiles } from './row-files.js'
import { columnList, readRowsSql } from './schema.js'
import type { DataTable } from './schema.js'
import { flowOfCallSql, sinkImport } from './transcript-sink.js'
import type { TranscriptPart } from './transcript-sink.js'
import { builtModule } from './built-module.js'
import type { IndexProgress } from './types.js'
import { guardedProgress } from './progress-report.js'

/**
 * Index updates from agent transcripts (Claude Code, Codex): each file is read from where the
 * last update stopped (transcripts are append-only; a file that shrank or whose first bytes
 * changed makes every transcript be read again), by `@agenttap/transcripts` on worker threads,
 * and the calls are committed next to the wire's in the same tables (`source`
 * `claude-transcript` / `codex-rollout`; one flow row per call). A Claude call read in two
 * updates (its last content block was appended after the first) is merged in SQL by the
 * importer's rule: the final usage wins (a stop reason, else more output), text and tool calls
 * of both pieces are kept. Re-reading the same content changes nothing: calls are keyed by
 * content (message id + request id; Codex session + cumulative total).
 */

const SOURCES = `('claude-transcript', 'codex-rollout')`

/** Options of {@link updateTranscripts}. */
export interface TranscriptUpdateOptions {
  dirs: TranscriptDirs
  /** The files as the last update saw them (state.json): unchanged ones are not checked again. */
  previous?: TranscriptListing
  /** The files now, when the caller just listed them. */
  now?: { files: TranscriptFile[]; listing: TranscriptListing }
  stageDir: string
  threads?: number
  workerMinBytes?: number
  /** See `ExtractorOptions.onProgress`. */
  onProgress?: (progress: IndexProgress) => void
}

/** What the transcripts look like now (for the "is anything new?" check). */
export interface TranscriptListing {
  files: { path: string; dev: string; ino: string; size: number; mtime: string }[]
}

/** Lists the transcript files with their identity and size (one stat per file). */
export function listTranscripts(dirs: TranscriptDirs): { files: TranscriptFile[]; listing: TranscriptListing } {
  // Each stat's identity kept as the listing's strings at once, not the stat object (18 BigInts):
  // fewer objects live across the young-generation collections of a warm start.
  const stats = new Map<string, { dev: string; ino: string; mtime: string }>()
  const found = findTranscripts(dirs, (path) => {
    const st = statSync(path, { bigint: true, throwIfNoEntry: false })
    if (st === undefined) return undefined
    stats.set(path, { dev: String(st.dev), ino: String(st.ino), mtime: String(st.mtimeNs) })
    return Number(st.size)
  })
  const files: TranscriptFile[] = []
  const listing: TranscriptListing = { files: [] }
  for (const f of found) {
    const st = stats.get(f.path)!
    files.push(f)
    listing.files.push({ path: f.path, dev: st.dev, ino: st.ino, size: f.size, mtime: st.mtime })
  }
  return { files, listing }
}

interface SourceRow { kind: string; path: string; dev: string; ino: string; head: string; head_len: number; offset: number; line: number; state: string | null }

/** Whether no key is in two of the lists. */
function disjoint(lists: string[][]): boolean {
  if (lists.length < 2) return true
  const seen = new Set<string>()
  for (const keys of lists) {
    const mine = new Set(keys)
    for (const k of mine) {
      if (seen.has(k)) return false
    }
    for (const k of mine) seen.add(k)
  }
  return true
}

/**
 * The statements that merge one part's rows into the index. A call already indexed (its first
 * pieces came in an earlier update, or in another part) keeps one row: the final usage wins (a
 * stop reason, else more output), text and tool calls of both pieces are kept, the earlier piece
 * names the session. Same rule as the importer's mergeCall.
 */
function mergePartSql(part: Partial<Record<DataTable, string>>): string[] {
  if (part.calls === undefined) return []
  const sql = [`create or replace temp table new_calls as select * from ${readRowsSql('calls', [part.calls])}`]
  const tc = part.tool_calls !== undefined ? readRowsSql('tool_calls', [part.tool_calls]) : undefined
  // Tool calls a call already indexed gains from this part's pieces.
  sql.push(tc === undefined
    ? `create or replace temp table new_tools as select null::varchar as call_key, 0::bigint as n where false`
    : `create or replace temp table new_tools as select t.call_key, count(*) as n from ${tc} t
        where t.call_key in (select key from calls) and not exists (select 1 from tool_calls o where o.call_key = t.call_key and o.call_id = t.call_id) group by t.call_key`)
  const better = `((n.stop_reason is not null)::int > (calls.stop_reason is not null)::int or ((n.stop_reason is not null) = (calls.stop_reason is not null) and n.output_tokens >= calls.output_tokens))`
  sql.push(`update calls set input_tokens = n.input_tokens, cache_read_tokens = n.cache_read_tokens, cache_write_5m_tokens = n.cache_write_5m_tokens,
      cache_write_1h_tokens = n.cache_write_1h_tokens, output_tokens = n.output_tokens, reasoning_tokens = n.reasoning_tokens, stop_reason = n.stop_reason, has_usage = n.has_usage
    from new_calls n where calls.key = n.key and ${better}`)
  const earlier = `n.started_at < calls.started_at`
  sql.push(`update calls set
      text = case when n.text = '' or contains(calls.text, n.text) then calls.text when calls.text = '' or contains(n.text, calls.text) then n.text else calls.text || chr(10) || chr(10) || n.text end,
      reasoning = case when n.reasoning = '' or contains(calls.reasoning, n.reasoning) then calls.reasoning when calls.reasoning = '' then n.reasoning else calls.reasoning || chr(10) || chr(10) || n.reasoning end,
      started_at = least(calls.started_at, n.started_at), ended_at = greatest(calls.ended_at, n.ended_at),
      session_id = case when ${earlier} then n.session_id else calls.session_id end,
      agent = case when ${earlier} then n.agent else calls.agent end,
      prompt = case when ${earlier} then coalesce(n.prompt, calls.prompt) else coalesce(calls.prompt, n.prompt) end,
      tool_call_count = calls.tool_call_count + coalesce((select k.n from new_tools k where k.call_key = n.key), 0)
    from new_calls n where calls.key = n.key`)
  if (tc !== undefined) sql.push(`insert into tool_calls (${columnList('tool_calls')}) select * from ${tc} t where not exists (select 1 from tool_calls o where o.call_key = t.call_key and o.call_id = t.call_id)`)
  sql.push(
    `insert into calls (${columnList('calls')}) select * from new_calls where key not in (select key from calls)`,
    flowOfCallSql(`key in (select key from new_calls) and key not in (select flow_id from flows)`),
    `update flows set started_at = c.started_at, ended_at = c.ended_at, session_id = c.session_id, agent = c.agent from calls c where flows.flow_id = c.key and c.key in (select key from new_calls)`,
  )
  return sql
}

/** Reads what the transcripts gained since the last update and commits it; see the module comment. */
export async function updateTranscripts(duck: Duck, options: TranscriptUpdateOptions): Promise<IndexUpdate & { listing: TranscriptListing }> {
  const t0 = performance.now()
  const { files, listing } = options.now ?? listTranscripts(options.dirs)
  const prev = (await duck.select(`select * from transcript_sources`)).rows as unknown as SourceRow[]
  const prevByPath = new Map(prev.map((x) => [x.path, x]))
  const prevByIno = new Map(prev.map((x) => [`${x.dev}:${x.ino}`, x]))
  const nowByPath = new Map(listing.files.map((x) => [x.path, x]))
  let rebuilt: string | undefined
  const listed = new Map((options.previous?.files ?? []).map((f) => [f.path, f]))
  const ids = new Map<string, { dev: string; ino: string }>()
  let cursors: FileCursor[] = []
  for (const f of files) {
    const st = nowByPath.get(f.path)
    if (st === undefined) continue
    const id = { dev: st.dev, ino: st.ino }
    ids.set(f.path, id)
    const byPath = prevByPath.get(f.path)
    let p = byPath !== undefined && byPath.ino === id.ino && byPath.dev === id.dev ? byPath : prevByIno.get(`${id.dev}:${id.ino}`)
    // Found by inode under another name: a moved file keeps its first bytes; a new file that got
    // a deleted one's inode does not, and is new.
    if (p !== undefined && p !== byPath && (nowByPath.has(p.path) || Number(p.head_len) === 0 || f.size < Number(p.head_len) || headHash(f.path, Number(p.head_len)) !== p.head)) p = undefined
    const was = listed.get(f.path)
    // Unchanged since the last update (same inode, size and mtime): nothing to check or read.
    const same = was !== undefined && was.ino === id.ino && was.size === f.size && was.mtime === st.mtime
    if (p !== undefined && !same) {
      if (f.size < Number(p.offset)) rebuilt ??= `${f.path} shrank from ${p.offset} to ${f.size} bytes`
      else if (Number(p.head_len) > 0 && headHash(f.path, Number(p.head_len)) !== p.head) rebuilt ??= `${f.path} was rewritten (its first bytes changed)`
    }
    cursors.push(p === undefined ? { file: f, offset: 0, line: 0 } : { file: f, offset: Number(p.offset), line: Number(p.line), ...(p.state ? (p.kind === 'claude' ? { claude: JSON.parse(p.state) as ClaudeFileState } : { codex: JSON.parse(p.state) as CodexFileState }) : {}) })
  }
  if (rebuilt !== undefined) cursors = cursors.map((c) => ({ file: c.file, offset: 0, line: 0 }))
  const todo = cursors.filter((c) => c.file.size > c.offset)
  const stage = mkdtempSync(join(options.stageDir, 'transcripts-'))
  try {
    // The calls become rows on the threads that read them (one part of row files per thread).
    const sink = builtModule('transcript-sink.js')?.href
    const { importTranscripts } = await import('@agenttap/transcripts')
    const report = guardedProgress(options.onProgress)
    const r = await importTranscripts(todo, {
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
      ...(sink !== undefined ? { sink: { module: sink, options: { dir: stage } } } : {}),
      ...(report !== undefined ? { onProgress: (bytes: number, total: number) => report({ phase: 'read', of: 'transcripts', bytes, total, ms: performance.now() - t0 }) } : {}),
    })
    const parts = (r.sunk as TranscriptPart[] | undefined) ?? [sinkImport(r, { dir: stage })]
    const tRead = performance.now()
    const done = new Map(r.cursors.map((c) => [c.file.path, c]))
    const next = cursors.map((c) => done.get(c.file.path) ?? c)
    const rows = createRowFiles(stage, 'transcripts')
    for (const e of r.compactions) {
      rows.write('compactions', { key: e.key, source: e.source, session_id: e.session_id, agent: e.agent ?? null, at: e.at, trigger: e.trigger ?? null, pre_tokens: e.pre_tokens ?? null, post_tokens: e.post_tokens ?? null })
    }
    for (const x of r.session_traps) rows.write('transcript_traps', { session_id: x.session_id, trap: x.trap, n: x.n })
    for (const p of r.problems) rows.write('problems', { code: p.code, file: p.file, line: p.line, offset: p.offset, flow_id: null, seq: null, message: p.message })
    const written = rows.close()
    const sql: string[] = ['begin transaction']
    report?.({ phase: 'commit', of: 'transcripts', bytes: r.bytes, total: r.bytes, ms: performance.now() - t0 })
    if (rebuilt !== undefined) {
      sql.push(
        `delete from tool_calls where call_key in (select key from calls where source in ${SOURCES})`,
        `delete from flows where flow_id in (select flow_id from calls where source in ${SOURCES})`,
        `delete from calls where source in ${SOURCES}`,
        `delete from compactions`,
        `delete from transcript_traps`,
        `delete from problems where file in (select path from transcript_sources)`,
      )
    }
    const load = (t: DataTable): string | undefined => (written[t] !== undefined ? readRowsSql(t, [written[t]!]) : undefined)
    const partFiles = (t: DataTable): string[] => parts.flatMap((p) => (p.files[t] !== undefined ? [p.files[t]!] : []))
    if ((rebuilt !== undefined || prev.length === 0) && disjoint(parts.map((p) => p.keys))) {
      // No transcript call indexed yet and no call in two parts: one bulk load, no merge.
      if (partFiles('calls').length > 0) {
        sql.push(`insert into calls (${columnList('calls')}) select * from ${readRowsSql('calls', partFiles('calls'))}`)
        if (partFiles('tool_calls').length > 0) sql.push(`insert into tool_calls (${columnList('tool_calls')}) select * from ${readRowsSql('tool_calls', partFiles('tool_calls'))}`)
        sql.push(flowOfCallSql(`source in ${SOURCES}`))
      }
    } else {
      // Each part merged into what is indexed by the rule of mergeCall: a call read in an earlier
      // update, or by two threads (a resumed session's copied lines in another file), is one row.
      for (const { files: part } of parts) sql.push(...mergePartSql(part))
    }
    const comp = load('compactions')
    if (comp !== undefined) sql.push(`insert into compactions (${columnList('compactions')}) select * from ${comp} where key not in (select key from compactions)`)
    const traps = load('transcript_traps')
    if (traps !== undefined) sql.push(`insert into transcript_traps (${columnList('transcript_traps')}) select * from ${traps}`)
    const probs = load('problems')
    if (probs !== undefined) sql.push(`insert into problems (${columnList('problems')}) select * from ${probs}`)
    // Only the cursors that moved are rewritten (a warm update touches a few of thousands), and
    // the files no longer listed are dropped.
    const listedNow = new Set<string>()
    const moved: string[] = []
    const vals = next.flatMap((c) => {
      const id = ids.get(c.file.path)
      if (id === undefined) return []
      listedNow.add(c.file.path)
      const headLen = Math.min(4096, c.offset)
      const o = prevByPath.get(c.file.path)
      const old = o !== undefined && o.ino === id.ino && Number(o.head_len) === headLen ? o : undefined
      const head = headLen === 0 ? '' : old?.head ?? headHash(c.file.path, headLen)
      const state = c.codex !== undefined ? JSON.stringify(c.codex) : c.claude !== undefined ? JSON.stringify(c.claude) : null
      if (rebuilt === undefined && o !== undefined && o.kind === c.file.kind && o.dev === id.dev && o.ino === id.ino && o.head === head && Number(o.head_len) === headLen
        && Number(o.offset) === c.offset && Number(o.line) === c.line && (o.state ?? null) === state) return []
      if (o !== undefined) moved.push(c.file.path)
      return [`(${lit(c.file.kind)}, ${lit(c.file.path)}, ${lit(id.dev)}, ${lit(id.ino)}, ${lit(head)}, ${headLen}, ${c.offset}, ${c.line}, ${state !== null ? lit(state) : 'null'})`]
    })
    const drop = [...moved, ...prev.filter((x) => !listedNow.has(x.path)).map((x) => x.path)]
    if (rebuilt !== undefined) sql.push(`delete from transcript_sources`)
    else if (drop.length > 0) sql.push(`delete from transcript_sources where path in (${drop.map(lit).join(', ')})`)
    if (vals.length > 0) sql.push(`insert into transcript_sources values ${vals.join(', ')}`)
    try {
      await duck.run(sql.join(';\n'))
      await duck.run('commit')
    } catch (e) {
      try {
        await duck.run('rollback')
      } catch {
        // the transaction is already gone
      }
      throw new ExtractError('INDEX_FAILED', `updating the index with transcripts failed (nothing was changed): ${(e as Error).message}`, { cause: e })
    }
    return {
      ...(rebuilt !== undefined ? { rebuilt } : {}),
      bytes: r.bytes,
      records: parts.reduce((n, p) => n + p.calls, 0),
      shards: 1,
      pending: 0,
      problems: r.problems.length,
      ms: performance.now() - t0,
      readMs: tRead - t0,
      commitMs: performance.now() - tRead,
      listing,
    }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}
