/**
 * The shared base of every agenttap error class. Each package has one error class with a
 * string-union `code`; all of them extend this one, so a program can catch "any agenttap
 * error" and read the same context fields (file, line, offset, flow_id, seq) everywhere.
 *
 * Identity goes through a `Symbol.for` marker rather than `instanceof`, so it survives two
 * installed copies of a package (a CLI and a library each bringing their own).
 */

const MARKER = Symbol.for('agenttap.error')

/** Where an error happened. Every field is optional: a component fills what it knows. */
export interface ErrorContext {
  /** File the input came from. */
  file?: string | undefined
  /** 1-based line number in `file`. */
  line?: number | undefined
  /** Byte offset (of the line start, or of the offending byte) in `file` or the stream. */
  offset?: number | undefined
  /** Flow the error belongs to. */
  flow_id?: string | undefined
  /** Canonical `seq` of the SSE event / WebSocket frame concerned. */
  seq?: number | undefined
  /** A short, printable excerpt of the offending input. */
  excerpt?: string | undefined
  /** The underlying error. */
  cause?: unknown
}

/**
 * Base class of agenttap's error classes. Subclasses set `name` and narrow `code`.
 *
 * @example
 * ```ts
 * import { AgenttapError } from '@agenttap/jsonl-io'
 * try { run() } catch (e) { if (AgenttapError.isInstance(e)) console.error(e.code, e.message) }
 * ```
 */
export class AgenttapError<Code extends string = string> extends Error {
  readonly [MARKER] = true
  /** Stable error code a program can switch on. */
  readonly code: Code
  readonly file: string | undefined
  readonly line: number | undefined
  readonly offset: number | undefined
  readonly flow_id: string | undefined
  readonly seq: number | undefined
  readonly excerpt: string | undefined

  constructor(code: Code, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause })
    this.name = 'AgenttapError'
    this.code = code
    this.file = context.file
    this.line = context.line
    this.offset = context.offset
    this.flow_id = context.flow_id
    this.seq = context.seq
    this.excerpt = context.excerpt
  }

  /** True for an error of any agenttap package, from any installed copy. */
  static isInstance(e: unknown): e is AgenttapError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MARKER] === true
  }
}
