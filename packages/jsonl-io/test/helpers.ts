import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** mulberry32: small seeded PRNG for reproducible random chunkings. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Cuts bytes at random points (1..max bytes per chunk). */
export function rechunk(buf: Buffer, rnd: () => number, max: number): Buffer[] {
  const out: Buffer[] = []
  let i = 0
  while (i < buf.length) {
    const n = 1 + Math.floor(rnd() * max)
    out.push(buf.subarray(i, i + n))
    i += n
  }
  return out
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'agenttap-jsonl-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls until `cond` holds (or fails the test after `ms`). */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}
