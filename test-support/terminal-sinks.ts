/** Test helpers of the live terminal view, shared by terminal-view's and the monitor app's tests. */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8')
}

export function fixtureRecords(name: string): Record<string, unknown>[] {
  return fixtureText(name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A writable that collects what it is given; `isTTY` as asked; optionally slow (returns false). */
export class Sink extends Writable {
  chunks: string[] = []
  isTTY: boolean
  constructor(opts: { tty?: boolean; highWaterMark?: number } = {}) {
    super({ decodeStrings: false, highWaterMark: opts.highWaterMark ?? 16 * 1024 })
    this.isTTY = opts.tty ?? false
  }
  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(String(chunk))
    cb()
  }
  get text(): string {
    return this.chunks.join('')
  }
}

/** A writable that holds every write until `release()` (a terminal that fell behind). */
export class StuckSink extends Writable {
  chunks: string[] = []
  private waiting: (() => void)[] = []
  constructor(highWaterMark = 64) {
    super({ decodeStrings: false, highWaterMark })
  }
  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(String(chunk))
    this.waiting.push(() => cb())
  }
  release(): void {
    const w = this.waiting
    this.waiting = []
    for (const f of w) f()
  }
  get text(): string {
    return this.chunks.join('')
  }
}

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')

export { prng } from './prng.js'

/** Polls `cond` (a signal the code under test gives, e.g. its output) until it holds. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export const tick = () => new Promise<void>((r) => setImmediate(r))
