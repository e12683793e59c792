import type { SummaryFile } from './transcript-usage.js'

/**
 * The file cursors of a usage summary's base block. The header holds, per file, what an update
 * compares with the listing — path, kind, identity (`dev:ino`), size, mtime, and how far the
 * file was read — and each whole cursor (head hash, line, the readers' states) is JSON in the
 * base block's extra bytes, one object after another at the offsets `at`, parsed only for a
 * file an update reads, moves or finds under another name: a run after one new session compares
 * 2,000 files without building 2,000 cursors (the header of a 400 MB tree is ~1 MB of JSON).
 */

/** The per-file columns in the summary's header. */
export interface FilesHeader {
  paths: string[]
  kinds: string[]
  /** `dev:ino`. */
  ids: string[]
  sizes: number[]
  mtimes: string[]
  offsets: number[]
  /** Where each cursor's JSON is in the extra bytes (n + 1 offsets). */
  at: number[]
}

/** A cursor held: a base file's number (its cursor parsed when used), or the cursor itself. */
export type FileRef = number | SummaryFile

const COLUMNS = ['paths', 'kinds', 'ids', 'sizes', 'mtimes', 'offsets'] as const

export class BaseFiles {
  private readonly parsed: (SummaryFile | null | undefined)[]

  private constructor(readonly h: FilesHeader, private readonly raw: Buffer) {
    this.parsed = new Array<SummaryFile | null | undefined>(h.paths.length)
  }

  /** No file: the cursors of a summary not read. */
  static readonly empty = new BaseFiles({ paths: [], kinds: [], ids: [], sizes: [], mtimes: [], offsets: [], at: [0] }, Buffer.alloc(0))

  get n(): number {
    return this.h.paths.length
  }

  /**
   * The columns of a header and the extra bytes; throws when they do not fit together (the
   * summary is then rebuilt).
   */
  static from(header: Record<string, unknown>, raw: Buffer): BaseFiles {
    const h = header.files as FilesHeader | undefined
    if (typeof h !== 'object' || h === null || !Array.isArray(h.paths) || !Array.isArray(h.at)) throw new Error('no file cursors')
    const n = h.paths.length
    for (const c of COLUMNS) if (!Array.isArray(h[c]) || h[c].length !== n) throw new Error(`file cursors: ${c} of another length`)
    if (h.at.length !== n + 1 || h.at[0] !== 0 || h.at[n] !== raw.length) throw new Error('file cursors: bad offsets')
    for (let i = 0; i < n; i++) if (!(h.at[i]! <= h.at[i + 1]!)) throw new Error('file cursors: bad offsets')
    return new BaseFiles(h, raw)
  }

  /** File `i`'s whole cursor; undefined when its JSON is damaged (the file is then read again from its start). */
  file(i: number): SummaryFile | undefined {
    let f = this.parsed[i]
    if (f === undefined) {
      try {
        const x = JSON.parse(this.raw.toString('utf8', this.h.at[i], this.h.at[i + 1])) as SummaryFile
        f = typeof x === 'object' && x !== null && x.path === this.h.paths[i] && typeof x.offset === 'number' ? x : null
      } catch {
        f = null
      }
      this.parsed[i] = f
    }
    return f ?? undefined
  }

  /** The header columns and extra bytes of `files`. */
  static write(files: readonly SummaryFile[]): { header: FilesHeader; extra: Buffer } {
    const h: FilesHeader = { paths: [], kinds: [], ids: [], sizes: [], mtimes: [], offsets: [], at: [0] }
    const texts: string[] = []
    for (const f of files) {
      h.paths.push(f.path)
      h.kinds.push(f.kind)
      h.ids.push(`${f.dev}:${f.ino}`)
      h.sizes.push(f.size)
      h.mtimes.push(f.mtime)
      h.offsets.push(f.offset)
      texts.push(JSON.stringify(f))
    }
    // One encode of all the cursors, not a buffer per file (2,000 on the bench tree): JSON text
    // has no lone surrogates, so the bytes are each cursor's bytes back to back. Each one's byte
    // length is its string length when all of it is ASCII.
    const all = texts.join('')
    const extra = Buffer.from(all, 'utf8')
    const ascii = extra.length === all.length
    let at = 0
    for (const t of texts) {
      at += ascii ? t.length : Buffer.byteLength(t, 'utf8')
      h.at.push(at)
    }
    return { header: h, extra }
  }
}
