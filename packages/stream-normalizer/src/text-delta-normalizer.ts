import { NormalizerError, excerptOf } from './errors.js'

/** Options of {@link TextDeltaNormalizer}. */
export interface TextDeltaNormalizerOptions {
  /** Called for invalid escapes, lone surrogates and input that ends inside an escape. */
  onError?(e: NormalizerError): void
}

/** Decoded value of the single-character escapes JSON allows, by char code of the letter. */
const SIMPLE_ESCAPES: (string | undefined)[] = []
SIMPLE_ESCAPES[0x22] = '"'
SIMPLE_ESCAPES[0x5c] = '\\'
SIMPLE_ESCAPES[0x2f] = '/'
SIMPLE_ESCAPES[0x62] = '\b'
SIMPLE_ESCAPES[0x66] = '\f'
SIMPLE_ESCAPES[0x6e] = '\n'
SIMPLE_ESCAPES[0x72] = '\r'
SIMPLE_ESCAPES[0x74] = '\t'

/** Value of a hex digit char code, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/** @internal */
export { SIMPLE_ESCAPES }

/**
 * Decodes the escape sequences of a JSON string body that arrives in pieces (Anthropic
 * `partial_json`, Responses / Chat function-call `arguments` deltas, …): `\n \r \t \f \b \" \\ \/`,
 * `\uXXXX` and surrogate pairs written as two escapes. State is held across `feed` calls, so a
 * fragment may end right after `\`, in the middle of `\u00`, or between the two halves of a
 * surrogate pair; a high surrogate is held back until its low half is known, so the text returned
 * is always well-formed.
 *
 * The input is the string *body*: quotes are not expected around it and an unescaped `"` is
 * passed through. Invalid escapes (`\x`, `\u12G4`) and lone surrogates are passed through as
 * written, so they stay visible, and reported to `onError`; nothing throws.
 *
 * @example
 * ```ts
 * const t = new TextDeltaNormalizer()
 * t.feed('line one\\') // → 'line one'
 * t.feed('nline two \\u00') // → '\nline two '
 * t.feed('e9') // → 'é'
 * t.end() // → ''
 * ```
 */
export class TextDeltaNormalizer {
  private readonly onError: ((e: NormalizerError) => void) | undefined
  /** Pending escape text, starting with `\` (empty when none). */
  private esc = ''
  /** Pending high surrogate waiting for its low half (0 when none) and how it was written. */
  private hi = 0
  private hiRaw = ''
  /** A raw (unescaped) high surrogate that ended the previous fragment, held for its low half. */
  private rawHi = ''
  /** Characters consumed so far, for error offsets. */
  private offset = 0

  /** @param opts - see {@link TextDeltaNormalizerOptions} */
  constructor(opts: TextDeltaNormalizerOptions = {}) {
    this.onError = opts.onError
  }

  /**
   * Feeds the next fragment of the string body.
   * @returns the decoded text that became available (may be empty)
   */
  feed(fragment: string): string {
    if (this.rawHi !== '') {
      // Resume as if the held character were a pending high surrogate.
      this.hi = this.rawHi.charCodeAt(0)
      this.hiRaw = this.rawHi
      this.rawHi = ''
    }
    const out = this.decode(fragment)
    // Never return half of a surrogate pair split between fragments.
    const last = out.charCodeAt(out.length - 1)
    if (last >= 0xd800 && last <= 0xdbff) {
      this.rawHi = out.slice(-1)
      return out.slice(0, -1)
    }
    return out
  }

