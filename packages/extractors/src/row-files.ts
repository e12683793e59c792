import { closeSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { IndexRow } from './rows.js'
import type { DataTable } from './schema.js'

/**
 * Rows on their way into DuckDB: one NDJSON file per table (per shard), loaded with
 * `read_ndjson` (typed columns, parsed in C++ on every core) when the update commits. Writes
 * are batched into ~1 MiB appends; files are private (0600) like the capture.
 */
export interface RowFiles {
  write(table: DataTable, row: IndexRow): void
  /** Flushes and closes; returns the files written, by table. */
  close(): Partial<Record<DataTable, string>>
  /** Rows written, by table. */
  counts(): Partial<Record<DataTable, number>>
}

const FLUSH_AT = 1 << 20

/** Opens row files `<dir>/<prefix>-<table>.ndjson`, created on first row. */
export function createRowFiles(dir: string, prefix: string): RowFiles {
  const files = new Map<DataTable, { fd: number; path: string; buf: string[]; size: number }>()
  const rows: Partial<Record<DataTable, number>> = {}
  const flush = (f: { fd: number; buf: string[]; size: number }): void => {
    if (f.buf.length === 0) return
    writeSync(f.fd, f.buf.join(''))
    f.buf = []
    f.size = 0
  }
  return {
    write(table, row) {
      let f = files.get(table)
      if (f === undefined) {
        const path = join(dir, `${prefix}-${table}.ndjson`)
        f = { fd: openSync(path, 'w', 0o600), path, buf: [], size: 0 }
        files.set(table, f)
      }
      const line = JSON.stringify(row) + '\n'
      f.buf.push(line)
      f.size += line.length
      rows[table] = (rows[table] ?? 0) + 1
      if (f.size >= FLUSH_AT) flush(f)
    },
    close() {
      const out: Partial<Record<DataTable, string>> = {}
      for (const [t, f] of files) {
        flush(f)
        closeSync(f.fd)
        out[t] = f.path
      }
      files.clear()
      return out
    },
    counts: () => ({ ...rows }),
  }
}
