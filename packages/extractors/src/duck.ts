import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { ExtractError } from './errors.js'
import type { Row } from './types.js'

/**
 * A small DuckDB client on `@duckdb/node-bindings` (the C API). `@duckdb/node-api` costs
 * 250–400 ms to load (a hundred CommonJS modules); the bindings load in ~40 ms, which is most of
 * the difference between a 0.2 s and a 0.5 s `agenttap-analyze usage`. Every query goes through
 * one shape: the rows come back as one JSON text each (`to_json(t)`), decoded here, so no vector
 * type needs its own reader.
 */

type Bindings = typeof import('@duckdb/node-bindings')
let bindings: Bindings | undefined
function load(): Bindings {
  // The bindings package is CommonJS with a native addon: require it once, lazily, so the
  // reverse-scan path (`prompts -n 5`) never pays for it. It is required by its real path:
  // it finds its platform package (`@duckdb/node-bindings-linux-x64`) next to itself in pnpm's
  // store, and Node has been seen to load it by the workspace symlink instead (it then looks
  // in the wrong node_modules).
  if (bindings !== undefined) return bindings
  const req = createRequire(import.meta.url)
  return (bindings = req(realpathSync(req.resolve('@duckdb/node-bindings'))) as Bindings)
}

/** One open DuckDB database with one connection. */
export interface Duck {
  /** Runs statements; returns nothing. */
  run(sql: string): Promise<void>
  /**
   * Runs a query and returns its rows (column name → JSON value) and column names; with `raw`,
   * each row as DuckDB's JSON text instead (`json`, `rows` empty): no parse for callers that
   * only write NDJSON.
   */
  select(sql: string, raw?: boolean): Promise<{ columns: string[]; rows: Row[]; json?: string[] }>
  /**
   * Writes a query's rows as NDJSON to a file with DuckDB's own writer (`COPY … (FORMAT json)`:
   * the rows never become JavaScript values). Returns how many rows were written.
   */
  copyNdjson(sql: string, path: string): Promise<number>
  /**
   * Appends rows to a table with DuckDB's appender (no SQL per row: a multi-row `insert … values`
   * costs DuckDB a parse and bind of every literal, ~1 s per thousand wide rows). Each row has a
   * value per column, in the table's column order; `null`/`undefined` is NULL, a number goes into
   * an integer column as an integer when it is one (else as a double, cast as SQL would), a
   * string is cast to the column type by DuckDB.
   */
  append(table: string, rows: readonly (readonly unknown[])[]): void
  /** Closes the connection and the database (a checkpoint when it was opened for writing). */
  close(): void
  /**
   * For a process that exits right after (`process.exit`): a database opened read-only is left
   * for the exit to release (DuckDB's teardown costs ~20 CPU ms, a tenth of a small query's
   * whole run, and a read-only database has nothing to write); one opened for writing is closed
   * as by {@link close}. The handle is unusable afterwards either way.
   */
  leave(): void
}

/** Options of {@link openDuck}. */
export interface DuckOptions {
  /** Open without write access: several readers may share the file. */
  readOnly?: boolean
  /** DuckDB worker threads. @defaultValue all cores */
  threads?: number
  /** DuckDB's memory limit, e.g. `'2GB'`. */
  memoryLimit?: string
  /** Directory for DuckDB's spill files. */
  tempDir?: string
  /** Block size of a database file this open creates (an existing file keeps its own). @defaultValue DuckDB's, 256 KiB */
  blockSize?: number
}

/** Whether an error is DuckDB refusing a file another process holds. */
export function isLockConflict(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e)
  return /Could not set lock on file|Conflicting lock is held/i.test(m)
}

/**
 * Opens a database file (or `':memory:'`).
 * @throws the DuckDB error as is (callers map lock conflicts and corruption).
 */
