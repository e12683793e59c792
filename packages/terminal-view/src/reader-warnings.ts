import { basename } from 'node:path'
import { sanitizeText } from '@agenttap/flow-fsm'
import type { JsonlError } from '@agenttap/jsonl-io'

/** Where a warning line goes (the view, or stderr next to NDJSON). */
export type WarningSink = (text: string) => void

/** See {@link createReaderWarnings}. */
export interface ReaderWarnings {
  /** A reader's error; held until the records before it are shown unless `ordered`. */
  warn(err: JsonlError | Error, opts?: { ordered?: boolean }): void
  /** A value that is not a capture record, at `where`. */
  invalid(error: string, where?: { line?: number; file?: string }): void
  /** Records up to `line` of `file` are being shown: release the warnings that follow them. */
  release(file?: string, line?: number, all?: boolean): void
  /** Says how many warnings were counted but not shown (past the cap), once, at the end. */
  summary(): void
  readonly held: number
  readonly count: number
}

/**
 * Warnings about the input (malformed lines, truncation, rotation, values that are not capture
 * records): each shown once, sanitized (a reader's message can quote the bad bytes), and in its
 * place. Readers report a malformed line as soon as they parse its chunk, before they yield the
 * good records of that chunk, so a warning is held until the records before it were shown.
 */
export function createReaderWarnings(sink: WarningSink, opts: { max?: number } = {}): ReaderWarnings {
  // Binary garbage makes a warning per "line": past the cap they are only counted.
  const max = opts.max ?? 20
  const reported = new Set<string>()
  let count = 0
  let unshown = 0
  let held: { file: string; line: number; key: string; text: string; at: number }[] = []
  let anon = 0

  const report = (key: string, raw: string) => {
    if (reported.has(key)) return
    reported.add(key)
    if (reported.size > 10_000) reported.clear()
    count++
    if (count > max) {
      unshown++
      if (unshown === 1) sink(`⚠ more input warnings: not shown one by one (the first ${max} are above); the count follows at the end`)
      return
    }
    sink(sanitizeText(raw))
  }

  return {
    warn(err, wopts) {
      const e = err as Partial<JsonlError>
      const key = `${e.file ?? ''}:${e.line ?? ''}:${e.code ?? err.message}`
      const notice = e.code === 'FILE_TRUNCATED' || e.code === 'FILE_ROTATED'
      const text = `${notice ? 'ℹ' : '⚠'} ${err.message}`
      if (wopts?.ordered || notice || !e.line || held.length > 1000) report(notice ? `${key}:${Date.now()}` : key, text)
      else held.push({ file: e.file ?? '', line: e.line, key, text, at: Date.now() })
    },
    invalid(error, where) {
      const loc = where?.line !== undefined ? `${where.file ? basename(where.file) : 'input'}:${where.line}` : 'record'
      report(`${where?.file ?? ''}:${where?.line ?? `#${anon++}`}:invalid`, `⚠ ${loc}: skipped, not a capture record: ${error}`)
    },
    release(file, line, all = false) {
      if (held.length === 0) return
      const keep: typeof held = []
      const t = Date.now()
      for (const w of held) {
        const due = all || (file !== undefined && w.file === file && line !== undefined && w.line < line) || t - w.at > 1000
        if (due) report(w.key, w.text)
        else keep.push(w)
      }
      held = keep
    },
    summary() {
      if (unshown > 0) sink(`⚠ ${unshown} more input warning(s) not shown (${count} in all)`)
      unshown = 0
    },
    get held() {
      return held.length
    },
    get count() {
      return count
    },
  }
}
