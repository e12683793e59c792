import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// `close({ exiting: true })`: the CLI, which exits at once afterwards, leaves a read-only index
// for the exit to release; an index it wrote is closed as always.
const tmp = mkdtempSync(join(tmpdir(), 'extractors-exit-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const root = join(tmp, 'basic')
cpSync(join(import.meta.dirname, 'fixtures', 'basic'), root, { recursive: true })
const index = join(root, 'all-mitm-sse', '.index')
rmSync(index, { recursive: true, force: true })

describe('close({ exiting: true })', () => {
  it('closes an index it wrote, and releases the lock of a read-only one', async () => {
    const build = await createExtractor({ logDir: root })
    const built = (await build.run('usage')).rows
    expect(built.length).toBeGreaterThan(0)
    expect(existsSync(join(index, 'lock'))).toBe(true)
    build.close({ exiting: true })
    // Written: closed for real (DuckDB's checkpoint on close folds the log into the file).
    expect(existsSync(join(index, 'index.duckdb.wal'))).toBe(false)
    expect(existsSync(join(index, 'lock'))).toBe(false)

    const read = await createExtractor({ logDir: root })
    expect((await read.run('usage')).rows).toEqual(built)
    expect(read.lastUpdate?.records).toBe(0)
    read.close({ exiting: true })
    expect(existsSync(join(index, 'lock'))).toBe(false)
    // The next run is not kept waiting by the one left open.
    const next = await createExtractor({ logDir: root, lockTimeoutMs: 2000 })
    try {
      expect((await next.run('usage')).rows).toEqual(built)
    } finally {
      next.close()
    }
  })
})
