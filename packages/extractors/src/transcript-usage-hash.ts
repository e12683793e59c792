import { bytesHash } from '@agenttap/transcripts/dirs'
import { headHash } from './capture-snapshot.js'

export { bytesHash }

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

/**
 * Where a table holds the keys of a part: `row[j]` is the table's row of the part's key `j` (-1:
 * not there), `same[j]` an earlier part key equal to key `j` (-1: none; such a key goes to the
 * row of the first). The part's keys go into a small open hash table by the first hash's low bits
 * (typed arrays: no boxed number per stored row scanned); the table's base rows are found through
 * their stored hash order `perm` (a binary search per part key), the rows after them (or every
 * row, in a table made in memory: no `perm`) in one pass. A hash hit is confirmed by the key.
 */
export function matchRows(keys: string[], ha: ArrayLike<number>, h: Uint32Array, n: number, baseN: number, perm: Uint32Array | undefined, keyAt: (i: number) => string): { row: Int32Array; same: Int32Array } {
  const m = keys.length
  const mask = (1 << Math.max(4, 32 - Math.clz32(4 * m))) - 1
  const slots = new Int32Array(mask + 1).fill(-1)
  const next = new Int32Array(m).fill(-1)
  const row = new Int32Array(m).fill(-1)
  const same = new Int32Array(m).fill(-1)
  for (let j = 0; j < m; j++) {
    const s = ha[2 * j]! & mask
    for (let x = slots[s]!; x !== -1; x = next[x]!) {
      if (ha[2 * x] === ha[2 * j] && ha[2 * x + 1] === ha[2 * j + 1] && keys[x] === keys[j]) {
        same[j] = x
        break
      }
    }
    next[j] = slots[s]!
    slots[s] = j
  }
  let from = 0
  if (perm !== undefined && perm.length === baseN) {
    from = baseN
    for (let j = 0; j < m; j++) {
      const a = ha[2 * j]!
      let lo = 0
      let hi = perm.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (h[2 * perm[mid]!]! < a) lo = mid + 1
        else hi = mid
      }
      for (let k = lo; k < perm.length && h[2 * perm[k]!] === a; k++) {
        const i = perm[k]!
        // Checked where used (a pass over the whole order is what it saves).
        if (i >= baseN) throw new Error('bad hash order')
        if (ha[2 * j + 1] === h[2 * i + 1] && keys[j] === keyAt(i)) row[j] = i
      }
    }
  }
  for (let i = from; i < n; i++) {
    for (let j = slots[h[2 * i]! & mask]!; j !== -1; j = next[j]!) {
      if (ha[2 * j] === h[2 * i] && ha[2 * j + 1] === h[2 * i + 1] && keys[j] === keyAt(i)) row[j] = i
    }
  }
  return { row, same }
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

/** {@link bytesHash} of a file's first `len` bytes ('' when the file is shorter, or gone). */
export const summaryHeadHash = (path: string, len: number): string => headHash(path, len, bytesHash)
