import { hashOrderOf } from './transcript-usage-hash.js'
import type { UsageTable } from './transcript-usage-table.js'

/**
 * The writer of a usage table's base block (layout: transcript-usage-table.ts): the columns
 * written through views of the output, rows already in `usage` order copied column by column.
 */

export const MAGIC = 'ATU3'
/** i32 columns per call. */
export const INTS = 7

/**
 * The base block of table `t` (every column in memory) with `header`, its rows in the order of
 * `usage` (start time, key), and the owner's `extra` bytes at its end.
 */
export function writeBlock(table: UsageTable, header: Record<string, unknown>, extra: Uint8Array): Buffer {
  const n = table.n
  const keys = table.keys()
  const ts = table.ts()
  // The rows in order: none when they already are (a table made from parts in `usage` order,
  // or a base block with nothing set since): a pass of compares instead of a sort, and each
  // column one copy.
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
  const textBytes = keyLen + tsLen
  const head = Buffer.from(JSON.stringify({ ...header, dict: table.dict, n, textBytes, ...(extra.length > 0 ? { extraBytes: extra.length } : {}) }), 'utf8')
  const start = (8 + head.length + 7) & ~7
  // Zeroed (the padding) by the allocator, its own memory (byteOffset 0: the columns are
  // written through aligned views, not built apart and copied in).
  const out = Buffer.from(new ArrayBuffer(start + 6 * n * 8 + INTS * n * 4 + 2 * n * 4 + n * 4 + 2 * (n + 1) * 4 + n + textBytes + extra.length))
  out.write(MAGIC, 0, 'latin1')
  out.writeUInt32LE(head.length, 4)
  head.copy(out, 8)
  let off = start
  const view = <T>(make: new (b: ArrayBuffer, at: number, len: number) => T, len: number, size: number): T => {
    const v = new make(out.buffer as ArrayBuffer, off, len)
    off += len * size
    return v
  }
  const u = view(Float64Array, 6 * n, 8)
  const ints = view(Int32Array, INTS * n, 4)
  const h = view(Uint32Array, 2 * n, 4)
  const permAt = off
  off += 4 * n
  const keyOff = view(Uint32Array, n + 1, 4)
  const tsOff = view(Uint32Array, n + 1, 4)
  const has = view(Uint8Array, n, 1)
  const [su, sints, sh, shas] = [table.u, table.ints, table.h, table.has]
  if (order === undefined) {
    u.set(su.subarray(0, 6 * n))
    ints.set(sints.subarray(0, INTS * n))
    h.set(sh.subarray(0, 2 * n))
    has.set(shas.subarray(0, n))
  } else {
    // Element by element: no view per row.
    for (let r = 0; r < n; r++) {
      const i = order[r]!
      for (let x = 0; x < 6; x++) u[6 * r + x] = su[6 * i + x]!
      for (let x = 0; x < INTS; x++) ints[INTS * r + x] = sints[INTS * i + x]!
      h[2 * r] = sh[2 * i]!
      h[2 * r + 1] = sh[2 * i + 1]!
      has[r] = shas[i]!
    }
  }
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
  new Uint32Array(out.buffer, permAt, n).set(hashOrderOf(h, n))
  off += out.write(keyText, off, 'utf8')
  off += out.write(tsText, off, 'utf8')
  out.set(extra, off)
  return out
}
