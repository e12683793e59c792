import { closeSync, openSync, readSync } from 'node:fs'

/**
 * Reads the whole lines of one byte range of a capture file, a chunk at a time, and hands out
 * only the lines a `keep` test accepts (a shard's own flows), decoded to text. Lines are found
 * with `Buffer.indexOf` (native) and a line is only decoded when kept, so a shard skims the
 * lines of other shards at memory speed.
 */

/** A byte range of one file to read. */
export interface FileRange {
  /** Capture file kind: decides the merge order of records with equal timestamps. */
  kind: 'flows' | 'lines' | 'ends'
  path: string
  /** First byte to read (the start of a line). */
  start: number
  /** Read no further than this byte (the snapshot size); a line not ended by then is left unread. */
  end: number
  /** Lines before `start` (so line numbers are right after an incremental start). */
  line0: number
}

/** One line handed out. */
export interface Line {
  /**
   * Filled by the reader that parses it (the merge): a line becomes its record without a new
   * object. Already filled when the cursor's `decode` gave the record.
   */
  rec: Record<string, unknown> | undefined
  /** The line's text ('' when `decode` gave the record: read it again at `offset` / `bytes`). */
  text: string
  range: FileRange
  /** `range.path`. */
  file: string
  /** 1-based line number in the file. */
  line: number
  /** Byte offset of the line start. */
  offset: number
  /** Its length in bytes (without the newline). */
  bytes: number
}

/** A line over the cap, skipped. */
export interface LongLine {
  range: FileRange
  line: number
  offset: number
  bytes: number
}

/** Options of {@link createLineCursor}. */
export interface LineCursorOptions {
  /** Whether a line is handed out; gets the buffer and the line's [start, end) in it. */
  keep: (buf: Buffer, start: number, end: number) => boolean
  /** Lines longer than this are skipped and reported. @defaultValue 256 MiB */
  maxLineBytes?: number
  /** Read size. @defaultValue 4 MiB */
  chunkBytes?: number
  onLongLine?: (l: LongLine) => void
  /**
   * Gives a kept line's record straight from its bytes when it can (see flow-delta.ts); undefined
   * leaves the line to be decoded into `text`.
   */
  decode?: (buf: Buffer, start: number, end: number) => Record<string, unknown> | undefined
}

/** Reads whole lines of ranges in order. */
export interface LineCursor {
  /** The next kept line, or undefined at the end of the last range. */
  next(): Line | undefined
  /** Per range: the offset just after the last whole line read and the line count there (valid once `next()` returned undefined). */
  ends(): { path: string; offset: number; lines: number }[]
  /** Bytes of the ranges gone through so far (lines handed out or skipped), for a progress report. */
  consumed(): number
}

const NL = 10

/**
 * Creates a cursor over ranges (read one after the other).
 * @example
 * const c = createLineCursor([{ kind: 'lines', path, start: 0, end: size, line0: 0 }], { keep: () => true })
 * for (let l = c.next(); l; l = c.next()) console.log(l.line, l.text)
 */
export function createLineCursor(ranges: FileRange[], options: LineCursorOptions): LineCursor {
  const maxLine = options.maxLineBytes ?? 256 * 1024 * 1024
  // No bigger than the bytes to read (a small update reads a few KiB per file): a buffer's
  // untouched pages cost a page fault each once read or written.
  const chunk = Math.min(options.chunkBytes ?? 4 * 1024 * 1024, Math.max(64 * 1024, ...ranges.map((r) => r.end - r.start + 1)))
  const done: { path: string; offset: number; lines: number }[] = []
  let ri = -1
  let range: FileRange | undefined
  /** Bytes of the ranges before the current one. */
  let before = 0
  let fd: number | undefined
  let buf = Buffer.allocUnsafe(chunk)
  /**
   * Valid bytes in buf are [pos, len); buf[0] is at file offset `base`. `buf[len]` is a newline
   * (a sentinel): the search for the next line end stops at the valid bytes instead of running
   * through the rest of the buffer (`Buffer.indexOf` has no end bound).
   */
  let pos = 0
  let len = 0
  let base = 0
  let filePos = 0
  let line = 0
  let eof = true
  /** Skipping the rest of an over-long line. */
  let skipping: { line: number; offset: number } | undefined

  function openNext(): boolean {
    if (fd !== undefined) {
      closeSync(fd)
      fd = undefined
    }
    // An unfinished line (still being written) is left for the next run: stop at its start.
    if (range !== undefined) {
      done.push({ path: range.path, offset: skipping?.offset ?? base + pos, lines: skipping === undefined ? line : skipping.line - 1 })
      before += range.end - range.start
    }
    ri++
    range = ranges[ri]
    if (range === undefined) return false
    fd = openSync(range.path, 'r')
    pos = 0
    len = 0
    base = range.start
    filePos = range.start
    line = range.line0
    buf[0] = NL
    eof = false
    skipping = undefined
    return true
  }

  /** Reads more bytes after [pos, len); false at the range end. */
  function fill(): boolean {
    if (eof || range === undefined || fd === undefined) return false
    if (pos > 0) {
      // Keep the partial line: move it to the front (copyWithin, no new buffer).
      buf.copyWithin(0, pos, len)
      base += pos
      len -= pos
      pos = 0
    }
    if (len === buf.length - 1) {
      // A line longer than the buffer: grow it (up to the line cap, checked by the caller).
      const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxLine + chunk))
      buf.copy(bigger, 0, 0, len)
      buf = bigger
    }
    const want = Math.min(buf.length - 1 - len, range.end - filePos)
    if (want <= 0) {
      eof = true
      return false
    }
    const n = readSync(fd, buf, len, want, filePos)
    if (n === 0) {
      eof = true
      return false
    }
    filePos += n
    len += n
    buf[len] = NL
    return true
  }

  function next(): Line | undefined {
    for (;;) {
      if (range === undefined && !openNext()) return undefined
      const r = range!
      const nl = buf.indexOf(NL, pos)
      if (nl === -1 || nl >= len) {
        if (skipping === undefined && len - pos > maxLine) {
          // Over the cap: report it once and drop bytes until its end.
          skipping = { line: line + 1, offset: base + pos }
        }
        if (skipping !== undefined) {
          base += len
          pos = 0
          len = 0
          buf[0] = NL
        }
        if (!fill()) {
          if (!openNext()) return undefined
        }
        continue
      }
      const start = pos
      pos = nl + 1
      line++
      if (skipping !== undefined) {
        options.onLongLine?.({ range: r, line: skipping.line, offset: skipping.offset, bytes: base + nl - skipping.offset })
        skipping = undefined
        continue
      }
      if (nl - start > maxLine) {
        options.onLongLine?.({ range: r, line, offset: base + start, bytes: nl - start })
        continue
      }
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl
      if (end === start) continue
      if (!options.keep(buf, start, end)) continue
      const rec = options.decode?.(buf, start, end)
      return { rec, text: rec === undefined ? buf.toString('utf8', start, end) : '', range: r, file: r.path, line, offset: base + start, bytes: end - start }
    }
  }

  return {
    next,
    ends: () => done,
    consumed: () => (range === undefined ? before : before + Math.min(range.end, base + pos) - range.start),
  }
}
