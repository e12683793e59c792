/**
 * mulberry32: the small seeded PRNG of the repository's tests and fixture generator (same seed,
 * same sequence): random chunkings in the tests, the synthetic captures of fixtures/generate.mjs.
 * Plain JavaScript so the generator (run by node as it is) and the TypeScript tests import the
 * same file; its type is in prng.d.ts.
 *
 * @param {number} seed
 * @returns {() => number} numbers in [0, 1)
 */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