export async function openDuck(path: string, options: DuckOptions = {}): Promise<Duck> {
  const d = load()
  const config = d.create_config()
  if (options.readOnly) d.set_config(config, 'access_mode', 'READ_ONLY')
  if (options.threads !== undefined) d.set_config(config, 'threads', String(options.threads))
  if (options.memoryLimit !== undefined) d.set_config(config, 'memory_limit', options.memoryLimit)
  if (options.tempDir !== undefined) d.set_config(config, 'temp_directory', options.tempDir)
  if (options.blockSize !== undefined) d.set_config(config, 'default_block_size', String(options.blockSize))
  const db = await d.open(path, config)
  let conn: Awaited<ReturnType<Bindings['connect']>>
  try {
    conn = await d.connect(db)
  } catch (e) {
    d.close_sync(db)
    throw e
  }
  let closed = false
  const decoder = new TextDecoder()

  async function select(sql: string, raw = false): Promise<{ columns: string[]; rows: Row[]; json?: string[] }> {
    const res = await d.query(conn, `select cast(to_json(t) as varchar) from (${sql}) t`)
    const rows: Row[] = []
    const json: string[] = []
    for (;;) {
      const chunk = await d.fetch_chunk(res)
      if (chunk === null) break
      const n = d.data_chunk_get_size(chunk)
      if (n === 0) break
      const vec = d.data_chunk_get_vector(chunk, 0)
      const data = d.vector_get_data(vec, n * 16)
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
      for (let i = 0; i < n; i++) {
        // duckdb_string_t: 4-byte length, then the bytes inline (≤ 12) or a 4-byte prefix and a pointer.
        const len = view.getUint32(i * 16, true)
        const bytes = len <= 12
          ? new Uint8Array(data.buffer, data.byteOffset + i * 16 + 4, len)
          : d.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + i * 16 + 8, len)
        const text = decoder.decode(bytes)
        if (raw) json.push(text)
        else rows.push(JSON.parse(text) as Row)
      }
    }
    // JSON objects keep the column order; a query with no rows is planned once more for its names.
    const first = rows[0] ?? (json[0] !== undefined ? (JSON.parse(json[0]) as Row) : undefined)
    const columns: string[] = first !== undefined ? Object.keys(first) : []
    if (first === undefined) {
      const head = await d.query(conn, `select * from (${sql}) limit 0`)
      for (let i = 0; i < d.column_count(head); i++) columns.push(d.column_name(head, i))
    }
    return raw ? { columns, rows, json } : { columns, rows }
  }

  function close(): void {
    if (closed) return
    closed = true
    d.disconnect_sync(conn)
    d.close_sync(db)
  }

  return {
    run: async (sql) => {
      if (closed) throw new ExtractError('QUERY_FAILED', 'the database is closed')
      await d.query(conn, sql)
    },
    select: async (sql, raw) => {
      if (closed) throw new ExtractError('QUERY_FAILED', 'the database is closed')
      return select(sql, raw)
    },
    copyNdjson: async (sql, path) => {
      if (closed) throw new ExtractError('QUERY_FAILED', 'the database is closed')
      const res = await d.query(conn, `copy (${sql}) to ${lit(path)} (format json)`)
      return Number(d.rows_changed(res))
    },
    append: (table, rows) => {
      if (closed) throw new ExtractError('QUERY_FAILED', 'the database is closed')
      if (rows.length === 0) return
      const a = d.appender_create(conn, null, table)
      const ints: boolean[] = []
      for (let i = 0; i < d.appender_column_count(a); i++) {
        const t = d.get_type_id(d.appender_column_type(a, i))
        ints.push(t === d.Type.INTEGER || t === d.Type.BIGINT || t === d.Type.SMALLINT || t === d.Type.TINYINT)
      }
      try {
        for (const row of rows) {
          for (let i = 0; i < row.length; i++) {
            const v = row[i]
            if (v === null || v === undefined) d.append_null(a)
            else if (typeof v === 'number') {
              if (ints[i] === true && Number.isSafeInteger(v)) d.append_int64(a, BigInt(v))
              else d.append_double(a, v)
            } else if (typeof v === 'boolean') d.append_bool(a, v)
            else if (typeof v === 'bigint') d.append_int64(a, v)
            else d.append_varchar(a, String(v))
          }
          d.appender_end_row(a)
        }
        d.appender_close_sync(a)
      } catch (e) {
        try {
          d.appender_clear(a)
        } catch {
          // already failed
        }
        throw e
      }
    },
    close,
    leave: () => {
      if (!options.readOnly) return close()
      closed = true
    },
  }
}

/** Quotes a string as a SQL literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/**
 * A file path as a literal for DuckDB's file readers, which expand glob characters: `[`, `*`
 * and `?` are wrapped in a one-character class, so `logs[1]` never reads a sibling `logs1`.
 */
export function fileLit(path: string): string {
  return lit(path.replace(/[[*?]/g, (c) => `[${c}]`))
}

/** Quotes an identifier. */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`
}
