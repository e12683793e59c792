import type { FileRange, Line, LineCursor } from './line-cursor.js'

/**
 * Parses the lines of the three capture files and merges them into one record sequence by
 * timestamp. A flow's records sit in three files (`flow`, its `sse` lines, its `flow_end`);
 * merging by `ts` (ties: flows, then lines, then ends) puts each flow's records in order while
 * only the flows streaming at the same moment are open at once, so memory follows concurrency,
 * not capture size. The proxy writes a flow record when the response starts and stamps it with
 * the request start, so it sorts before its lines; a flow_end is stamped when written, after
 * them.
 */

/** A parsed record with where it came from. */
export interface SourcedRecord {
  rec: Record<string, unknown>
  /** The line as read ('' when its record was decoded in part, see flow-delta.ts: read it again at `offset` / `bytes`). */
  text: string
  /** The file it was read from ('' for records of another source). */
  file: string
  /** 1-based line number (0: not from a file line). */
  line: number
  /** Byte offset of the line (-1: not from a file). */
  offset: number
  /** Bytes of the line in the file (with `offset`, where to read it again). */
  bytes: number
}

/** A line that is not a JSON object. */
export interface BadLine {
  line: Line
  message: string
}

const ORDER: Record<FileRange['kind'], number> = { flows: 0, lines: 1, ends: 2 }

/** Merges cursors (one per file kind) into one sequence. */
export function createRecordMerge(cursors: LineCursor[], onBadLine: (b: BadLine) => void): { next(): SourcedRecord | undefined } {
  // The head of each cursor, in parallel arrays: no object per line beyond the record itself.
  const heads: (SourcedRecord | undefined)[] = cursors.map(() => undefined)
  const headTs: string[] = cursors.map(() => '')
  const order: number[] = cursors.map(() => 0)
  const lastTs: string[] = cursors.map(() => '')

  function pull(i: number): SourcedRecord | undefined {
    const c = cursors[i]!
    for (let l = c.next(); l !== undefined; l = c.next()) {
      let rec: unknown = l.rec
      if (rec === undefined) {
        try {
          rec = JSON.parse(l.text)
        } catch (e) {
          onBadLine({ line: l, message: (e as Error).message })
          continue
        }
      }
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
        onBadLine({ line: l, message: 'not a JSON object' })
        continue
      }
      const r = rec as Record<string, unknown>
      // A record without a usable ts keeps its place in its own file.
      const ts = typeof r.ts === 'string' ? r.ts : lastTs[i]!
      lastTs[i] = ts
      headTs[i] = ts
      order[i] = ORDER[l.range.kind]
      l.rec = r
      return l as SourcedRecord
    }
    return undefined
  }

  let primed = false
  return {
    next() {
      if (!primed) {
        primed = true
        for (let i = 0; i < cursors.length; i++) heads[i] = pull(i)
      }
      let best = -1
      for (let i = 0; i < heads.length; i++) {
        if (heads[i] === undefined) continue
        if (best === -1 || headTs[i]! < headTs[best]! || (headTs[i] === headTs[best] && order[i]! < order[best]!)) best = i
      }
      if (best === -1) return undefined
      const out = heads[best]!
      heads[best] = pull(best)
      return out
    },
  }
}
