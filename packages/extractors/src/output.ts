import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExtractError } from './errors.js'
import { fileLit, lit, openDuck } from './duck.js'
import type { ModeResult, Row } from './types.js'

// C0 and C1 control characters (ESC, CSI…) would steer a terminal that shows the output.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g
const hex = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`

/** Output formats of {@link writeResult}. */
export type OutputFormat = 'ndjson' | 'csv' | 'parquet' | 'table'

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** Terminal width; wide tables shrink their widest columns to fit. @defaultValue 120 */
  width?: number
  /** Longest cell before it is cut with `…`. @defaultValue 80 */
  maxCell?: number
}

/** NDJSON: one JSON object per row, keys in column order. */
export function toNdjson(columns: string[], rows: Row[]): string {
  let out = ''
  for (const r of rows) {
    const o: Row = {}
    for (const c of columns) o[c] = r[c] ?? null
    out += JSON.stringify(o) + '\n'
  }
  return out
}

function csvCell(v: Row[string] | undefined): string {
  if (v === null || v === undefined) return ''
  // A number's text has no control character, quote, comma or edge space: nothing to check.
  if (typeof v === 'number') return String(v)
  // Newlines and tabs are data (quoted below); other control characters are written as \xNN.
  const s = String(v).replace(CONTROLS, hex)
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** CSV (RFC 4180): a header line, `\n` line ends, quoted where needed; control characters other than newline and tab as `\xNN`. */
export function toCsv(columns: string[], rows: Row[]): string {
  let out = columns.map(csvCell).join(',') + '\n'
  for (const r of rows) out += columns.map((c) => csvCell(r[c])).join(',') + '\n'
  return out
}

const cellText = (v: Row[string] | undefined): string => {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)
  // Control characters and newlines would break the grid: show them escaped.
  return String(v).replace(/\r?\n/g, '⏎').replace(/[\u0000-\u001f\u007f-\u009f]/g, hex)
}

const cut = (s: string, n: number): string => (s.length <= n ? s : n <= 1 ? s.slice(0, n) : s.slice(0, n - 1) + '…')

/**
 * A readable fixed-width table for terminals, at most `width` columns wide. Numbers are
 * right-aligned and never cut; long text columns share what is left and end in `…`. When even
 * that cannot fit (too many columns for the terminal), each row is printed vertically instead:
 * one `column  value` line per column, rows separated by a rule.
 */
export function formatTable(columns: string[], rows: Row[], options: TableOptions = {}): string {
  const width = options.width ?? 120
  const maxCell = options.maxCell ?? 80
  const cells = rows.map((r) => columns.map((c) => cut(cellText(r[c]), maxCell)))
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number'))
  // A loop, not Math.max(...column): spreading a column of a few hundred thousand rows overflows the call stack.
  const full = columns.map((c, i) => cells.reduce((w, row) => (row[i]!.length > w ? row[i]!.length : w), c.length))
  const gaps = 2 * (columns.length - 1)
  // Numbers keep their width; a text column is never narrower than its header or MIN_TEXT.
  const floor = full.map((n, i) => (numeric[i] ? n : Math.min(n, Math.max(MIN_TEXT, columns[i]!.length))))
  const sum = (ws: number[]): number => ws.reduce((a, b) => a + b, 0) + gaps
  if (sum(floor) > width) return formatVertical(columns, cells, width)
  // Water-fill: the largest cap on text columns that fits, so short columns stay whole and the
  // long ones share the rest evenly.
  let lo = 0
  let hi = Math.max(0, ...full)
  const capped = (cap: number): number[] => full.map((n, i) => (numeric[i] ? n : Math.max(floor[i]!, Math.min(n, cap))))
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (sum(capped(mid)) <= width) lo = mid
    else hi = mid - 1
  }
  const w = capped(lo)
  const line = (vals: string[]): string =>
    vals.map((v, i) => { const s = cut(v, w[i]!); return numeric[i] ? s.padStart(w[i]!) : s.padEnd(w[i]!) }).join('  ').trimEnd()
  const out = [line(columns), w.map((n) => '─'.repeat(n)).join('  ')]
  for (const row of cells) out.push(line(row))
  return out.join('\n') + '\n'
}

/** The narrowest a text column gets before a table is printed vertically. */
const MIN_TEXT = 10

/** One block per row: `column  value` lines, values cut to the width. */
function formatVertical(columns: string[], cells: string[][], width: number): string {
  const label = Math.min(Math.max(...columns.map((c) => c.length)), Math.max(8, Math.floor(width / 3)))
  const valueWidth = Math.max(8, width - label - 2)
  const out: string[] = []
  cells.forEach((row, r) => {
    const head = `── row ${r + 1} `
    out.push(head + '─'.repeat(Math.max(2, width - head.length)))
    columns.forEach((c, i) => out.push(`${cut(c, label).padEnd(label)}  ${cut(row[i]!, valueWidth)}`.trimEnd()))
  })
  return out.join('\n') + '\n'
}

function duckType(rows: Row[], c: string): string {
  let t: string | undefined
  for (const r of rows) {
    const v = r[c]
    if (v === null || v === undefined) continue
    const k = typeof v === 'number' ? (Number.isInteger(v) && t !== 'DOUBLE' ? 'BIGINT' : 'DOUBLE') : typeof v === 'boolean' ? 'BOOLEAN' : 'VARCHAR'
    if (t === undefined || (t === 'BIGINT' && k === 'DOUBLE')) t = k
    else if (t !== k && !(t === 'DOUBLE' && k === 'BIGINT')) return 'VARCHAR'
  }
  return t ?? 'VARCHAR'
}

/** Writes a Parquet file (zstd) through DuckDB, typing each column from its values. */
export async function writeParquet(columns: string[], rows: Row[], path: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agenttap-pq-'))
  const duck = await openDuck(':memory:')
  try {
    const src = join(dir, 'rows.ndjson')
    writeFileSync(src, toNdjson(columns, rows), { mode: 0o600 })
    const spec = columns.map((c) => `${lit(c)}: ${lit(duckType(rows, c))}`).join(', ')
    const from = columns.length === 0 ? `(select 1 as empty where false)` : rows.length === 0
      ? `(select ${columns.map((c) => `null::VARCHAR as "${c.replace(/"/g, '""')}"`).join(', ')} where false)`
      : `read_ndjson(${fileLit(src)}, columns = {${spec}}, format = 'newline_delimited', maximum_object_size = 1073741823)`
    await duck.run(`copy (select * from ${from}) to ${lit(path)} (format parquet, compression zstd)`)
    chmodSync(path, 0o600)
  } catch (e) {
    throw new ExtractError('OUTPUT_FAILED', `could not write ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  } finally {
    duck.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Writes a mode's rows to a file in a format (`table` writes the readable table as text). The
 * file is private (0600), like the capture it comes from.
 * @throws ExtractError `OUTPUT_FAILED` when the file cannot be written.
 */
export async function writeResult(result: Pick<ModeResult, 'columns' | 'rows' | 'ndjson'>, format: OutputFormat, path: string): Promise<void> {
  const rows = result.ndjson !== undefined && format !== 'ndjson' ? result.ndjson.map((l) => JSON.parse(l) as Row) : result.rows
  if (format === 'parquet') return writeParquet(result.columns, rows, path)
  const text = format === 'csv' ? toCsv(result.columns, rows)
    : format === 'table' ? formatTable(result.columns, rows, { width: 100_000, maxCell: 100_000 })
    : result.ndjson !== undefined ? result.ndjson.map((l) => `${l}\n`).join('') : toNdjson(result.columns, rows)
  try {
    // Rows hold prompts and answers: private like the capture (an existing file is made so too).
    writeFileSync(path, text, { mode: 0o600 })
    chmodSync(path, 0o600)
  } catch (e) {
    throw new ExtractError('OUTPUT_FAILED', `could not write ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  }
}
