import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/**
 * Whole lines of a file from a byte offset, with a cheap prefilter: a line is handed out only
 * when it contains one of the needles (found in the raw bytes, before any decoding or
 * JSON.parse). Transcript files are append-only; an unterminated last line is being written and
 * is left for the next read.
 */

/** Where a read stopped. */
export interface ReadEnd {
  /** Byte offset after the last whole line read. */
  offset: number
  /** Lines read so far (the line count at `offset`). */
  line: number
  /** Bytes read by this call. */
  bytes: number
  /** Lines seen by this call. */
  lines: number
  /** The file's size when its end was read (its last bytes may be an unterminated line). */
  size: number
  /**
   * With `headBytes`, a read from the start: the file's first bytes as read, up to `headBytes`
   * and not past `offset` (a view of a buffer the next read reuses).
   */
  head?: Buffer
}

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** Hand out only lines containing one of these (raw bytes). */
  needles: Buffer[]
  /**
   * Decides a line without the needle search when it can (the format puts a line's type at a
   * known end of it): `true` hands it out, `false` skips it, `undefined` searches the needles.
   */
  classify?: (buf: Buffer, start: number, end: number) => boolean | undefined
  /** Start here (a line start). @defaultValue 0 */
  offset?: number
  /** Lines before `offset`. @defaultValue 0 */
  line?: number
  /** Lines longer than this are skipped and reported. @defaultValue 64 MiB */
  maxLineBytes?: number
  /** Chunk size. @defaultValue 4 MiB */
  chunkBytes?: number
  /** Keep the first this many bytes of a read from the start ({@link ReadEnd.head}). @defaultValue 0 */
  headBytes?: number
  /**
   * The file's size as the caller knows it (e.g. listed a moment ago): the buffer is sized for
   * it without a stat of the file (a read of a file that has grown since just takes more reads).
   * @defaultValue its size now (fstat)
   */
  size?: number
  onLine: (buf: Buffer, start: number, end: number, line: number, offset: number) => void
  onLongLine?: (line: number, offset: number, bytes: number) => void
}

/**
 * One read buffer per thread, reused from file to file: a fresh buffer per file costs page
 * faults (system time) for every transcript of a tree of thousands.
 */
let pool: Buffer | undefined
/** The first bytes of the last file read from its start (see {@link ReadEnd.head}). */
let headPool: Buffer | undefined

/** Finds a needle scanning each byte once per chunk: the next occurrence is kept while lines move past it. */
function createFinder(needle: Buffer): (buf: Buffer, start: number, end: number) => boolean {
  let lastBuf: Buffer | undefined
  let next = -1
  let from = -1
  return (buf, start, end) => {
    if (buf !== lastBuf || start < from || (next !== -1 && next < start)) {
      next = buf.indexOf(needle, start)
      lastBuf = buf
    }
    from = start
    return next !== -1 && next + needle.length <= end
  }
}

/**
 * Where one of `needles` first occurs in `buf[start, end)` (a whole needle inside the range),
 * searched from the start (`fromEnd`: the last occurrence, from the end); -1 when none does.
 * For a look at the first hundred bytes or so of a line (a Codex rollout's types): a loop here
 * costs less than `buf.subarray(…).indexOf(…)`, an object and a call into C++ per needle per
 * line (over longer ranges, a Claude line's last 400 bytes, the native search wins).
 */
export function findIn(buf: Uint8Array, start: number, end: number, needles: readonly Uint8Array[], fromEnd = false): number {
  // The needles' first bytes (every needle here starts with a quote).
  const first = needles[0]![0]!
  for (const n of needles) if (n[0] !== first) return findEach(buf, start, end, needles, fromEnd)
  const step = fromEnd ? -1 : 1
  for (let i = fromEnd ? end - 1 : start; fromEnd ? i >= start : i < end; i += step) {
    if (buf[i] !== first) continue
    for (let k = 0; k < needles.length; k++) {
      const n = needles[k]!
      if (i + n.length > end) continue
      let j = 1
      while (j < n.length && buf[i + j] === n[j]) j++
      if (j === n.length) return i
    }
  }
  return -1
}

