import { readSync } from 'node:fs'
import type { UsageCall, UsageColumns } from './transcript-usage-cols.js'

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
 *   u32 × 2n key hashes · u32 × (n+1) key offsets · u32 × (n+1) start time offsets ·
 *   u8 × n has usage · the keys (UTF-8, back to back) · the start times
 *
 * The rows are written in the order of `usage` (start time, key), so that order is a sort of an
 * already sorted run plus the calls appended since.
 */

const MAGIC = 'ATU2'
/** i32 columns per call. */
const INTS = 7
const [SESSION, AGENT, SOURCE, CLIENT, MODEL, STOP, DAY] = [0, 1, 2, 3, 4, 5, 6] as const

/** Two 32-bit hashes of a string's UTF-16 units (FNV-1a and a multiply-xorshift), as one pair. */
export function keyHash(s: string): [number, number] {
  let a = 0x811c9dc5
  let b = 0x9e3779b9 ^ s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return [a >>> 0, (b ^ (b >>> 13)) >>> 0]
}

/** The calls as columns; see the module comment. */
export class UsageTable {
  n = 0
  dict: string[] = []
  private ids: Map<string, number> | undefined
  u = new Float64Array(0)
  ints = new Int32Array(0)
  has = new Uint8Array(0)
  /** The keys' hashes, two u32 a call. */
  h = new Uint32Array(0)
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

  /** Key of call `i`. */
  keyAt(i: number): string {
    let k = this.keyList[i]
    if (k === undefined) this.keyList[i] = k = this.text!.toString('utf8', this.keyOff![i]!, this.keyOff![i + 1]!)
    return k
  }

  /**
   * The base block's text (UTF-8) when call `i`'s key and start time are still there, at
   * {@link keySpan} and {@link tsSpan}; undefined when the call was set since (its strings are in
   * memory).
   */
  textAt(i: number): Buffer | undefined {
    return i < this.baseN && this.moved![i] !== 1 ? this.text : undefined
  }
  /** Bytes of base call `i`'s key in the text. */
  keySpan(i: number): [number, number] {
    return [this.keyOff![i]!, this.keyOff![i + 1]!]
  }
  /** Bytes of base call `i`'s start time in the text. */
  tsSpan(i: number): [number, number] {
    return [this.tsOff![i]!, this.tsOff![i + 1]!]
  }

  /** Whether base call `i` is still where the block had it (the block's rows are in start time, key order). */
  inBaseOrder(i: number): boolean {
    return i < this.baseN && this.moved![i] !== 1
  }

  /** Start time of call `i`. */
  tsAt(i: number): string {
    let t = this.tsList[i]
    if (t === undefined) this.tsList[i] = t = this.text!.toString('utf8', this.tsOff![i]!, this.tsOff![i + 1]!)
    return t
  }

