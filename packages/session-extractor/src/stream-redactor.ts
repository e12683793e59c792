import { SessionExtractorError } from './errors.js'
import { getDefaultRedactor } from './redactor.js'
import type { Redactor, SecretSpan } from './types.js'

/** Options of {@link createStreamRedactor}. */
export interface StreamRedactorOptions {
  /** Redactor to apply. @defaultValue the default redactor */
  redactor?: Redactor
  /**
   * Characters always held back at the tail: long enough for a keyword and separator
   * (`Authorization: Bearer `) whose secret has not arrived yet; at least 72. @defaultValue 128
   */
  holdback?: number
  /**
   * Most characters held at once. A secret-like run longer than this is released (redacted
   * as far as it can be) rather than growing the buffer without bound. @defaultValue 65536
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

/** How far before a match its pattern may look (lookbehind of the assignment and userinfo rules). */
export const CONTEXT = 72
const PEM_END_RE = /-----END[A-Z ]{0,40}PRIVATE KEY-----/g
/** Characters that end a run of secret-like text. */
export const DELIM_SET: ReadonlySet<string> = new Set([' ', '\t', '\n', '\r', '"', "'", '`', ',', ';', '(', ')', '{', '}', '[', ']', '<', '>', '|'])

/**
 * Where text may be cut so that no secret, complete or still growing, straddles the cut.
 * Holds back `holdback` chars, the trailing run of non-delimiter chars (a key still
 * arriving), an unterminated PEM block, and moves the cut before any secret it would split.
 * @internal
 */
export function safeCut(text: string, spans: readonly SecretSpan[], holdback: number, maxPending: number): { cut: number; forced: boolean } {
  const len = text.length
  let r = len - holdback
  let s = len
  const floor = Math.max(0, len - maxPending)
  while (s > floor && !DELIM_SET.has(text[s - 1] as string)) s--
  if (s < r) r = s
  // A PEM block is held from its BEGIN until its END line is complete (a partial
  // `-----END PRIV` does not close it). The first BEGIN not closed after it decides, as in
  // the whole-text scan where a block runs from the first BEGIN to the next END.
  for (let begin = text.indexOf('-----BEGIN'); begin >= 0 && begin < r; ) {
    PEM_END_RE.lastIndex = begin
    if (!PEM_END_RE.test(text)) {
      r = begin
      break
    }
    begin = text.indexOf('-----BEGIN', PEM_END_RE.lastIndex)
  }
  // Cut only at a delimiter: a pattern's context (the `//user:` before a URL password, the
  // boundary before a key) must stay with what follows it.
  while (r > floor && !DELIM_SET.has(text[r - 1] as string)) r--
  // A span's pattern also reads up to CONTEXT chars before it (the keyword before `: value`,
  // the `//user` before `:password@`): keep those with the span. Repeat until no span is split.
  for (let moved = true; moved; ) {
    moved = false
    for (const sp of spans) {
      if (sp.end <= r) continue
      if (sp.start - CONTEXT >= r) break
      r = Math.max(floor, sp.start - CONTEXT)
      while (r > floor && !DELIM_SET.has(text[r - 1] as string)) r--
      moved = true
      break
    }
    if (r <= floor) break
  }
  // Over the cap: release down to half of it, so the next maxPending / 2 chars of the run
  // take the no-rescan path instead of forcing a full scan per fragment.
  if (r <= floor && floor > 0) return { cut: Math.max(floor, len - (maxPending >> 1)), forced: true }
  return { cut: r < 0 ? 0 : r, forced: false }
}

const DELIM_RE = /[\s"'`,;(){}[\]<>|]/

/** Whether `s` holds a character that ends a run (see DELIM_SET). */
export function hasDelimiter(s: string): boolean {
  return DELIM_RE.test(s)
}

/** Apply spans (sorted, non-overlapping, all ending at or before `cut`) to `text.slice(0, cut)`. */
export function applySpans(text: string, spans: readonly SecretSpan[], cut: number): string {
  const parts: string[] = []
  let at = 0
  for (const sp of spans) {
    if (sp.end > cut) break
    parts.push(text.slice(at, sp.start), sp.replacement)
    at = sp.end
  }
  parts.push(text.slice(at, cut))
  return parts.join('')
}

/** A forced cut (buffer cap) never splits a secret: it moves to the end of the one it would split. */
export function widenCut(cut: number, spans: readonly SecretSpan[]): number {
  for (const sp of spans) {
    if (sp.start >= cut) break
    if (sp.end > cut) return sp.end
  }
  return cut
}

export function checkStreamOptions(fn: string, holdback: number, maxPending: number): void {
  // Less would let a keyword (`Authorization: Bearer `) go out before the secret it announces.
  if (!Number.isInteger(holdback) || holdback < CONTEXT) throw new SessionExtractorError('INVALID_OPTION', `${fn}: expected holdback to be an integer of at least ${CONTEXT} (the context a pattern reads before a secret), received ${String(holdback)}`)
  if (!Number.isInteger(maxPending) || maxPending < holdback + 1) throw new SessionExtractorError('INVALID_OPTION', `${fn}: expected maxPending to be an integer greater than holdback (${holdback}), received ${String(maxPending)}`)
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
  const holdback = opts.holdback ?? 128
  const maxPending = opts.maxPending ?? 65536
  checkStreamOptions('createStreamRedactor', holdback, maxPending)
  const onError = opts.onError
  // Held text as fragments, joined once when it is scanned (never `pending += chunk`).
  let parts: string[] = []
  let pendingLen = 0
  let endsInRun = false
  let offset = 0

  function joinPending(): string {
    const text = parts.length === 1 ? (parts[0] as string) : parts.join('')
    parts = text === '' ? [] : [text]
    return text
  }

  return {
    feed(fragment: string): string {
      if (typeof fragment !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `streamRedactor.feed: expected a string, received ${typeof fragment}`)
      if (fragment === '') return ''
      // A fragment that only extends the run the held text ends in cannot move the cut forward
      // (the cut never passes the start of the trailing run): hold it without rescanning, so a
      // long run (base64, minified code) streamed in small pieces costs O(n), not O(n * maxPending).
      // Below twice the hold-back, at most a few chars could be released: batch them, so the
      // held text is scanned about once per `holdback` chars rather than once per fragment.
      if ((endsInRun && pendingLen + fragment.length < maxPending && !hasDelimiter(fragment)) || pendingLen + fragment.length < holdback * 2) {
        parts.push(fragment)
        pendingLen += fragment.length
        endsInRun = !DELIM_SET.has(fragment[fragment.length - 1] as string)
        return ''
      }
      parts.push(fragment)
      const text = joinPending()
      const spans = redactor.findSecrets(text, { continuation: offset > 0 })
      const { cut: natural, forced } = safeCut(text, spans, holdback, maxPending)
      const cut = widenCut(natural, spans)
      if (forced && onError !== undefined) {
        onError(new SessionExtractorError('PENDING_LIMIT', `streamRedactor: a run of more than ${maxPending} characters without a delimiter exceeded maxPending; released part of it, redacted as far as it could be. Raise maxPending if secrets this long are expected.`, { at: offset + natural }))
      }
      offset += cut
      const rest = text.slice(cut)
      parts = rest === '' ? [] : [rest]
      pendingLen = rest.length
      endsInRun = rest !== '' && !DELIM_SET.has(rest[rest.length - 1] as string)
      return cut === 0 ? '' : applySpans(text, spans, cut)
    },
    end(): string {
      const text = joinPending()
      const out = text === '' ? '' : offset > 0 ? applySpans(text, redactor.findSecrets(text, { continuation: true }), text.length) : redactor.text(text)
      offset += text.length
      parts = []
      pendingLen = 0
      endsInRun = false
      return out
    },
    reset(): void {
      parts = []
      pendingLen = 0
      endsInRun = false
      offset = 0
    },
    get pending(): number {
      return pendingLen
    },
  }
}
