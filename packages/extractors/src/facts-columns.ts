/**
 * The column format of the wire facts' sections (wire-facts.ts): each section is a JSON head
 * (row count, dictionary, columns) and its columns, every one at a multiple of 8 bytes — numbers
 * in typed arrays, strings as one UTF-8 block with offsets and a null map, repeated strings as
 * numbers into the dictionary — so an answer reads them as views instead of parsing JSON. Also
 * DuckDB's order of the values, which the segments' rows are sorted and merged in.
 */

import { PLAIN } from './ndjson-out.js'
import { bytesOf } from './write-all.js'

export type ColType = 'text' | 'i32' | 'f64' | 'u8'
/** An i32 column's null (dictionary columns use -1). */
export const NULL_I32 = -2147483648

interface ColHead {
  name: string
  type: ColType
  /** text: bytes of the block; whether no value needs escaping in JSON. */
  bytes?: number
  plain?: boolean
}

/** A text column: the values' UTF-8 back to back, their offsets, and which are null. */
export class Text {
  private list: (string | null)[] | undefined
  constructor(readonly b: Buffer, readonly off: Uint32Array, readonly nul: Uint8Array, readonly plain: boolean) {}
  get(i: number): string | null {
    if (this.list !== undefined) return this.list[i]!
    return this.nul[i] === 1 ? null : this.b.toString('utf8', this.off[i]!, this.off[i + 1]!)
  }
  /** Every value (one decode of the block, cut at the offsets). */
  all(): (string | null)[] {
    if (this.list !== undefined) return this.list
    const n = this.nul.length
    const text = this.b.toString('utf8', 0, this.off[n]!)
    const ascii = text.length === this.off[n]!
    const out = new Array<string | null>(n)
    for (let i = 0; i < n; i++) out[i] = this.nul[i] === 1 ? null : ascii ? text.slice(this.off[i]!, this.off[i + 1]!) : this.b.toString('utf8', this.off[i]!, this.off[i + 1]!)
    return (this.list = out)
  }
}

/** One section of one segment, decoded (typed arrays copied out of the file's bytes). */
export interface Part {
  n: number
  dict: string[]
  cols: Record<string, Text | Int32Array | Float64Array | Uint8Array>
}

const pad8 = (n: number): number => (n + 7) & ~7

/**
 * A text column given as bytes: the values' UTF-8 back to back (`off[n]` bytes of `block`),
 * their offsets (n + 1), the null map (1: null), and whether no value needs escaping in JSON.
 */
export interface TextBlock {
  block: Uint8Array
  off: Uint32Array
  nul: Uint8Array
  plain: boolean
}

/** A column to encode: its values read by `get`, or (text) given as a {@link TextBlock}. */
export type EncodeCol = { name: string; type: ColType; get: (i: number) => string | number | null } | { name: string; type: 'text'; block: TextBlock }

/**
 * A section's bytes from rows: `cols` in order, written into one buffer of the section's size
 * (no copy of every column joined at the end).
 */
export function encode(n: number, dict: string[], cols: EncodeCol[]): Buffer {
  const heads: ColHead[] = []
  const blobs: Uint8Array[] = []
  for (const c of cols) {
    if ('block' in c) {
      const at = c.block.off[n]!
      heads.push({ name: c.name, type: 'text', bytes: at, plain: c.block.plain })
      blobs.push(bytesOf(c.block.off), c.block.nul, c.block.block.subarray(0, at))
    } else if (c.type === 'text') {
      const off = new Uint32Array(n + 1)
      const nul = new Uint8Array(n)
      // Each value encoded as it is read (its length in bytes is what the write returns), into a
      // buffer that grows: no joined string to encode again.
      let text = Buffer.allocUnsafe(Math.max(64, 16 * n))
      let at = 0
      let plain = true
      for (let i = 0; i < n; i++) {
        off[i] = at
        const v = c.get(i)
        if (v === null) nul[i] = 1
        else {
          const s = String(v)
          if (plain && !PLAIN.test(s)) plain = false
          // (A UTF-16 unit is at most 3 bytes of UTF-8.)
          if (at + 3 * s.length > text.length) {
            const more = Buffer.allocUnsafe(Math.max(2 * text.length, at + 3 * s.length))
            text.copy(more, 0, 0, at)
            text = more
          }
          at += text.write(s, at)
        }
      }
      off[n] = at
      heads.push({ name: c.name, type: 'text', bytes: at, plain })
      blobs.push(bytesOf(off), nul, text.subarray(0, at))
    } else {
      const a = c.type === 'f64' ? new Float64Array(n) : c.type === 'i32' ? new Int32Array(n) : new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        const v = c.get(i)
        a[i] = v === null ? (c.type === 'f64' ? NaN : c.type === 'i32' ? NULL_I32 : 2) : Number(v)
      }
      heads.push({ name: c.name, type: c.type })
      blobs.push(bytesOf(a))
    }
  }
  const head = Buffer.from(JSON.stringify({ n, dict, cols: heads }), 'utf8')
  // The head's length, the head, then each blob, each at a multiple of 8 (zeros between).
  let size = pad8(4 + head.length)
  for (const b of blobs) size = pad8(size + b.length)
  const out = Buffer.alloc(size)
  out.writeUInt32LE(head.length, 0)
  head.copy(out, 4)
  let at = pad8(4 + head.length)
  for (const b of blobs) {
    out.set(b, at)
    at = pad8(at + b.length)
  }
  return out
}

