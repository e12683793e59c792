/** What went wrong, as a stable string code. */
export type JsonlErrorCode =
  | 'MALFORMED_JSON'
  | 'LINE_TOO_LONG'
  | 'TRUNCATED_LINE'
  | 'INVALID_RECORD'
  | 'FILE_TRUNCATED'
  | 'FILE_ROTATED'
  | 'IO_ERROR'
  | 'WRITER_CLOSED'
  | 'INVALID_REF'
  | 'BODY_MISSING'

import { AgenttapError } from './agenttap-error.js'

/**
 * The one error class of jsonl-io. Reading errors are reported through `onError` callbacks
 * with the location (file, 1-based line, byte offset of the line start) and a short excerpt;
 * only API misuse throws.
 */
export class JsonlError extends AgenttapError<JsonlErrorCode> {
  override readonly name = 'JsonlError'
  /** 1-based line number, 0 when not about a line. */
  declare readonly line: number
  /** Byte offset of the start of the line in its file or stream. */
  declare readonly offset: number
  /** At most ~80 characters of the offending line, control characters escaped. */
  declare readonly excerpt: string

  constructor(
    code: JsonlErrorCode,
    message: string,
    where: { file?: string | undefined; line?: number; offset?: number; excerpt?: string; cause?: unknown } = {},
  ) {
    const loc = where.file ? `${where.file}:${where.line ?? 0}` : `line ${where.line ?? 0}`
    // JSON.parse messages quote the bad input: escape it so a message printed to a terminal cannot steer it.
    super(code, `${loc} (byte ${where.offset ?? 0}): ${escapeControls(message)}`, {
      file: where.file,
      line: where.line ?? 0,
      offset: where.offset ?? 0,
      excerpt: where.excerpt ?? '',
      cause: where.cause,
    })
  }
}

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
const escapeControls = (s: string) => s.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** Renders a line fragment safely for an error message: bounded, control chars escaped. */
export function excerptOf(text: string, max = 80): string {
  return escapeControls(text.length > max ? `${text.slice(0, max)}…` : text)
}
