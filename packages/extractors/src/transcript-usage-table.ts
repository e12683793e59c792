import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import type { UsageCall, UsageColumns } from './transcript-usage-cols.js'

/**
 * The calls of the usage summary in memory and on disk: numbers in typed arrays, repeated
 * strings as numbers into a dictionary, the keys and start times as two text blocks decoded only
 * when a run needs them (`daily` needs neither: each call carries its day's number). On disk:
 *
 *   "ATU1" · u32 header length · header JSON (the summary's version, build, file cursors,
 *   problems, dictionary, call count, block sizes) · zero padding to 8 bytes ·
 *   f64 × 6n usage (input, cache read, cache write 5m, 1h, output, reasoning; -1: null) ·
 *   i32 × 7n (session, agent, source, client, model, stop reason, day; -1: null) · u8 × n has usage ·
 *   the keys joined by "\n" · the start times joined by "\n"
 */

const MAGIC = 'ATU1'
/** i32 columns per call. */
const INTS = 7
const [SESSION, AGENT, SOURCE, CLIENT, MODEL, STOP, DAY] = [0, 1, 2, 3, 4, 5, 6] as const

/** The calls as columns; see the module comment. */
export class UsageTable {
  n = 0
  dict: string[] = []
  private ids: Map<string, number> | undefined
  u = new Float64Array(0)
  ints = new Int32Array(0)
  has = new Uint8Array(0)
  private keyText: string | undefined
  private tsText: string | undefined
  private keyList: string[] | undefined
  private tsList: string[] | undefined

  /** Whether the keys and start times were read (see {@link UsageTable.open}). */
  text = true

  /** The calls' keys (decoded on first use). */
  keys(): string[] {
    if (!this.text) throw new Error('the usage summary was read without its keys')
    if (this.keyList === undefined) this.keyList = this.n === 0 ? [] : this.keyText!.split('\n')
    return this.keyList
  }

  /** The calls' start times (decoded on first use). */
  ts(): string[] {
    if (!this.text) throw new Error('the usage summary was read without its start times')
    if (this.tsList === undefined) this.tsList = this.n === 0 ? [] : this.tsText!.split('\n')
    return this.tsList
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
  agent(i: number): string | null {
    return this.str(this.ints[INTS * i + AGENT]!)
  }
  sourceId(i: number): number {
    return this.ints[INTS * i + SOURCE]!
  }
  client(i: number): string {
    return this.str(this.ints[INTS * i + CLIENT]!) ?? ''
  }
  modelId(i: number): number {
    return this.ints[INTS * i + MODEL]!
  }
  dayId(i: number): number {
    return this.ints[INTS * i + DAY]!
  }

  /** Call `i` as an object. */
  call(i: number): UsageCall {
    const u = 6 * i
    const r = this.u[u + 5]!
    return {
      key: this.keys()[i]!, ts: this.ts()[i]!, session_id: this.session(i), agent: this.agent(i), source: this.str(this.sourceId(i)) ?? '', client: this.client(i),
      model: this.str(this.modelId(i)), has_usage: this.has[i] === 1, input: this.u[u]!, cache_read: this.u[u + 1]!, cache_write_5m: this.u[u + 2]!,
      cache_write_1h: this.u[u + 3]!, output: this.u[u + 4]!, reasoning: r === -1 ? null : r, stop_reason: this.str(this.ints[INTS * i + STOP]!),
    }
  }

  /** Writes call `c` at row `i` (a row past the end grows the table by one). */
  set(i: number, c: UsageCall): void {
    if (i >= this.n) this.grow(i + 1)
    const keys = this.keys()
    const ts = this.ts()
    keys[i] = c.key
    ts[i] = c.ts
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
      const has = new Uint8Array(cap)
      has.set(this.has)
      this.has = has
    }
    this.keys()
    this.ts()
    this.n = n
  }