  private decode(fragment: string): string {
    if (this.esc === '' && this.hi === 0 && fragment.indexOf('\\') === -1) {
      this.offset += fragment.length
      return fragment
    }
    const out: string[] = []
    const n = fragment.length
    let i = 0
    while (i < n) {
      if (this.esc === '') {
        const bs = fragment.indexOf('\\', i)
        const stop = bs === -1 ? n : bs
        if (stop > i) {
          if (this.hi !== 0) {
            const next = fragment.charCodeAt(i)
            // A raw low surrogate completes the pending high one (JSON.parse pairs them too).
            if (next >= 0xdc00 && next <= 0xdfff) {
              out.push(String.fromCharCode(this.hi))
              this.hi = 0
              this.hiRaw = ''
            } else this.flushLoneHigh(out)
          }
          out.push(fragment.slice(i, stop))
        }
        if (bs === -1) {
          i = n
          break
        }
        this.esc = '\\'
        i = bs + 1
        continue
      }
      // Inside an escape: consume one character at a time, the escape is at most 6 long.
      const c = fragment.charCodeAt(i)
      if (this.esc.length === 1) {
        if (c === 0x75 /* u */) {
          this.esc = '\\u'
          i++
          continue
        }
        const simple = SIMPLE_ESCAPES[c]
        if (this.hi !== 0) this.flushLoneHigh(out)
        if (simple !== undefined) {
          out.push(simple)
        } else {
          const raw = `\\${fragment[i] ?? ''}`
          out.push(raw)
          this.report('INVALID_ESCAPE', `invalid escape ${JSON.stringify(raw)} in JSON string: expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX; passed through as written`, this.offset + i - 1, raw)
        }
        this.esc = ''
        i++
        continue
      }
      // `\u` plus 0–3 hex digits so far.
      if (hexValue(c) === -1) {
        const raw = this.esc
        if (this.hi !== 0) this.flushLoneHigh(out)
        out.push(raw)
        this.report('INVALID_ESCAPE', `invalid \\u escape ${JSON.stringify(raw + (fragment[i] ?? ''))}: expected 4 hex digits; passed through as written`, this.offset + i - raw.length, raw)
        this.esc = ''
        // Reprocess this character normally: it may start a new escape.
        continue
      }
      this.esc += fragment[i]
      i++
      if (this.esc.length === 6) {
        this.unicode(out)
        this.esc = ''
      }
    }
    this.offset += n
    return out.length === 1 ? (out[0] as string) : out.join('')
  }

  /**
   * Ends the body: an escape left open is passed through as written and reported.
   * @returns the text still held back (may be empty)
   */
  end(): string {
    let out = ''
    if (this.rawHi !== '') {
      this.hi = this.rawHi.charCodeAt(0)
      this.hiRaw = this.rawHi
      this.rawHi = ''
    }
    if (this.hi !== 0) {
      const parts: string[] = []
      this.flushLoneHigh(parts)
      out += parts.join('')
    }
    if (this.esc !== '') {
      out += this.esc
      this.report('UNEXPECTED_END', `input ended inside the escape ${JSON.stringify(this.esc)}; passed through as written`, this.offset - this.esc.length, this.esc)
      this.esc = ''
    }
    this.offset = 0
    return out
  }

  /** Forgets all state (a new string body starts). */
  reset(): void {
    this.esc = ''
    this.rawHi = ''
    this.hi = 0
    this.hiRaw = ''
    this.offset = 0
  }

  private unicode(out: string[]): void {
    const raw = this.esc
    const code = parseInt(raw.slice(2), 16)
    if (this.hi !== 0) {
      if (code >= 0xdc00 && code <= 0xdfff) {
        out.push(String.fromCharCode(this.hi, code))
        this.hi = 0
        this.hiRaw = ''
        return
      }
      this.flushLoneHigh(out)
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      this.hi = code
      this.hiRaw = raw
      return
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      out.push(raw)
      this.report('LONE_SURROGATE', `low surrogate ${raw} without a high surrogate before it; passed through as written`, this.offset, raw)
      return
    }
    out.push(String.fromCharCode(code))
  }

  private flushLoneHigh(out: string[]): void {
    out.push(this.hiRaw)
    this.report('LONE_SURROGATE', `high surrogate ${this.hiRaw} not followed by a low surrogate escape; passed through as written`, this.offset, this.hiRaw)
    this.hi = 0
    this.hiRaw = ''
  }

  private report(code: 'INVALID_ESCAPE' | 'LONE_SURROGATE' | 'UNEXPECTED_END', message: string, offset: number, excerpt: string): void {
    this.onError?.(new NormalizerError(code, message, { offset: Math.max(0, offset), excerpt: excerptOf(excerpt) }))
  }
}
