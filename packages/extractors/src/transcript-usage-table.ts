import { closeSync } from 'node:fs'
import { readAt } from './read-at.js'
import { hashAll, usageMergeOrder } from './transcript-usage-cols.js'
import type { UsageCall, UsageColumns } from './transcript-usage-cols.js'
import { keyHash, matchRows } from './transcript-usage-hash.js'
import { INTS, MAGIC, writeBlock } from './transcript-usage-block.js'

export { keyHash }

/**
 * The calls of the usage summary in memory and in its base block on disk: numbers in typed
 * arrays, repeated strings as numbers into a dictionary, each key's 64-bit hash (two u32), and
 * the keys and start times as two text blocks with their offsets, decoded only when a run needs
 * them (`daily` needs neither: each call carries its day's number; a merge compares one key). A
 * new call is told from one already here by its hash, and a hash hit is checked against the key
 * itself, so nothing but the typed arrays is read for an update. The base block:
 *
 *   "ATU2" · u32 header length · header JSON (the summary's version, build, file cursors,
 *   problems, dictionary, call count, block sizes) · zero padding to 8 bytes ·
 *   f64 × 6n usage (input, cache read, cache write 5m, 1h, output, reasoning; -1: null) ·
 *   i32 × 7n (session, agent, source, client, model, stop reason, day; -1: null) ·
 *   u32 × 2n key hashes · u32 × n hash order · u32 × (n+1) key offsets · u32 × (n+1) start
 *   time offsets · u8 × n has usage · the keys (UTF-8, back to back) · the start times · the owner's extra
 *   bytes (`extraBytes` in the header: the summary's file cursors, read by the summary)
 *
 * The rows are written in the order of `usage` (start time, key), so that order is a sort of an
 * already sorted run plus the calls appended since. The hash order (the rows by their first
 * key hash) lets an update find the stored calls of the keys it read by binary search, instead of
 * a pass over every stored hash (48k calls: ~6 ms of a warm `daily` that read 200).
 *
 * A table read from a file is lazy: {@link UsageTable.read} reads the header and checks the
 * block's bounds, and each column is read (by offset, from the file descriptor it keeps) on first
 * use — the key hashes when an update looks keys up, one call's numbers and strings when a new
 * piece merges with it, whole columns only for answers over every call (`usage`, `cost`, a
 * filtered `daily`) or a rewrite. The base block of a file is never changed in place (an update
 * appends; a rewrite goes to a new file renamed over it), so what is read later is what was
 * there at the start. The descriptor is closed once everything is in memory, by
 * {@link UsageTable.close}, or when the table is collected.
 */

const [SESSION, AGENT, SOURCE, CLIENT, MODEL, STOP, DAY] = [0, 1, 2, 3, 4, 5, 6] as const

/** Closes the descriptor of a lazy table that was collected before it read everything. */
const fds = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
})

/** Reads exactly `into.length` bytes of `fd` at `at`. */
function pread(fd: number, into: Uint8Array, at: number): void {
  if (readAt(fd, into, at) < into.length) throw new Error('truncated usage summary')
}

/** Where a base block's columns are in its file. */
interface Layout {
  u: number
  ints: number
  h: number
  perm: number
  keyOff: number
  tsOff: number
  has: number
  text: number
}

/** The calls as columns; see the module comment. */
export class UsageTable {
  n = 0
  dict: string[] = []
  private ids: Map<string, number> | undefined
  private _u = new Float64Array(0)
  private _ints = new Int32Array(0)
  private _has = new Uint8Array(0)
  private _h = new Uint32Array(0)
  /** The file a lazy table reads its base block from, and where the columns are in it. */
  private fd: number | undefined
  private at: Layout | undefined
  /** Which columns are still on disk (only the base rows; rows set since are in memory). */
  private colsOut = false
  private hOut = false
  /** The base rows by first key hash (see the module comment), read on first use; undefined: none (a table made in memory). */
  private perm: Uint32Array | undefined
  private permOut = false
  private textOut = false
  /** Base rows whose numbers were read one by one (1) while the columns are out. */
  private rowIn: Uint8Array | undefined
  /** The base block's text (keys, start times) and where each one is in it. */
  private text: Buffer | undefined
  private keyOff: Uint32Array | undefined
  private tsOff: Uint32Array | undefined
  /** Calls read from the base block (rows below it that were not set since are still in its order). */
  baseN = 0
  /** Base rows set since the block was read (their text and order may have changed). */
  private moved: Uint8Array | undefined
  /** Keys and start times decoded or set since (holes: still in `text`). */
  private keyList: (string | undefined)[] = []
  private tsList: (string | undefined)[] = []
  private allKeys = false
  private allTs = false
  /** Running sums kept up to date as calls are set (see transcript-usage-daily.ts). */
  daily: { add(t: UsageTable, i: number, sign: 1 | -1): void } | undefined