/** {@link findIn} for needles that do not share a first byte. */
function findEach(buf: Uint8Array, start: number, end: number, needles: readonly Uint8Array[], fromEnd: boolean): number {
  let best = -1
  for (const n of needles) {
    const at = fromEnd ? findIn(buf, start, end, [n], true) : findIn(buf, start, end, [n])
    if (at !== -1 && (best === -1 || (fromEnd ? at > best : at < best))) best = at
  }
  return best
}

/** Reads the whole lines of `path` from `offset` to its end; see the module comment. */
export function readLines(path: string, options: ReadLinesOptions): ReadEnd {
  const chunk = options.chunkBytes ?? 4 << 20
  const maxLine = options.maxLineBytes ?? 64 << 20
  const finders = options.needles.map(createFinder)
  const fd = openSync(path, 'r')
  let pos = options.offset ?? 0
  let line = options.line ?? 0
  let lines = 0
  const start0 = pos
  // A buffer the size of what there is to read (most transcripts are far smaller than a chunk),
  // the thread's pooled one when it is large enough.
  const want = Math.max(64 << 10, Math.min(chunk, (options.size ?? fstatSync(fd).size) - pos + 1))
  let buf = pool !== undefined && pool.length >= want && pool.length <= chunk ? pool : Buffer.allocUnsafe(want)
  if (buf.length <= chunk) pool = buf
  // Bytes of buf[0..have) are unconsumed, starting at file offset `pos`.
  let have = 0
  let skipping = false
  let longStart = 0
  let size = pos
  const headBytes = pos === 0 ? (options.headBytes ?? 0) : 0
  let headLen = 0
  try {
    for (;;) {
      if (have === buf.length) {
        // A line longer than the buffer: grow up to the cap, then skip it.
        if (buf.length < maxLine) {
          const bigger = Buffer.allocUnsafe(Math.min(maxLine + 1, buf.length * 2))
          buf.copy(bigger, 0, 0, have)
          buf = bigger
        } else {
          skipping = true
          longStart = pos
          pos += have
          have = 0
        }
      }
      const n = readSync(fd, buf, have, buf.length - have, pos + have)
      if (n === 0) {
        size = pos + have
        break
      }
      if (headLen < headBytes && pos + have === headLen) {
        // The file's first bytes, before the buffer is reused for the next ones.
        if (headPool === undefined || headPool.length < headBytes) headPool = Buffer.allocUnsafe(headBytes)
        headLen += buf.copy(headPool, headLen, have, have + Math.min(n, headBytes - headLen))
      }
      let s = 0
      const end = have + n
      // Searches stop at the end of what was read: past it are stale bytes of an earlier chunk.
      const view = buf.subarray(0, end)
      for (;;) {
        const nl = view.indexOf(10, s)
        if (nl === -1) break
        line++
        lines++
        if (skipping) {
          // The rest of an over-long line: it ends here.
          skipping = false
          options.onLongLine?.(line, longStart, pos + nl - longStart)
        } else {
          const c = options.classify?.(view, s, nl)
          if (c === true || (c === undefined && finders.some((f) => f(view, s, nl)))) options.onLine(view, s, nl, line, pos + s)
        }
        s = nl + 1
      }
      if (skipping) {
        // Still inside the long line: drop what was read of it.
        pos += end
        have = 0
        continue
      }
      pos += s
      have = end - s
      if (have > 0 && s > 0) buf.copy(buf, 0, s, end)
    }
  } finally {
    closeSync(fd)
  }
  const end: ReadEnd = { offset: pos, line, bytes: pos - start0, lines, size }
  if (headBytes > 0 && headLen >= Math.min(headBytes, pos)) end.head = headPool!.subarray(0, Math.min(headBytes, pos))
  return end
}
