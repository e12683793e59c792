import { headHash } from './capture-snapshot.js'

/**
 * The hashes of the usage summary: two 32-bit hashes of a call's key, the order of rows by their
 * first hash that the base block stores (transcript-usage-table.ts), and the hash of a file's
 * first bytes that tells a file rewritten or replaced from the one read (transcript-usage.ts).
 */

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

/** Rows 0..n-1 of key hashes `h` (two u32 a row) in the order of their first hash. */
export function hashOrderOf(h: Uint32Array, n: number): Uint32Array {
  const perm = new Uint32Array(n)
  if (n < 2 ** 21) {
    // Hash and row in one number below 2^53: a native numeric sort, no comparator.
    const x = new Float64Array(n)
    for (let r = 0; r < n; r++) x[r] = h[2 * r]! * 2 ** 21 + r
    x.sort()
    for (let k = 0; k < n; k++) perm[k] = x[k]! % 2 ** 21
  } else {
    for (let r = 0; r < n; r++) perm[r] = r
    perm.sort((a, b) => h[2 * a]! - h[2 * b]! || a - b)
  }
  return perm
}

/**
 * Two 32-bit hashes (FNV-1a and a multiply-xorshift over 32-bit words) of a buffer, as 16 hex
 * digits. The summary's head check: it tells a rewritten file from the one read (not an
 * adversary's), and costs a few hundred microseconds where sha256 costs loading node:crypto
 * (~5 ms of a warm `daily` that found one new file).
 */
export function bytesHash(buf: Uint8Array): string {
  let a = 0x811c9dc5 ^ buf.length
  let b = 0x9e3779b9 ^ buf.length
  const words = buf.length >>> 2
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let i = 0; i < words; i++) {
    const w = view.getUint32(4 * i, true)
    a = Math.imul(a ^ w, 0x01000193)
    b = Math.imul(b ^ w, 0x5bd1e995)
    b ^= b >>> 15
  }
  for (let i = 4 * words; i < buf.length; i++) {
    a = Math.imul(a ^ buf[i]!, 0x01000193)
    b = Math.imul(b ^ buf[i]!, 0x5bd1e995)
    b ^= b >>> 15
  }
  a ^= a >>> 16
  a = Math.imul(a, 0x85ebca6b)
  a ^= a >>> 13
  b ^= b >>> 13
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')
}

/** {@link bytesHash} of a file's first `len` bytes ('' when the file is shorter, or gone). */
export const summaryHeadHash = (path: string, len: number): string => headHash(path, len, bytesHash)