  /** The usage numbers, 6 a call (every call read; see {@link usageOf} for one). */
  get u(): Float64Array {
    if (this.colsOut) this.loadCols()
    return this._u
  }
  /** The i32 columns, 7 a call (every call read). */
  get ints(): Int32Array {
    if (this.colsOut) this.loadCols()
    return this._ints
  }
  /** Whether each call has usage, 0/1 (every call read; see {@link hasAt} for one). */
  get has(): Uint8Array {
    if (this.colsOut) this.loadCols()
    return this._has
  }
  /** The keys' hashes, two u32 a call. */
  get h(): Uint32Array {
    if (this.hOut) {
      pread(this.fd!, new Uint8Array(this._h.buffer, 0, 8 * this.baseN), this.at!.h)
      this.hOut = false
      this.closeIfDone()
    }
    return this._h
  }

  /** The base rows in the order of their first key hash (read on first use); undefined for a table made in memory. */
  private hashOrder(): Uint32Array | undefined {
    if (this.permOut) {
      const perm = new Uint32Array(this.baseN)
      pread(this.fd!, new Uint8Array(perm.buffer), this.at!.perm)
      this.perm = perm
      this.permOut = false
      this.closeIfDone()
    }
    return this.perm
  }

  /** Reads base row `i`'s numbers when the columns are still on disk. */
  private row(i: number): void {
    if (this.colsOut && i < this.baseN && this.rowIn![i] !== 1) {
      const at = this.at!
      pread(this.fd!, new Uint8Array(this._u.buffer, 48 * i, 48), at.u + 48 * i)
      pread(this.fd!, new Uint8Array(this._ints.buffer, 4 * INTS * i, 4 * INTS), at.ints + 4 * INTS * i)
      pread(this.fd!, new Uint8Array(this._has.buffer, i, 1), at.has + i)
      this.rowIn![i] = 1
    }
  }

  /** Reads the whole u, ints and has columns (rows set since keep their values). */
  private loadCols(): void {
    const keep: [number, Float64Array, Int32Array, number][] = []
    const moved = this.moved!
    for (let i = 0; i < this.baseN; i++) if (moved[i] === 1) keep.push([i, this._u.slice(6 * i, 6 * i + 6), this._ints.slice(INTS * i, INTS * i + INTS), this._has[i]!])
    const n = this.baseN
    pread(this.fd!, new Uint8Array(this._u.buffer, 0, 48 * n), this.at!.u)
    pread(this.fd!, new Uint8Array(this._ints.buffer, 0, 4 * INTS * n), this.at!.ints)
    pread(this.fd!, new Uint8Array(this._has.buffer, 0, n), this.at!.has)
    for (const [i, u, ints, has] of keep) {
      this._u.set(u, 6 * i)
      this._ints.set(ints, INTS * i)
      this._has[i] = has
    }
    this.colsOut = false
    this.rowIn = undefined
    this.closeIfDone()
  }

  /** Reads the key and start time offsets and the text block. */
  private loadText(): void {
    const n = this.baseN
    const at = this.at!
    this.keyOff = new Uint32Array(n + 1)
    this.tsOff = new Uint32Array(n + 1)
    pread(this.fd!, new Uint8Array(this.keyOff.buffer), at.keyOff)
    pread(this.fd!, new Uint8Array(this.tsOff.buffer), at.tsOff)
    this.text = Buffer.allocUnsafe(this.tsOff[n]!)
    pread(this.fd!, this.text, at.text)
    for (let i = 0; i < n; i++) if (this.keyOff[i]! > this.keyOff[i + 1]! || this.tsOff[i]! > this.tsOff[i + 1]!) throw new Error('bad text offsets')
    this.textOut = false
    this.closeIfDone()
  }

