/**
 * The key hashes of the usage summary's calls (transcript-usage-table.ts): two 32-bit hashes of
 * a key, and the order of rows by their first hash that the base block stores.
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
