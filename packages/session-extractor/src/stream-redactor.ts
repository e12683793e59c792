import { contextBefore, fromBase, HOLDBACK_FOR_EXTRAS, isWs, naturalCut, redactRange, widenCut, WS_RE } from './cut.js'
import { SessionExtractorError } from './errors.js'
import { getDefaultRedactor, isWordBounded } from './redactor.js'
import type { Redactor } from './types.js'

/** Options of {@link createStreamRedactor}. */
export interface StreamRedactorOptions {
  /** Redactor to apply. @defaultValue the default redactor */
  redactor?: Redactor
  /**
   * Characters always held back at the tail. Built-in patterns never match across whitespace
   * (private key blocks aside, held until complete), so none are needed for them; a redactor
   * with `extraPatterns` (which may) gets 128 unless told otherwise.
   * @defaultValue 0 for a redactor without extra patterns, else 128
   */
  holdback?: number
  /**
   * Most characters held at once. A run without whitespace longer than this is released
   * (redacted as far as it can be) rather than growing the buffer without bound. @defaultValue 65536
   */
  maxPending?: number
  /** Called when `maxPending` forced a cut (`PENDING_LIMIT`, `at` = stream offset of the cut); redaction goes on. */
  onError?(err: SessionExtractorError): void
}

/** A streaming text redactor: same shape as stream-normalizer's `TextDeltaNormalizer`. */
export interface StreamRedactor {
  /** Add a fragment; returns redacted text that is now safe to emit (possibly `''`). */
  feed(fragment: string): string
  /** The stream ended: returns the redacted rest. */
  end(): string
  /** Forget held text (a new stream). */
  reset(): void
  /** Characters currently held back. */
  readonly pending: number
}

/** Characters a stream redactor gathers before it scans again. */
const BATCH = 256

function checkOptions(holdback: number, maxPending: number): void {
  if (!Number.isInteger(holdback) || holdback < 0) throw new SessionExtractorError('INVALID_OPTION', `createStreamRedactor: expected holdback to be a non-negative integer, received ${String(holdback)}`)
  if (!Number.isInteger(maxPending) || maxPending <= holdback) throw new SessionExtractorError('INVALID_OPTION', `createStreamRedactor: expected maxPending to be an integer greater than holdback (${holdback}), received ${String(maxPending)}`)
}

/**
 * Redact a text stream that arrives in fragments (text deltas, tool-argument deltas, a
 * terminal view) so that a secret split across fragments is still caught: the redactor
 * runs over the joined text and only a tail that could still be part of a secret is held
 * back. Every secret `redactor.text` finds in the joined stream is redacted in the output, however
 * the stream was split (secrets longer than `maxPending` aside).
 *
 * @example
 * const s = createStreamRedactor()
 * let out = s.feed('my key is sk-ant-api03-AbC') + s.feed('dEf0123456789xyzXYZ0123 ok')
 * out += s.end() // 'my key is sk-ant-api03-[REDACTED:…] ok'
 */
export function createStreamRedactor(opts: StreamRedactorOptions = {}): StreamRedactor {
  const redactor = opts.redactor ?? getDefaultRedactor()
  const holdback = opts.holdback ?? (isWordBounded(redactor) ? 0 : HOLDBACK_FOR_EXTRAS)
  const maxPending = opts.maxPending ?? 65536
  checkOptions(holdback, maxPending)
  const onError = opts.onError
  // Undecided text as fragments, joined once when it is scanned (never `pending += chunk`).
  let parts: string[] = []
  let pendingLen = 0
  /** The undecided text ends in a run of non-whitespace (or is empty): more of the run cannot release anything. */
  let endsInRun = true
  /** Text right before the undecided text (patterns read behind their match; see contextBefore). */
  let ctx = ''
  /** Characters decided so far. */
  let offset = 0

  function take(): string {
    const text = ctx + (parts.length === 1 ? (parts[0] as string) : parts.join(''))
    parts = []
    return text
  }

  return {
    feed(fragment: string): string {
      if (typeof fragment !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `streamRedactor.feed: expected a string, received ${typeof fragment}`)
      if (fragment === '') return ''
      parts.push(fragment)
      pendingLen += fragment.length
      // A fragment without whitespace that only extends the run the held text ends in cannot
      // make a cut possible: hold it without rescanning, so a long run (base64, minified code)
      // streamed in small pieces costs O(n), not O(n * maxPending).
      // Not live (raw bodies, a terminal view): below BATCH chars, wait for more rather than
      // rescan the context with every small fragment.
      const skip = (endsInRun && pendingLen <= maxPending && !WS_RE.test(fragment)) || pendingLen <= Math.min(holdback + BATCH, maxPending)
      endsInRun = !isWs(fragment.charCodeAt(fragment.length - 1))
      if (skip) return ''
      const text = take()
      const base = ctx.length
      const spans = fromBase(redactor.findSecrets(text, { continuation: offset > 0 }), base)
      let cut = naturalCut(text, base, spans, holdback)
      if (text.length - cut > maxPending) {
        // Over the cap: release down to half of it, so the next maxPending / 2 chars of the run
        // take the no-rescan path instead of forcing a full scan per fragment.
        cut = Math.max(cut, widenCut(text.length - (maxPending >> 1), spans))
        if (onError !== undefined) onError(new SessionExtractorError('PENDING_LIMIT', `streamRedactor: a run of more than ${maxPending} characters without whitespace exceeded maxPending; released part of it, redacted as far as it could be. Raise maxPending if secrets this long are expected.`, { at: offset + cut - base }))
      }
      const rest = text.slice(cut)
      parts = rest === '' ? [] : [rest]
      pendingLen = rest.length
      endsInRun = rest === '' || !isWs(rest.charCodeAt(rest.length - 1))
      if (cut <= base) return ''
      const out = redactRange(text, spans, base, cut)
      offset += cut - base
      ctx = contextBefore(text, cut)
      return out
    },
    end(): string {
      const text = take()
      const base = ctx.length
      const out = text.length === base ? '' : redactRange(text, fromBase(redactor.findSecrets(text, { continuation: offset > 0 }), base), base, text.length)
      parts = []
      pendingLen = 0
      endsInRun = true
      ctx = ''
      offset = 0
      return out
    },
    reset(): void {
      parts = []
      pendingLen = 0
      endsInRun = true
      ctx = ''
      offset = 0
    },
    get pending(): number {
      return pendingLen
    },
  }
}
