import type { CallUsage, CompactionEvent, ModelCall } from '@agenttap/ledger'
import { absorbCall, mergeCall, settleCall, UsageCalls } from './call-merge.js'
import { CLAUDE_NEEDLES, CLAUDE_USAGE_NEEDLES, classifyClaudeLine, classifyClaudeUsageLine, emptyPiece, readClaudeLine, readClaudeUsagePiece, rowCall } from './claude.js'
import type { ClaudeLine } from './claude.js'
import { classifyCodexLine, classifyCodexUsageLine, CODEX_NEEDLES, CODEX_SOURCE, CODEX_USAGE_NEEDLES, codexPieceCall, emptyCodexPiece, readCodexLine, readCodexUsageBytes, readCodexUsagePiece } from './codex.js'
import type { CodexLine } from './codex.js'
import { bytesHash } from './head-hash.js'
import { readLines } from './read-lines.js'
import type { ClaudeFileState, CodexFileState, FileCursor, ImportResult, TranscriptProblem, TrapCounts } from './types.js'

/**
 * Reads transcript files from their cursors to their ends on this thread: the lines that can
 * carry usage or a compaction are parsed, the others skipped unparsed. Claude pieces of one
 * call are merged here (and again across threads and index updates, by the same rule).
 */

/** Options of {@link importFiles}. */
export interface ImportFilesOptions {
  /** Lines longer than this are skipped and reported. @defaultValue 64 MiB */
  maxLineBytes?: number
  /** Read chunk size (tests re-chunk with it). @defaultValue 4 MiB */
  chunkBytes?: number
  /**
   * Read only what the calls' usage needs: the same calls with the same keys, usage, model,
   * session, agent, times and stop reason, but no text, reasoning, tool calls, prompts or
   * compactions (those lines are skipped unparsed). The cursors it returns are for usage-only
   * reads again (a prompt pending in a file is not kept).
   * @defaultValue false
   */
  usageOnly?: boolean
  /**
   * With `usageOnly`: the calls as rows of columns in {@link ImportResult.rows} (`calls` is
   * empty) — for a sink that takes them (`ImportSink.rows`), without a call object each.
   * @defaultValue false
   */
  rows?: boolean
  /**
   * The hash of the first this many bytes of each file read from its start is kept in its
   * cursor's `head` (for a caller that checks later whether a file was rewritten: it need not
   * open every file again). @defaultValue 0 (none)
   */
  heads?: number
}

/** Counts of every trap, zero. */
export function noTraps(): TrapCounts {
  return { claude_block_lines: 0, claude_partial_output: 0, claude_subagent_calls: 0, claude_cache_1h_calls: 0, codex_reemits: 0, codex_replayed: 0 }
}

/**
 * Adds one call piece to a key map, merging with what the key already holds. `own`: the map's
 * calls were made by this reader and may be merged in place.
 */
export function addCall(into: Map<string, ModelCall>, c: ModelCall, traps?: TrapCounts, own = false): void {
  const had = into.get(c.key)
  if (had === undefined) {
    into.set(c.key, c)
    return
  }
  if (traps !== undefined && c.source === 'claude-transcript') {
    traps.claude_block_lines++
    if ((had.usage?.output ?? 0) !== (c.usage?.output ?? 0)) traps.claude_partial_output++
  }
  if (own) absorbCall(had, c)
  else into.set(c.key, mergeCall(had, c))
}

