import { describe, expect, it } from 'vitest'
import { createProgress, indexText } from '../src/progress.js'

/** A stderr that says it is a terminal, keeping what is written. */
function tty(isTTY = true) {
  const out: string[] = []
  const stream = { isTTY, columns: 200, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream
  return { stream, out }
}

describe('the index update on the progress line', () => {
  it('says how far the read is, how fast, and how long is left; then that the index is written', () => {
    expect(indexText({ phase: 'read', of: 'capture', bytes: 460e6, total: 1024e6, ms: 6000 })).toBe('indexing 460 / 1024 MB (44%) · 77 MB/s · ~8 s left')
    // Below a billion bytes, one decimal.
    expect(indexText({ phase: 'read', of: 'capture', bytes: 12.5e6, total: 100e6, ms: 500 })).toBe('indexing 12.5 / 100.0 MB (12%) · 25 MB/s · ~4 s left')
    // No guess of the time left before 5 % is read, nor once all of it is.
    expect(indexText({ phase: 'read', of: 'capture', bytes: 1e6, total: 100e6, ms: 100 })).toBe('indexing 1.0 / 100.0 MB (1%) · 10 MB/s')
    expect(indexText({ phase: 'read', of: 'capture', bytes: 100e6, total: 100e6, ms: 1000 })).toBe('indexing 100.0 / 100.0 MB (100%) · 100 MB/s')
    expect(indexText({ phase: 'read', of: 'capture', bytes: 0, total: 100e6, ms: 0 })).toBe('indexing 0.0 / 100.0 MB (0%)')
    expect(indexText({ phase: 'commit', of: 'capture', bytes: 2e9, total: 2e9, ms: 9000 })).toBe('indexing: writing the index (2000 MB read)')
    // Transcripts say so (with --source all, their update follows the capture's).
    expect(indexText({ phase: 'read', of: 'transcripts', bytes: 300e6, total: 600e6, ms: 1000 })).toBe('indexing transcripts 300.0 / 600.0 MB (50%) · 300 MB/s · ~1 s left')
    expect(indexText({ phase: 'commit', of: 'transcripts', bytes: 600e6, total: 600e6, ms: 2000 })).toBe('indexing transcripts: writing the index (600.0 MB read)')
  })

  it('is drawn from the reports themselves (the thread is busy reading), at most every 100 ms, the commit at once', () => {
    const { stream, out } = tty()
    const p = createProgress(stream, { enabled: true, total: 1, bytes: 0, delayMs: 0 })
    p.step('usage')
    const before = out.length
    p.index({ phase: 'read', of: 'capture', bytes: 10e6, total: 100e6, ms: 100 })
    p.index({ phase: 'read', of: 'capture', bytes: 11e6, total: 100e6, ms: 110 })
    p.index({ phase: 'commit', of: 'capture', bytes: 100e6, total: 100e6, ms: 120 })
    p.done()
    const drawn = out.slice(before).filter((s) => s.includes('indexing'))
    // The step drew just now: the first read report waits its turn; the commit does not.
    expect(drawn.length).toBeLessThanOrEqual(2)
    expect(drawn.at(-1)).toContain('usage (1/1) · indexing: writing the index (100.0 MB read)')
    // The bar follows the bytes read, not the modes done.
    expect(drawn.at(-1)).toContain('[████████████████████]')
  })

  it('a new step leaves the last update behind; no terminal or --quiet: nothing drawn', () => {
    const { stream, out } = tty()
    const p = createProgress(stream, { enabled: true, total: 2, bytes: 0, delayMs: 0 })
    p.step('usage')
    p.index({ phase: 'commit', of: 'capture', bytes: 5e6, total: 5e6, ms: 50 })
    p.step('cost')
    p.done()
    expect(out.filter((s) => s.includes('cost (2/2)')).every((s) => !s.includes('indexing'))).toBe(true)
    for (const [isTTY, enabled] of [[false, true], [true, false]] as const) {
      const t = tty(isTTY)
      const q = createProgress(t.stream, { enabled, total: 1, bytes: 0, delayMs: 0 })
      q.step('usage')
      q.index({ phase: 'read', of: 'capture', bytes: 1, total: 2, ms: 1 })
      q.index({ phase: 'commit', of: 'capture', bytes: 2, total: 2, ms: 2 })
      q.done()
      expect(t.out).toEqual([])
    }
  })
})