  /** Base row `i`'s string `which` (0: key, 1: start time) read alone, the text block being on disk. */
  private textOne(i: number, which: 0 | 1): string {
    const at = this.at!
    const o = Buffer.allocUnsafe(8)
    pread(this.fd!, o, (which === 0 ? at.keyOff : at.tsOff) + 4 * i)
    const a = o.readUInt32LE(0)
    const b = o.readUInt32LE(4)
    if (b < a || b > this.textBytes) throw new Error('bad text offsets')
    const s = Buffer.allocUnsafe(b - a)
    pread(this.fd!, s, at.text + a)
    return s.toString('utf8')
  }
  private textBytes = 0

  private closeIfDone(): void {
    if (this.fd !== undefined && !this.colsOut && !this.hOut && !this.textOut && !this.permOut) this.close()
  }

  /**
   * Reads whatever is still on disk and closes the file (a table read lazily otherwise keeps its
   * descriptor until it has read everything or is collected).
   */
  loadAll(): void {
    if (this.hOut) void this.h
    if (this.permOut) this.hashOrder()
    if (this.colsOut) this.loadCols()
    if (this.textOut) this.loadText()
  }

  /** Closes the file of a lazy table without reading the rest: only for a table no longer used. */
  close(): void {
    if (this.fd === undefined) return
    fds.unregister(this)
    const fd = this.fd
    this.fd = undefined
    closeSync(fd)
  }

  /** Whether call `i` has usage. */
  hasAt(i: number): boolean {
    this.row(i)
    return this._has[i] === 1
  }
  /** The usage numbers with call `i`'s at `6 * i` (only that call's read). */
  usageOf(i: number): Float64Array {
    this.row(i)
    return this._u
  }

  /** Key of call `i`. */
  keyAt(i: number): string {
    let k = this.keyList[i]
    if (k === undefined) this.keyList[i] = k = this.textOut ? this.textOne(i, 0) : this.text!.toString('utf8', this.keyOff![i]!, this.keyOff![i + 1]!)
    return k
  }

  /**
   * The base block's text (UTF-8) when call `i`'s key and start time are still there, at
   * {@link keySpan} and {@link tsSpan}; undefined when the call was set since (its strings are in
   * memory).
   */
  textAt(i: number): Buffer | undefined {
    if (this.textOut) this.loadText()
    return i < this.baseN && this.moved![i] !== 1 ? this.text : undefined
  }
  /** Bytes of base call `i`'s key in the text. */
  keySpan(i: number): [number, number] {
    if (this.textOut) this.loadText()
    return [this.keyOff![i]!, this.keyOff![i + 1]!]
  }
  /** Bytes of base call `i`'s start time in the text. */
  tsSpan(i: number): [number, number] {
    if (this.textOut) this.loadText()
    return [this.tsOff![i]!, this.tsOff![i + 1]!]
  }

  /** Whether base call `i` is still where the block had it (the block's rows are in start time, key order). */
  inBaseOrder(i: number): boolean {
    return i < this.baseN && this.moved![i] !== 1
  }

  /** Start time of call `i`. */
  tsAt(i: number): string {
    let t = this.tsList[i]
    if (t === undefined) this.tsList[i] = t = this.textOut ? this.textOne(i, 1) : this.text!.toString('utf8', this.tsOff![i]!, this.tsOff![i + 1]!)
    return t
  }

  private decodeAll(list: (string | undefined)[], off: Uint32Array | undefined): void {
    if (this.baseN === 0) return
    if (this.textOut) this.loadText()
    off = list === this.keyList ? this.keyOff : this.tsOff
    // One decode of the whole block, cut at the offsets (cheaper than n small decodes).
    const start = off![0]!
    const all = this.text!.toString('utf8', start, off![this.baseN]!)
    const ascii = all.length === off![this.baseN]! - start
    for (let i = 0; i < this.baseN; i++) {
      if (list[i] !== undefined) continue
      list[i] = ascii ? all.slice(off![i]! - start, off![i + 1]! - start) : this.text!.toString('utf8', off![i]!, off![i + 1]!)
    }
  }

  /** The calls' keys (decoded on first use). */
  keys(): string[] {
    if (!this.allKeys) {
      this.decodeAll(this.keyList, this.keyOff)
      this.allKeys = true
    }
    return this.keyList as string[]
  }

  /** The calls' start times (decoded on first use). */
  ts(): string[] {
    if (!this.allTs) {
      this.decodeAll(this.tsList, this.tsOff)
      this.allTs = true
    }
    return this.tsList as string[]
  }

  str(i: number): string | null {
    return i === -1 ? null : this.dict[i] ?? null
  }