/**
 * Whether the offsets never go down: they equal their sorted copy (a native sort and compare,
 * not a loop per value, which runs interpreted in a process that reads the facts once).
 */
function ascending(off: Uint32Array): boolean {
  const sorted = off.slice().sort()
  return Buffer.from(sorted.buffer, sorted.byteOffset, sorted.byteLength).equals(Buffer.from(off.buffer, off.byteOffset, off.byteLength))
}

/** A section's columns from its bytes. */
export function decode(b: Buffer): Part {
  const hl = b.readUInt32LE(0)
  const h = JSON.parse(b.toString('utf8', 4, 4 + hl)) as { n: number; dict: string[]; cols: ColHead[] }
  const n = h.n
  let at = pad8(4 + hl)
  const take = (bytes: number): Buffer => {
    if (at + bytes > b.length) throw new Error('truncated section')
    const s = b.subarray(at, at + bytes)
    at += bytes
    return s
  }
  // Views when aligned (a section read into a buffer of its own), else copies.
  const typed = <T>(bytes: number, make: (ab: ArrayBuffer, off: number) => T): T => {
    const s = take(bytes)
    at = pad8(at)
    return s.byteOffset % 8 === 0 ? make(s.buffer as ArrayBuffer, s.byteOffset) : make(s.buffer.slice(s.byteOffset, s.byteOffset + s.length) as ArrayBuffer, 0)
  }
  const bytes = (len: number): Buffer => {
    const s = take(len)
    at = pad8(at)
    return s
  }
  const cols: Part['cols'] = {}
  for (const c of h.cols) {
    if (c.type === 'text') {
      const off = typed(4 * (n + 1), (ab, o) => new Uint32Array(ab, o, n + 1))
      const nul = bytes(n)
      const text = bytes(c.bytes!)
      if (off[n] !== c.bytes) throw new Error('bad text offsets')
      if (!ascending(off)) throw new Error('bad text offsets')
      cols[c.name] = new Text(text, off, nul, c.plain === true)
    } else if (c.type === 'f64') cols[c.name] = typed(8 * n, (ab, o) => new Float64Array(ab, o, n))
    else if (c.type === 'i32') cols[c.name] = typed(4 * n, (ab, o) => new Int32Array(ab, o, n))
    else cols[c.name] = bytes(n)
  }
  return { n, dict: h.dict, cols }
}


export type Value = string | number | boolean | null

/** DuckDB's order of two values: strings by their UTF-8 bytes, numbers, nulls last. */
export function cmpVal(a: Value, b: Value): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  if (typeof a === 'string' && typeof b === 'string') {
    // UTF-16 order is UTF-8 order outside surrogates and U+E000…U+FFFF.
    if (!/[\ud800-\uffff]/.test(a) && !/[\ud800-\uffff]/.test(b)) return a < b ? -1 : 1
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
  }
  return a < b ? -1 : 1
}

/** Two values of text columns by their UTF-8 bytes (DuckDB's order of VARCHAR). */
export function cmpBytes(a: Text, i: number, b: Text, j: number): number {
  let x = a.off[i]!
  const xe = a.off[i + 1]!
  let y = b.off[j]!
  const ye = b.off[j + 1]!
  const ab = a.b
  const bb = b.b
  for (; x < xe && y < ye; x++, y++) if (ab[x] !== bb[y]) return ab[x]! - bb[y]!
  return (xe - x) - (ye - y)
}

/** A column value of row `i` of a part. */
export function val(p: Part, name: string, i: number): Value {
  const c = p.cols[name]!
  if (c instanceof Text) return c.get(i)
  const v = c[i]!
  if (c instanceof Float64Array) return Number.isNaN(v) ? null : v
  if (c instanceof Int32Array) return v === NULL_I32 ? null : v
  return v === 2 ? null : v
}

