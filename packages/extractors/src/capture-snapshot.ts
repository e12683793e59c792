import { closeSync, openSync, statSync } from 'node:fs'
import type { FileRange } from './line-cursor.js'
import { readAt } from './read-at.js'
import type { CaptureFiles, SourceKind } from './sources.js'

/**
 * node:crypto, required when a file's head is hashed (an update). Not imported at the top: an ES
 * import of a builtin evaluates all of its exports, and node:crypto's include WebCrypto, which
 * then loads — a cost every `agenttap-analyze` run would pay, most of which never hash anything.
 * Nor by `createRequire`: node:module (and its source-map module) would load on every start.
 */
let nodeCrypto: typeof import('node:crypto') | undefined
const sha256 = (buf: Buffer): string => (nodeCrypto ??= process.getBuiltinModule('node:crypto')).createHash('sha256').update(buf).digest('hex')

/**
 * What an update reads: each capture file's identity and size at one moment, matched with how
 * far the index read it before. Files are identified by device + inode and a hash of their
 * first bytes, so a rotated file (renamed) is recognised under its new name, and a file that
 * was truncated or rewritten in place is not mistaken for the one indexed.
 */

/** How far the index read a file. */
export interface SourceState {
  kind: SourceKind
  path: string
  dev: string
  ino: string
  /** sha256 of the first `head_len` bytes. */
  head: string
  head_len: number
  offset: number
  lines: number
}

/** A file of the capture now. */
export interface FileNow {
  kind: SourceKind
  path: string
  dev: string
  ino: string
  size: number
}

const HEAD_BYTES = 4096

/**
 * sha256 (or `hash`) of a file's first `len` bytes ('' when the file is shorter, or gone: a file
 * removed between the listing and this read — a rotated capture, a transcript deleted meanwhile —
 * matches no stored head, so it is read again or its cursor dropped, never a crash).
 */
export function headHash(path: string, len: number, hash: (head: Buffer) => string = sha256): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw err
  }
  try {
    const buf = Buffer.alloc(len)
    return readAt(fd, buf, 0) < len ? '' : hash(buf)
  } finally {
    closeSync(fd)
  }
}

/**
 * Stats the files: flow ends first, then lines, then flows. The proxy writes a flow's record
 * before its lines and its lines before its end, so in that order every line seen has its flow
 * record in the snapshot and every end its lines.
 */
export function statCapture(files: CaptureFiles): FileNow[] {
  const out: FileNow[] = []
  for (const kind of ['ends', 'lines', 'flows'] as const) {
    for (const path of files[kind]) {
      try {
        const st = statSync(path, { bigint: true })
        out.push({ kind, path, dev: String(st.dev), ino: String(st.ino), size: Number(st.size) })
      } catch {
        // removed between the listing and now: a rotation in progress; the next run sees it
      }
    }
  }
  return out
}

/** The outcome of matching the files now with the index's sources. */
export interface SnapshotPlan {
  /** Why the index must be rebuilt from scratch, if it must. */
  rebuild?: string
  /** Byte ranges to read (in capture order per kind). */
  ranges: FileRange[]
  /** The source state each range starts from (new files: offset 0). */
  starts: Map<string, SourceState>
  /** New bytes in the ranges. */
  bytes: number
}

/** Plans an update: where each file is read from, or why everything must be read again. */
export function planUpdate(files: CaptureFiles, now: FileNow[], sources: SourceState[]): SnapshotPlan {
  const starts = new Map<string, SourceState>()
  const ranges: FileRange[] = []
  let bytes = 0
  const used = new Set<SourceState>()
  for (const f of now) {
    let s = sources.find((x) => !used.has(x) && x.kind === f.kind && x.dev === f.dev && x.ino === f.ino)
    if (s !== undefined) {
      if (f.size < s.offset) return { rebuild: `${f.path} shrank from ${s.offset} to ${f.size} bytes (truncated)`, ranges: [], starts, bytes: 0 }
      if (s.head_len > 0 && headHash(f.path, s.head_len) !== s.head) return { rebuild: `${f.path} was rewritten (its first bytes changed)`, ranges: [], starts, bytes: 0 }
    } else {
      // Not seen under this inode: a file copied or moved across file systems keeps its head.
      s = sources.find((x) => !used.has(x) && x.kind === f.kind && x.head_len > 0 && f.size >= x.offset && !now.some((o) => o.dev === x.dev && o.ino === x.ino) && headHash(f.path, x.head_len) === x.head)
    }
    if (s !== undefined) used.add(s)
    const start = s?.offset ?? 0
    const head_len = s?.head_len && s.head_len > 0 ? s.head_len : Math.min(HEAD_BYTES, f.size)
    const state: SourceState = {
      kind: f.kind,
      path: f.path,
      dev: f.dev,
      ino: f.ino,
      head: s?.head && s.head_len > 0 ? s.head : head_len > 0 ? headHash(f.path, head_len) : '',
      head_len,
      offset: start,
      lines: s?.lines ?? 0,
    }
    starts.set(f.path, state)
    if (f.size > start) {
      ranges.push({ kind: f.kind, path: f.path, start, end: f.size, line0: state.lines })
      bytes += f.size - start
    }
  }
  // Capture order inside each kind (rotated files first), as findCaptureFiles lists them.
  const order = new Map<string, number>()
  for (const kind of ['flows', 'lines', 'ends'] as const) files[kind].forEach((p, i) => order.set(p, i))
  ranges.sort((a, b) => (order.get(a.path) ?? 0) - (order.get(b.path) ?? 0))
  return { ranges, starts, bytes }
}