  private id(s: string | null): number {
    if (s === null) return -1
    this.ids ??= new Map(this.dict.map((x, i) => [x, i]))
    let n = this.ids.get(s)
    if (n === undefined) {
      n = this.dict.length
      this.dict.push(s)
      this.ids.set(s, n)
    }
    return n
  }

  /** Column `c` of call `i`'s i32s (only that call read). */
  private int(i: number, c: number): number {
    this.row(i)
    return this._ints[INTS * i + c]!
  }

  session(i: number): string {
    return this.str(this.int(i, SESSION)) ?? ''
  }
  sessionId(i: number): number {
    return this.int(i, SESSION)
  }
  agent(i: number): string | null {
    return this.str(this.int(i, AGENT))
  }
  sourceId(i: number): number {
    return this.int(i, SOURCE)
  }
  client(i: number): string {
    return this.str(this.int(i, CLIENT)) ?? ''
  }
  clientId(i: number): number {
    return this.int(i, CLIENT)
  }
  modelId(i: number): number {
    return this.int(i, MODEL)
  }
  dayId(i: number): number {
    return this.int(i, DAY)
  }
  /** The dictionary number of `s` (-1: not in it). */
  lookup(s: string): number {
    this.ids ??= new Map(this.dict.map((x, i) => [x, i]))
    return this.ids.get(s) ?? -1
  }

  /** Call `i` as an object. */
  call(i: number): UsageCall {
    this.row(i)
    const u = 6 * i
    const r = this._u[u + 5]!
    return {
      key: this.keyAt(i), ts: this.tsAt(i), session_id: this.session(i), agent: this.agent(i), source: this.str(this.sourceId(i)) ?? '', client: this.client(i),
      model: this.str(this.modelId(i)), has_usage: this._has[i] === 1, input: this._u[u]!, cache_read: this._u[u + 1]!, cache_write_5m: this._u[u + 2]!,
      cache_write_1h: this._u[u + 3]!, output: this._u[u + 4]!, reasoning: r === -1 ? null : r, stop_reason: this.str(this.int(i, STOP)),
    }
  }

  /** Writes call `c` at row `i` (a row past the end grows the table by one). */
  set(i: number, c: UsageCall, hash: [number, number] = keyHash(c.key)): void {
    if (i >= this.n) this.grow(i + 1)
    else this.daily?.add(this, i, -1)
    if (i < this.baseN) {
      this.row(i)
      this.moved![i] = 1
    }
    const h = this.h
    this.keyList[i] = c.key
    this.tsList[i] = c.ts
    h[2 * i] = hash[0]
    h[2 * i + 1] = hash[1]
    const uu = this._u
    const u = 6 * i
    uu[u] = c.input
    uu[u + 1] = c.cache_read
    uu[u + 2] = c.cache_write_5m
    uu[u + 3] = c.cache_write_1h
    uu[u + 4] = c.output
    uu[u + 5] = c.reasoning ?? -1
    const ints = this._ints
    const k = INTS * i
    ints[k + SESSION] = this.id(c.session_id)
    ints[k + AGENT] = this.id(c.agent)
    ints[k + SOURCE] = this.id(c.source)
    ints[k + CLIENT] = this.id(c.client)
    ints[k + MODEL] = this.id(c.model)
    ints[k + STOP] = this.id(c.stop_reason)
    ints[k + DAY] = this.id(c.ts.slice(0, 10))
    this._has[i] = c.has_usage ? 1 : 0
    this.daily?.add(this, i, 1)
  }

  private grow(n: number): void {
    this.reserve((this.n = n))
  }

  /** Room for `n` calls (grown by half at least); columns still on disk are copied as the zeros they hold, read later. */
  private reserve(n: number): void {
    if (n * 6 > this._u.length) {
      const cap = Math.max(n, Math.ceil((this._u.length / 6) * 1.5), 64)
      const u = new Float64Array(cap * 6)
      u.set(this._u)
      this._u = u
      const ints = new Int32Array(cap * INTS)
      ints.set(this._ints)
      this._ints = ints
      const h = new Uint32Array(cap * 2)
      h.set(this._h)
      this._h = h
      const has = new Uint8Array(cap)
      has.set(this._has)
      this._has = has
    }
  }