  private decodeAll(list: (string | undefined)[], off: Uint32Array | undefined): void {
    if (this.baseN === 0) return
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

  session(i: number): string {
    return this.str(this.ints[INTS * i + SESSION]!) ?? ''
  }
  sessionId(i: number): number {
    return this.ints[INTS * i + SESSION]!
  }
  agent(i: number): string | null {
    return this.str(this.ints[INTS * i + AGENT]!)
  }
  sourceId(i: number): number {
    return this.ints[INTS * i + SOURCE]!
  }
  client(i: number): string {
    return this.str(this.ints[INTS * i + CLIENT]!) ?? ''
  }
  clientId(i: number): number {
    return this.ints[INTS * i + CLIENT]!
  }
  modelId(i: number): number {
    return this.ints[INTS * i + MODEL]!
  }
  dayId(i: number): number {
    return this.ints[INTS * i + DAY]!
  }
  /** The dictionary number of `s` (-1: not in it). */
  lookup(s: string): number {
    this.ids ??= new Map(this.dict.map((x, i) => [x, i]))
    return this.ids.get(s) ?? -1
  }

  /** Call `i` as an object. */
  call(i: number): UsageCall {
    const u = 6 * i
    const r = this.u[u + 5]!
    return {
      key: this.keyAt(i), ts: this.tsAt(i), session_id: this.session(i), agent: this.agent(i), source: this.str(this.sourceId(i)) ?? '', client: this.client(i),
      model: this.str(this.modelId(i)), has_usage: this.has[i] === 1, input: this.u[u]!, cache_read: this.u[u + 1]!, cache_write_5m: this.u[u + 2]!,
      cache_write_1h: this.u[u + 3]!, output: this.u[u + 4]!, reasoning: r === -1 ? null : r, stop_reason: this.str(this.ints[INTS * i + STOP]!),
    }
  }

  /** Writes call `c` at row `i` (a row past the end grows the table by one). */
  set(i: number, c: UsageCall, hash: [number, number] = keyHash(c.key)): void {
    if (i >= this.n) this.grow(i + 1)
    else this.daily?.add(this, i, -1)
    if (i < this.baseN) this.moved![i] = 1
    this.keyList[i] = c.key
    this.tsList[i] = c.ts
    this.h[2 * i] = hash[0]
    this.h[2 * i + 1] = hash[1]
    const u = 6 * i
    this.u[u] = c.input
    this.u[u + 1] = c.cache_read
    this.u[u + 2] = c.cache_write_5m
    this.u[u + 3] = c.cache_write_1h
    this.u[u + 4] = c.output
    this.u[u + 5] = c.reasoning ?? -1
    const k = INTS * i
    this.ints[k + SESSION] = this.id(c.session_id)
    this.ints[k + AGENT] = this.id(c.agent)
    this.ints[k + SOURCE] = this.id(c.source)
    this.ints[k + CLIENT] = this.id(c.client)
    this.ints[k + MODEL] = this.id(c.model)
    this.ints[k + STOP] = this.id(c.stop_reason)
    this.ints[k + DAY] = this.id(c.ts.slice(0, 10))
    this.has[i] = c.has_usage ? 1 : 0
    this.daily?.add(this, i, 1)
  }

  private grow(n: number): void {
    if (n * 6 > this.u.length) {
      const cap = Math.max(n, Math.ceil((this.u.length / 6) * 1.5), 64)
      const u = new Float64Array(cap * 6)
      u.set(this.u)
      this.u = u
      const ints = new Int32Array(cap * INTS)
      ints.set(this.ints)
      this.ints = ints
      const h = new Uint32Array(cap * 2)
      h.set(this.h)
      this.h = h
      const has = new Uint8Array(cap)
      has.set(this.has)
      this.has = has
    }
    this.n = n
  }

  /**
   * Adds the calls of sink columns, merging a key already here with `merge`. A key is looked up
   * by its hash (one pass over the hash column for the whole part), and a hit is compared with
   * the key itself. Returns how many calls it read.
   */
  add(part: UsageColumns, merge: (had: UsageCall, c: UsageCall) => UsageCall, partCall: (p: UsageColumns, i: number) => UsageCall): number {
    const m = part.key.length
    if (m === 0) return 0
    const hashes = part.key.map(keyHash)
    // The part's calls in a small open hash table by the first hash's low bits (typed arrays: no
    // boxed number per stored call scanned), then one pass over the stored hashes.
    const mask = (1 << Math.max(4, 32 - Math.clz32(4 * m))) - 1
    const slots = new Int32Array(mask + 1).fill(-1)
    const next = new Int32Array(m).fill(-1)
    const ha = new Uint32Array(2 * m)
    for (let j = 0; j < m; j++) {
      ha[2 * j] = hashes[j]![0]
      ha[2 * j + 1] = hashes[j]![1]
      const s = hashes[j]![0] & mask
      next[j] = slots[s]!
      slots[s] = j
    }
    const found = new Map<string, number>()
    const h = this.h
    for (let i = 0; i < this.n; i++) {
      for (let j = slots[h[2 * i]! & mask]!; j !== -1; j = next[j]!) {
        if (ha[2 * j] === h[2 * i] && ha[2 * j + 1] === h[2 * i + 1] && part.key[j] === this.keyAt(i)) found.set(part.key[j]!, i)
      }
    }
    for (let j = 0; j < m; j++) {
      const c = partCall(part, j)
      const i = found.get(c.key)
      if (i === undefined) {
        found.set(c.key, this.n)
        this.set(this.n, c, hashes[j])
      } else this.set(i, merge(this.call(i), c), hashes[j])
    }
    return m
  }

  /**
   * Reads a base block from the start of file `fd` (of `size` bytes), straight into the
   * columns. Returns its header, the table and where the block ends (the appended segments
   * start there).
   */
  static read(fd: number, size: number): { header: Record<string, unknown>; table: UsageTable; end: number } {
    const exact = (into: Uint8Array, at: number): void => {
      let got = 0
      while (got < into.length) {
        const k = readSync(fd, into, got, into.length - got, at + got)
        if (k === 0) throw new Error('truncated')
        got += k
      }
    }
    const pre = Buffer.alloc(8)
    if (size < 8) throw new Error('not a usage summary (bad magic)')
    exact(pre, 0)
    if (pre.toString('latin1', 0, 4) !== MAGIC) throw new Error('not a usage summary (bad magic)')
    const hl = pre.readUInt32LE(4)
    if (8 + hl > size) throw new Error('truncated')
    const hb = Buffer.allocUnsafe(hl)
    exact(hb, 8)
    const header = JSON.parse(hb.toString('utf8')) as Record<string, unknown> & { dict: string[]; n: number; textBytes: number }
    const n = header.n
    if (!Number.isInteger(n) || n < 0 || !Array.isArray(header.dict) || !Number.isInteger(header.textBytes)) throw new Error('bad header')
    let off = (8 + hl + 7) & ~7
    const end = off + 6 * n * 8 + INTS * n * 4 + 2 * n * 4 + 2 * (n + 1) * 4 + n + header.textBytes
    if (end > size) throw new Error('truncated')
    // Room for the calls an update adds, so they do not copy the columns.
    const cap = n + 1024
    const take = <T>(make: new (ab: ArrayBuffer) => T, bytes: number, room: number): T => {
      const ab = new ArrayBuffer(bytes + room)
      exact(new Uint8Array(ab, 0, bytes), off)
      off += bytes
      return new make(ab)
    }
    const t = new UsageTable()
    t.n = t.baseN = n
    t.dict = header.dict
    t.u = take(Float64Array, 6 * n * 8, 6 * (cap - n) * 8)
    t.ints = take(Int32Array, INTS * n * 4, INTS * (cap - n) * 4)
    t.h = take(Uint32Array, 2 * n * 4, 2 * (cap - n) * 4)
    t.keyOff = take(Uint32Array, (n + 1) * 4, 0)
    t.tsOff = take(Uint32Array, (n + 1) * 4, 0)
    t.has = take(Uint8Array, n, cap - n)
    t.text = Buffer.allocUnsafe(header.textBytes)
    exact(t.text, off)
    if (n > 0 && (t.tsOff[n] !== header.textBytes || t.keyOff[0] !== 0 || t.keyOff[n] !== t.tsOff[0])) throw new Error('bad text offsets')
    t.keyList = new Array<string | undefined>(n)
    t.tsList = new Array<string | undefined>(n)
    t.moved = new Uint8Array(n)
    return { header, table: t, end }
  }

  /** The base block of this table with `header`, its rows in the order of `usage` (start time, key). */
  write(header: Record<string, unknown>): Buffer {
    const n = this.n
    const keys = this.keys()
    const ts = this.ts()
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (ts[a]! < ts[b]! ? -1 : ts[a]! > ts[b]! ? 1 : keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0))
    // The keys and start times each as one string; a byte length per item only when not ASCII.
    const keyText = order.map((i) => keys[i]!).join('')
    const tsText = order.map((i) => ts[i]!).join('')
    const keyLen = Buffer.byteLength(keyText, 'utf8')
    const tsLen = Buffer.byteLength(tsText, 'utf8')
    const tsAscii = tsLen === tsText.length
    const keyAscii = keyLen === keyText.length
    const textBytes = keyLen + tsLen
    const head = Buffer.from(JSON.stringify({ ...header, dict: this.dict, n, textBytes }), 'utf8')
    const start = (8 + head.length + 7) & ~7
    const out = Buffer.alloc(start + 6 * n * 8 + INTS * n * 4 + 2 * n * 4 + 2 * (n + 1) * 4 + n + textBytes)
    out.write(MAGIC, 0, 'latin1')
    out.writeUInt32LE(head.length, 4)
    head.copy(out, 8)
    const u = new Float64Array(6 * n)
    const ints = new Int32Array(INTS * n)
    const h = new Uint32Array(2 * n)
    const keyOff = new Uint32Array(n + 1)
    const tsOff = new Uint32Array(n + 1)
    const has = new Uint8Array(n)
    let at = 0
    order.forEach((i, r) => {
      u.set(this.u.subarray(6 * i, 6 * i + 6), 6 * r)
      ints.set(this.ints.subarray(INTS * i, INTS * i + INTS), INTS * r)
      h[2 * r] = this.h[2 * i]!
      h[2 * r + 1] = this.h[2 * i + 1]!
      has[r] = this.has[i]!
      keyOff[r] = at
      at += keyAscii ? keys[i]!.length : Buffer.byteLength(keys[i]!, 'utf8')
    })
    keyOff[n] = at
    order.forEach((i, r) => {
      tsOff[r] = at
      at += tsAscii ? ts[i]!.length : Buffer.byteLength(ts[i]!, 'utf8')
    })
    tsOff[n] = at
    let off = start
    for (const a of [u, ints, h, keyOff, tsOff, has]) {
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, off)
      off += a.byteLength
    }
    off += out.write(keyText, off, 'utf8')
    out.write(tsText, off, 'utf8')
    return out
  }
}
