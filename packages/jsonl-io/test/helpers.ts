import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export { prng } from '../../../test-support/prng.js'

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