/** Reads every file from its cursor; see the module comment. */
export function importFiles(cursors: Iterable<FileCursor>, options: ImportFilesOptions = {}): ImportResult {
  // A usage-only read's Claude calls are rows of `rows` (the map holds their row number), the
  // others call objects; in the order first seen.
  const calls = new Map<string, ModelCall | number>()
  const rows = new UsageCalls()
  const compactions = new Map<string, CompactionEvent>()
  const problems: TranscriptProblem[] = []
  const traps = noTraps()
  const out: FileCursor[] = []
  const usageOnly = options.usageOnly === true
  // Calls as rows (for a sink that takes them), else as call objects.
  const asRows = usageOnly && options.rows === true
  const piece = emptyPiece()
  const cpiece = emptyCodexPiece()
  let bytes = 0
  let lines = 0
  let parsed = 0
  // Skipped entries per trap and session, in the order first seen.
  const session_traps: ImportResult['session_traps'] = []
  const perTrap = { block_line: new Map<string, { n: number }>(), reemit: new Map<string, { n: number }>(), replayed: new Map<string, { n: number }>() }
  const note = (session: string, trap: 'block_line' | 'reemit' | 'replayed', n: number): void => {
    if (n <= 0) return
    const at = perTrap[trap].get(session)
    if (at !== undefined) at.n += n
    else {
      const entry = { session_id: session, trap, n }
      session_traps.push(entry)
      perTrap[trap].set(session, entry)
    }
  }
  /** One piece of a Claude call of a usage-only read, into its row (see {@link UsageCalls}). */
  let lastKey = ''
  let lastRow = -1
  let claude: ClaudeFileState = {}
  const addPiece = (file: FileCursor['file'], key: string, id: string, requestId: string | undefined, ts: string, session: string, agent: string | undefined, model: string | undefined, stop: string | undefined, usage: CallUsage): void => {
    // The first call after a prompt in this file answers it.
    const prompt = claude.pending_prompt
    claude.pending_prompt = undefined
    // The lines of one response come one after another (and share the key string).
    const i = key === lastKey ? lastRow : (calls.get(key) as number | undefined)
    if (i === undefined) {
      if (file.agent !== undefined) traps.claude_subagent_calls++
      lastRow = rows.add(key, id, requestId, ts, session, agent, model, stop, usage, prompt)
      lastKey = key
      calls.set(key, lastRow)
      return
    }
    lastKey = key
    lastRow = i
    note(session, 'block_line', 1)
    traps.claude_block_lines++
    if (rows.output(i) !== usage.output) traps.claude_partial_output++
    rows.absorb(i, ts, session, usage, stop, prompt)
  }
  // The state of the file being read, for the line callbacks below: made once per call, not
  // per file — a callback made per file (and a classifier that changes with the format) is a
  // new call target each time, and the reader's optimized code was thrown away when the files
  // changed format.
  let file: FileCursor['file'] = { kind: 'claude', path: '', size: 0 }
  let codex: CodexFileState = {}
  let pickClaude = false
  let pickCodex = false
  const classify = (buf: Buffer, s: number, e: number): boolean | undefined =>
    file.kind === 'claude' ? (usageOnly ? classifyClaudeUsageLine(buf, s, e) : classifyClaudeLine(buf, s, e)) : usageOnly ? classifyCodexUsageLine(buf, s, e) : classifyCodexLine(buf, s, e)
  const onLongLine = (line: number, offset: number, n: number): void => void problems.push({ code: 'LINE_TOO_LONG', file: file.path, line, offset, message: `line of ${n} bytes is over the cap: skipped` })
  const onLine = (buf: Buffer, s: number, e: number, line: number, offset: number): void => {
    parsed++
    // An assistant line of a usage-only read: its few fields from the bytes, merged into
    // its call without a call object per piece (the same answer as below), else the whole
    // line decoded and parsed.
    if (pickClaude) {
      const got = readClaudeUsagePiece(buf, s, e, file, piece)
      if (got === 'skip') return
      if (got === 'bad') {
        problems.push({ code: 'UNEXPECTED_SHAPE', file: file.path, line, offset, message: piece.message })
        return
      }
      if (got === 'call') {
        addPiece(file, piece.key, piece.id, piece.requestId, piece.ts, piece.session, piece.agent, piece.model, piece.stop, piece.usage)
        return
      }
    }
    // A token_count line of a read whose calls become rows: its counts from the bytes, and its
    // call a row (no call object, the same answer as below).
    if (pickCodex && asRows) {
      const got = readCodexUsagePiece(buf, s, e, file, codex, traps, cpiece)
      if (got === 'none') return
      if (got === 'bad') {
        problems.push({ code: 'UNEXPECTED_SHAPE', file: file.path, line, offset, message: cpiece.message })
        return
      }
      if (got === 'call') {
        const i = calls.get(cpiece.key) as number | undefined
        if (i === undefined) calls.set(cpiece.key, rows.addOther(CODEX_SOURCE, 'codex', cpiece.key, cpiece.ts, cpiece.session, codex.agent, codex.model, cpiece.usage, cpiece.prompt))
        else rows.mergeCall(i, codexPieceCall(cpiece, codex))
        return
      }
    }
    // A token_count line of a usage-only read: its counts from the bytes (the same answer
    // as below), else the whole line decoded and parsed.
    let r: ClaudeLine | CodexLine | undefined = pickCodex && !asRows ? readCodexUsageBytes(buf, s, e, file, codex, traps) : undefined
    if (r === undefined) {
      let rec: unknown
      try {
        rec = JSON.parse(buf.toString('utf8', s, e))
      } catch (err) {
        problems.push({ code: 'MALFORMED_LINE', file: file.path, line, offset, message: `not JSON (${(err as Error).message.slice(0, 120)})` })
        return
      }
      r = file.kind === 'claude' ? readClaudeLine(rec, file, usageOnly) : readCodexLine(rec, file, codex, line, traps, usageOnly)
    }
    if (r.kind === 'prompt') {
      claude.pending_prompt = r.text
    } else if (r.kind === 'call') {
      const c = r.call
      if (c.source === 'claude-transcript' && usageOnly) {
        // A line the picker left to JSON.parse: a piece like the others.
        addPiece(file, c.key, c.response_id!, c.request_id, c.started_at, c.session_id, c.agent, c.model, c.stop_reason, c.usage!)
        return
      }
      if (asRows && c.source !== 'claude-transcript') {
        // A Codex call of a read whose calls become rows: a row now, not a call object kept
        // alive (and copied by every young-generation collection) until the read ends.
        const i = calls.get(c.key) as number | undefined
        if (i === undefined) calls.set(c.key, rows.addCall(c))
        else rows.mergeCall(i, c)
        return
      }
      if (claude.pending_prompt !== undefined && c.source === 'claude-transcript') {
        // The first call after the prompt in this file answers it.
        c.prompt = claude.pending_prompt
        claude.pending_prompt = undefined
      }
      if (c.source === 'claude-transcript') {
        // Count the call-level traps once per call, on its first piece.
        if (!calls.has(c.key)) {
          if (file.agent !== undefined) traps.claude_subagent_calls++
        } else note(c.session_id, 'block_line', 1)
      }
      addCall(calls as Map<string, ModelCall>, c, traps, true)
    } else if (r.kind === 'compaction') {
      compactions.set(r.event.key, r.event)
    } else if (r.kind === 'bad') {
      problems.push({ code: 'UNEXPECTED_SHAPE', file: file.path, line, offset, message: r.message })
    }
  }
  for (const cur of cursors) {
    file = cur.file
    codex = file.kind === 'codex' && cur.codex !== undefined ? structuredClone(cur.codex) : {}
    claude = { ...cur.claude }
    pickClaude = usageOnly && file.kind === 'claude'
    pickCodex = usageOnly && file.kind === 'codex'
    const reemits0 = traps.codex_reemits
    const replayed0 = traps.codex_replayed
    try {
      const end = readLines(file.path, {
        needles: file.kind === 'claude' ? (usageOnly ? CLAUDE_USAGE_NEEDLES : CLAUDE_NEEDLES) : usageOnly ? CODEX_USAGE_NEEDLES : CODEX_NEEDLES,
        classify,
        offset: cur.offset,
        line: cur.line,
        // Sized by the listing: no stat per file.
        size: file.size,
        ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
        ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
        ...(options.heads !== undefined ? { headBytes: options.heads } : {}),
        onLongLine,
        onLine,
      })
      if (codex.session_id !== undefined) {
        note(codex.session_id, 'reemit', traps.codex_reemits - reemits0)
        note(codex.session_id, 'replayed', traps.codex_replayed - replayed0)
      }
      bytes += end.bytes
      lines += end.lines
      const done: FileCursor = { file: { ...file, size: end.size }, offset: end.offset, line: end.line }
      // Hashed here, from the reader's buffer: no copy kept, none sent from a worker thread.
      if (end.head !== undefined && end.head.length > 0) done.head = { len: end.head.length, hash: bytesHash(end.head) }
      if (file.kind === 'codex') done.codex = codex
      else if (claude.pending_prompt !== undefined) done.claude = claude
      out.push(done)
    } catch (err) {
      const gone = (err as NodeJS.ErrnoException).code === 'ENOENT'
      problems.push({ code: 'IO_ERROR', file: file.path, line: null, offset: null, message: gone ? 'the file is gone (removed since it was listed)' : `cannot read: ${(err as Error).message}` })
      out.push(cur)
    }
  }
  const list: ModelCall[] = []
  for (const c of calls.values()) {
    if (typeof c === 'number') {
      if (rows.cache1h(c)) traps.claude_cache_1h_calls++
      if (!asRows) list.push(rowCall(rows, c))
      continue
    }
    settleCall(c)
    if ((c.usage?.cache_write_1h ?? 0) > 0) traps.claude_cache_1h_calls++
    if (asRows) rows.addCall(c)
    else list.push(c)
  }
  const result: ImportResult = { calls: list, compactions: [...compactions.values()], problems, cursors: out, traps, session_traps, bytes, lines, parsed }
  if (asRows) result.rows = rows
  return result
}