  /**
   * Adds the calls of sink columns, merging a key already here with `merge`. A key is looked up
   * by its hash (one pass over the hash column for the whole part), and a hit is compared with
   * the key itself. A call whose key is new is copied column by column (no call object); the
   * hashes and days the reading thread worked out are used when the part has them. Several
   * parts (each in `usage` order, e.g. one per thread of a read) are taken in their merged
   * `usage` order ({@link usageMergeOrder}): a new table then holds its calls in that order,
   * copied once. Returns how many calls it read.
   */
  add(parts: UsageColumns | UsageColumns[], merge: (had: UsageCall, c: UsageCall) => UsageCall, partCall: (p: UsageColumns, i: number) => UsageCall): number {
    const ps = Array.isArray(parts) ? parts : [parts]
    // Call j is call at[j] of part from[j].
    const { from, row: at } = ps.length === 1 ? { from: new Array<number>(ps[0]!.key.length).fill(0), row: Array.from({ length: ps[0]!.key.length }, (_, j) => j) } : usageMergeOrder(ps)
    const m = at.length
    if (m === 0) return 0
    const hashes = ps.map((p) => (p.h?.length === 2 * p.key.length ? p.h : hashAll(p.key)))
    const keys = ps.length === 1 ? ps[0]!.key : at.map((i, j) => ps[from[j]!]!.key[i]!)
    const ha = ps.length === 1 ? hashes[0]! : new Uint32Array(2 * m)
    if (ps.length > 1) {
      for (let j = 0; j < m; j++) {
        ha[2 * j] = hashes[from[j]!]![2 * at[j]!]!
        ha[2 * j + 1] = hashes[from[j]!]![2 * at[j]! + 1]!
      }
    }
    const { row, same } = matchRows(keys, ha, this.h, this.n, this.baseN, this.hashOrder(), (i) => this.keyAt(i))
    // Each part's dictionary numbers as this table's.
    const ids = ps.map((p) => Int32Array.from(p.dict, (x) => this.id(x)))
    // Rows first (a new key the next one, a key seen before its row); the new calls are copied
    // column by column (short loops, optimized soon), the others merged in order.
    const fresh: number[] = []
    const merges: number[] = []
    let next = this.n
    for (let j = 0; j < m; j++) {
      const i = same[j] !== -1 ? row[same[j]!]! : row[j]!
      if (i === -1) {
        row[j] = next++
        fresh.push(j)
      } else {
        row[j] = i
        merges.push(j)
      }
    }
    this.appendAll(ps, from, at, fresh, ids, ha)
    for (const j of merges) this.set(row[j]!, merge(this.call(row[j]!), partCall(ps[from[j]!]!, at[j]!)), [ha[2 * j]!, ha[2 * j + 1]!])
    return m
  }

  /** Appends calls `js` (call at[j] of part from[j]) as new rows, in that order ({@link set} without a call object). */
  private appendAll(ps: UsageColumns[], from: number[], at: number[], js: number[], ids: Int32Array[], ha: ArrayLike<number>): void {
    const i0 = this.n
    const k = js.length
    this.grow(i0 + k)
    const [h, u, ints, has] = [this.h, this._u, this._ints, this._has]
    for (let r = 0; r < k; r++) {
      const i = i0 + r
      const j = js[r]!
      const p = ps[from[j]!]!
      const x = at[j]!
      this.keyList[i] = p.key[x]!
      this.tsList[i] = p.ts[x]!
      h[2 * i] = ha[2 * j]!
      h[2 * i + 1] = ha[2 * j + 1]!
      for (let y = 0; y < 6; y++) u[6 * i + y] = p.u[6 * x + y]!
      has[i] = p.has[x] === 1 ? 1 : 0
    }
    const col = (src: ArrayLike<number>[], c: number): void => {
      for (let r = 0; r < k; r++) {
        const j = js[r]!
        const v = src[from[j]!]![at[j]!]!
        ints[INTS * (i0 + r) + c] = v === -1 ? -1 : (ids[from[j]!]![v] ?? -1)
      }
    }
    for (const [c, pick] of [[SESSION, (p: UsageColumns) => p.session], [AGENT, (p: UsageColumns) => p.agent], [SOURCE, (p: UsageColumns) => p.source], [CLIENT, (p: UsageColumns) => p.client], [MODEL, (p: UsageColumns) => p.model], [STOP, (p: UsageColumns) => p.stop]] as const) col(ps.map(pick), c)
    if (ps.every((p) => p.day?.length === p.key.length)) col(ps.map((p) => p.day!), DAY)
    else for (let r = 0; r < k; r++) ints[INTS * (i0 + r) + DAY] = this.id(ps[from[js[r]!]!]!.ts[at[js[r]!]!]!.slice(0, 10))
    if (this.daily !== undefined) for (let r = 0; r < k; r++) this.daily.add(this, i0 + r, 1)
  }

