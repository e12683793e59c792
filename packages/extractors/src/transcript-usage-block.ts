import { hashOrderOf } from './transcript-usage-hash.js'
import type { UsageTable } from './transcript-usage-table.js'
import { bytesOf } from './write-all.js'

/**
 * The writer of a usage table's base block (layout: transcript-usage-table.ts): the columns
 * written through views of the output, rows already in `usage` order copied column by column.
 */

export const MAGIC = 'ATU3'
/** i32 columns per call. */
export const INTS = 7

/** Text written in pieces of at most this many characters (ASCII), through one reused buffer. */
const TEXT_CHUNK = 1 << 18

/**
 * The base block of `table` (every column in memory) with `header`, its rows in the order of
 * `usage` (start time, key), and the owner's `extra` bytes at its end, handed to `emit` in
 * pieces: each must be written or copied at once (a piece may be a view of the table's own
 * columns, or of a buffer reused for the next one). Rows already in order (a table made from
 * parts in `usage` order, or a base block with nothing set since) are written straight from
 * the table's columns: no block built in fresh memory (10 MB on the 400 MB bench tree, a fresh
 * page costs a fault) and copied again by the write.
 */
export function writeBlock(table: UsageTable, header: Record<string, unknown>, extra: Uint8Array, emit: (piece: Uint8Array) => void): void {
  const n = table.n
  const keys = table.keys()
  const ts = table.ts()
  // The rows in order: none when they already are (a pass of compares instead of a sort).
  const before = (a: number, b: number): number => (ts[a]! < ts[b]! ? -1 : ts[a]! > ts[b]! ? 1 : keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0)
  let sorted = true
  for (let i = 1; i < n && sorted; i++) sorted = before(i - 1, i) <= 0
  const order = sorted ? undefined : Array.from({ length: n }, (_, i) => i).sort(before)
  const at = (r: number): number => (order === undefined ? r : order[r]!)
  // The keys and start times each as one string; a byte length per item only when not ASCII.
  const keyText = order === undefined ? keys.join('') : order.map((i) => keys[i]!).join('')
  const tsText = order === undefined ? ts.join('') : order.map((i) => ts[i]!).join('')
  const keyLen = Buffer.byteLength(keyText, 'utf8')
  const tsLen = Buffer.byteLength(tsText, 'utf8')
  const tsAscii = tsLen === tsText.length
  const keyAscii = keyLen === keyText.length
  const head = Buffer.from(JSON.stringify({ ...header, dict: table.dict, n, textBytes: keyLen + tsLen, ...(extra.length > 0 ? { extraBytes: extra.length } : {}) }), 'utf8')
  // Magic, header length, header, zero padding to 8 bytes.
  const pre = Buffer.alloc((8 + head.length + 7) & ~7)
  pre.write(MAGIC, 0, 'latin1')
  pre.writeUInt32LE(head.length, 4)
  head.copy(pre, 8)
  emit(pre)
  const [su, sints, sh, shas] = [table.u, table.ints, table.h, table.has]
  let u = su.subarray(0, 6 * n)
  let ints = sints.subarray(0, INTS * n)
  let h = sh.subarray(0, 2 * n)
  let has = shas.subarray(0, n)
  if (order !== undefined) {
    // Element by element: no view per row.
    ;[u, ints, h, has] = [new Float64Array(6 * n), new Int32Array(INTS * n), new Uint32Array(2 * n), new Uint8Array(n)]
    for (let r = 0; r < n; r++) {
      const i = order[r]!
      for (let x = 0; x < 6; x++) u[6 * r + x] = su[6 * i + x]!
      for (let x = 0; x < INTS; x++) ints[INTS * r + x] = sints[INTS * i + x]!
      h[2 * r] = sh[2 * i]!
      h[2 * r + 1] = sh[2 * i + 1]!
      has[r] = shas[i]!
    }
  }
  const keyOff = new Uint32Array(n + 1)
  const tsOff = new Uint32Array(n + 1)
  let t = 0
  for (let r = 0; r < n; r++) {
    keyOff[r] = t
    t += keyAscii ? keys[at(r)]!.length : Buffer.byteLength(keys[at(r)]!, 'utf8')
  }
  keyOff[n] = t
  for (let r = 0; r < n; r++) {
    tsOff[r] = t
    t += tsAscii ? ts[at(r)]!.length : Buffer.byteLength(ts[at(r)]!, 'utf8')
  }
  tsOff[n] = t
  for (const a of [u, ints, h, hashOrderOf(h, n), keyOff, tsOff, has]) emit(bytesOf(a))
  const chunk = Buffer.allocUnsafe(TEXT_CHUNK)
  for (const [text, ascii] of [[keyText, keyAscii], [tsText, tsAscii]] as const) {
    if (!ascii) emit(Buffer.from(text, 'utf8'))
    else for (let from = 0; from < text.length; from += TEXT_CHUNK) emit(chunk.subarray(0, chunk.write(text.slice(from, from + TEXT_CHUNK), 0, 'latin1')))
  }
  emit(extra)
}
