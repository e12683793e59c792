import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

// A run on a current index takes its DuckDB threads from state.json's `table_rows` (written by
// the update) instead of asking DuckDB for the tables' size.
const tmp = mkdtempSync(join(tmpdir(), 'extractors-threads-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const root = join(tmp, 'basic')
cpSync(join(import.meta.dirname, 'fixtures', 'basic'), root, { recursive: true })
const statePath = join(root, 'all-mitm-sse', '.index', 'state.json')
const state = (): Record<string, unknown> => JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>

async function threadsOfCurrentIndex(): Promise<{ threads: number; rows: unknown[] }> {
  const x = await createExtractor({ logDir: root })
  try {
    const { rows } = await x.run('usage')
    expect(x.lastUpdate?.records).toBe(0)
    const t = (await x.query(`select current_setting('threads') as threads`)).rows[0]?.threads
    return { threads: Number(t), rows }
  } finally {
    x.close()
  }
}

describe('threads of a run on a current index', () => {
  it('come from the state the update wrote, and from DuckDB when the state has none', async () => {
    const first = await createExtractor({ logDir: root })
    const { rows } = await first.run('usage')
    const largest = Number((await first.query(`select coalesce(max(estimated_size), 0) as n from duckdb_tables() where not temporary`)).rows[0]?.n)
    first.close()
    expect(rows.length).toBeGreaterThan(0)
    expect(largest).toBeGreaterThan(0)
    expect(state().table_rows).toBe(largest)

    const small = await threadsOfCurrentIndex()
    expect(small).toEqual({ threads: 1, rows })

    // A state saying the tables are larger than one row group: every core, from the open on.
    writeFileSync(statePath, JSON.stringify({ ...state(), table_rows: 200_000 }))
    expect(await threadsOfCurrentIndex()).toEqual({ threads: availableParallelism(), rows })

    // An older state without the figure: DuckDB is asked (one row group at most here: one thread).
    const { table_rows: _, ...older } = state()
    writeFileSync(statePath, JSON.stringify(older))
    expect(await threadsOfCurrentIndex()).toEqual({ threads: 1, rows })
  })
})
