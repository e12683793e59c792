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
  /** Bytes of the largest row written (without its newline), by table: what the reader must allow for one JSON object. */
  largest(): Partial<Record<DataTable, number>>
}

const FLUSH_AT = 1 << 20

interface RowFile {
  fd: number
  path: string
  /** Encoded rows not written yet: `len` bytes of `buf`. */
  buf: Buffer
  len: number
}

/** Opens row files `<dir>/<prefix>-<table>.ndjson`, created on first row. */
export function createRowFiles(dir: string, prefix: string): RowFiles {
  const files = new Map<DataTable, RowFile>()
  const rows: Partial<Record<DataTable, number>> = {}
  const largest: Partial<Record<DataTable, number>> = {}
  const flush = (f: RowFile): void => {
    if (f.len === 0) return
    writeSync(f.fd, f.buf, 0, f.len)
    f.len = 0
  }
  return {
    write(table, row) {
      let f = files.get(table)
      if (f === undefined) {
        const path = join(dir, `${prefix}-${table}.ndjson`)
        f = { fd: openSync(path, 'w', 0o600), path, buf: Buffer.allocUnsafe(64 * 1024), len: 0 }
        files.set(table, f)
      }
      // Each row is encoded straight into the file's buffer: no joined string of ~1 MiB to build
      // and encode again (half the CPU of the strings-then-join way). A UTF-16 unit is at most 3
      // bytes of UTF-8, so `3 * length` bytes always hold the row.
      const line = JSON.stringify(row)
      const most = 3 * line.length + 1
      if (f.len + most > f.buf.length) {
        flush(f)
        // Small at first (a small update writes a few rows), up to twice the flush size.
        if (most > f.buf.length || f.buf.length < 2 * FLUSH_AT) f.buf = Buffer.allocUnsafe(Math.max(most, Math.min(2 * FLUSH_AT, 4 * f.buf.length)))
      }
      const bytes = f.buf.write(line, f.len)
      f.len += bytes
      f.buf[f.len++] = 0x0a
      if (bytes > (largest[table] ?? 0)) largest[table] = bytes
      rows[table] = (rows[table] ?? 0) + 1
      if (f.len >= FLUSH_AT) flush(f)
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
    largest: () => ({ ...largest }),
  }
}