  /**
   * Reads a base block's header from the start of file `fd` (of `size` bytes) and checks where
   * its columns are; the columns are read on first use (see the module comment). On success the
   * table owns `fd` (it closes it); on an error the caller still does. Returns the header, the
   * table and where the block ends (the appended segments start there).
   */
  static read(fd: number, size: number): { header: Record<string, unknown>; table: UsageTable; end: number; extra: { at: number; bytes: number } } {
    const pre = Buffer.alloc(8)
    if (size < 8) throw new Error('not a usage summary (bad magic)')
    pread(fd, pre, 0)
    if (pre.toString('latin1', 0, 4) !== MAGIC) throw new Error('not a usage summary (bad magic)')
    const hl = pre.readUInt32LE(4)
    if (8 + hl > size) throw new Error('truncated')
    const hb = Buffer.allocUnsafe(hl)
    pread(fd, hb, 8)
    const header = JSON.parse(hb.toString('utf8')) as Record<string, unknown> & { dict: string[]; n: number; textBytes: number; extraBytes?: number }
    const n = header.n
    const extraBytes = header.extraBytes ?? 0
    if (!Number.isInteger(n) || n < 0 || !Array.isArray(header.dict) || !Number.isInteger(header.textBytes) || header.textBytes < 0 || !Number.isInteger(extraBytes) || extraBytes < 0) throw new Error('bad header')
    let off = (8 + hl + 7) & ~7
    const place = (bytes: number): number => {
      const at = off
      off += bytes
      return at
    }
    const at: Layout = { u: place(6 * n * 8), ints: place(INTS * n * 4), h: place(2 * n * 4), perm: place(n * 4), keyOff: place((n + 1) * 4), tsOff: place((n + 1) * 4), has: place(n), text: place(header.textBytes) }
    const extra = { at: place(extraBytes), bytes: extraBytes }
    const end = off
    if (end > size) throw new Error('truncated')
    if (n > 0) {
      // The text block's bounds (each offset is checked when the offsets are read).
      const o = Buffer.allocUnsafe(4)
      const u32 = (p: number): number => (pread(fd, o, p), o.readUInt32LE(0))
      if (u32(at.keyOff) !== 0 || u32(at.keyOff + 4 * n) !== u32(at.tsOff) || u32(at.tsOff + 4 * n) !== header.textBytes) throw new Error('bad text offsets')
    }
    // Room for the calls an update adds, so they do not copy the columns. Zeroed arrays that
    // are not written cost no memory; a column is read into its array when first used.
    const cap = n + 1024
    const t = new UsageTable()
    t.n = t.baseN = n
    t.dict = header.dict
    t._u = new Float64Array(6 * cap)
    t._ints = new Int32Array(INTS * cap)
    t._h = new Uint32Array(2 * cap)
    t._has = new Uint8Array(cap)
    t.keyList = new Array<string | undefined>(n)
    t.tsList = new Array<string | undefined>(n)
    t.moved = new Uint8Array(n)
    t.textBytes = header.textBytes
    if (n > 0) {
      t.fd = fd
      t.at = at
      t.colsOut = t.hOut = t.textOut = t.permOut = true
      t.rowIn = new Uint8Array(n)
      fds.register(t, fd, t)
    } else closeSync(fd)
    return { header, table: t, end, extra }
  }

  /**
   * The base block of this table with `header`, its rows in the order of `usage` (start time,
   * key), and the owner's `extra` bytes at its end (transcript-usage-block.ts).
   */
  write(header: Record<string, unknown>, extra: Uint8Array = new Uint8Array(0)): Buffer {
    const pieces: Buffer[] = []
    this.writeTo(header, extra, (b) => void pieces.push(Buffer.from(b)))
    return Buffer.concat(pieces)
  }

  /** {@link write} in pieces to `emit` (each written or copied at once; see writeBlock). */
  writeTo(header: Record<string, unknown>, extra: Uint8Array, emit: (piece: Uint8Array) => void): void {
    this.loadAll()
    writeBlock(this, header, extra, emit)
  }
}