  /**
   * Reads a summary file: its header and the table; the keys and start times too when
   * `withText(header)` says so (`daily` without a time filter, on an unchanged summary, needs
   * neither: half of the file).
   */
  static open(path: string, withText: (header: Record<string, unknown>) => boolean): { header: Record<string, unknown>; table: UsageTable } {
    const fd = openSync(path, 'r')
    try {
      const size = fstatSync(fd).size
      const exact = (into: Uint8Array, at: number): void => {
        let got = 0
        while (got < into.length) {
          const n = readSync(fd, into, got, into.length - got, at + got)
          if (n === 0) throw new Error('truncated')
          got += n
        }
      }
      const pre = Buffer.alloc(8)
      exact(pre, 0)
      if (pre.toString('latin1', 0, 4) !== MAGIC) throw new Error('not a usage summary (bad magic)')
      const hl = pre.readUInt32LE(4)
      const hb = Buffer.alloc(hl)
      exact(hb, 8)
      const header = JSON.parse(hb.toString('utf8')) as Record<string, unknown> & { dict: string[]; n: number; keyBytes: number; tsBytes: number }
      const n = header.n
      if (!Number.isInteger(n) || n < 0 || !Array.isArray(header.dict)) throw new Error('bad header')
      let off = (8 + hl + 7) & ~7
      if (off + 6 * n * 8 + INTS * n * 4 + n + header.keyBytes + header.tsBytes !== size) throw new Error('truncated or trailing bytes')
      const take = (bytes: number): ArrayBuffer => {
        const ab = new ArrayBuffer(bytes)
        exact(new Uint8Array(ab), off)
        off += bytes
        return ab
      }
      const t = new UsageTable()
      t.n = n
      t.dict = header.dict
      t.u = new Float64Array(take(6 * n * 8))
      t.ints = new Int32Array(take(INTS * n * 4))
      t.has = new Uint8Array(take(n))
      t.text = withText(header)
      if (t.text) {
        const text = Buffer.alloc(header.keyBytes + header.tsBytes)
        exact(text, off)
        t.keyText = text.toString('utf8', 0, header.keyBytes)
        t.tsText = text.toString('utf8', header.keyBytes)
      }
      return { header, table: t }
    } finally {
      closeSync(fd)
    }
  }

  /** The file: `header` plus what the table needs to be read back. */
  write(header: Record<string, unknown>): Buffer {
    const n = this.n
    const keys = Buffer.from(this.keyList !== undefined ? this.keyList.slice(0, n).join('\n') : this.keyText ?? '', 'utf8')
    const ts = Buffer.from(this.tsList !== undefined ? this.tsList.slice(0, n).join('\n') : this.tsText ?? '', 'utf8')
    const head = Buffer.from(JSON.stringify({ ...header, dict: this.dict, n, keyBytes: keys.length, tsBytes: ts.length }), 'utf8')
    const start = (8 + head.length + 7) & ~7
    const out = Buffer.alloc(start + 6 * n * 8 + INTS * n * 4 + n + keys.length + ts.length)
    out.write(MAGIC, 0, 'latin1')
    out.writeUInt32LE(head.length, 4)
    head.copy(out, 8)
    let off = start
    const put = (a: ArrayBufferView): void => {
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, off)
      off += a.byteLength
    }
    put(this.u.subarray(0, 6 * n))
    put(this.ints.subarray(0, INTS * n))
    put(this.has.subarray(0, n))
    keys.copy(out, off)
    ts.copy(out, off + keys.length)
    return out
  }

  /** Adds the calls of sink columns, merging a key already here with `merge`. Returns how many calls it read. */
  add(part: UsageColumns, merge: (had: UsageCall, c: UsageCall) => UsageCall, at: Map<string, number>, partCall: (p: UsageColumns, i: number) => UsageCall): number {
    for (let i = 0; i < part.key.length; i++) {
      const c = partCall(part, i)
      const j = at.get(c.key)
      if (j === undefined) {
        at.set(c.key, this.n)
        this.set(this.n, c)
      } else this.set(j, merge(this.call(j), c))
    }
    return part.key.length
  }
}
