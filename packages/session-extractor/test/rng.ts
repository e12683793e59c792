import { prng } from '../../../test-support/prng.js'

/** The tests' seeded PRNG (test-support's mulberry32) with helpers, so every generated corpus is reproducible from its seed. */
export function rng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T; chars(alphabet: string, n: number): string } {
  const next = prng(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1))
  return {
    next,
    int,
    pick: <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T,
    chars: (alphabet: string, n: number): string => {
      let s = ''
      for (let i = 0; i < n; i++) s += alphabet[int(0, alphabet.length - 1)]
      return s
    },
  }
}

/** Split `s` at `parts - 1` random points (parts may be empty strings). */
export function randomSplit(r: ReturnType<typeof rng>, s: string, parts: number): string[] {
  const cuts = Array.from({ length: parts - 1 }, () => r.int(0, s.length)).sort((x, y) => x - y)
  const out: string[] = []
  let at = 0
  for (const c of cuts) {
    out.push(s.slice(at, c))
    at = c
  }
  out.push(s.slice(at))
  return out
}
