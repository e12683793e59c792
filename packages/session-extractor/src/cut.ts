import { pemHoldStart } from './pem-hold.js'
import type { SecretSpan } from './types.js'

/*
 * Where a streamed text may be cut: the rule both streaming redactors share. No built-in
 * secret contains whitespace (JavaScript's `\s`, the class every pattern excludes from its
 * values), private key blocks aside. So text next to whitespace that no secret found spans
 * and no key block still growing follows is decided: more text cannot change its redaction.
 * What a pattern reads before its match (the keyword and separators before a value, the
 * `Bearer ` before a token, `login <user>` before a .netrc password) is kept as context and
 * scanned with the text that follows.
 */

/**
 * Original text kept before the undecided text and scanned with it: what an assignment reads
 * behind its value (the longest keyword, quotes and separators: ~35 chars), with room.
 */
const CONTEXT_CHARS = 48
/** …and when a `.netrc` `login <user>` may precede a `password` (user up to 64 chars, gaps up to 64). */
const NETRC_CONTEXT_CHARS = 160

/** Hold-back for a redactor whose extra patterns may match across whitespace. */
export const HOLDBACK_FOR_EXTRAS = 128

/** A context never reaches further back than this (a run without whitespace longer than it is rare). */
const MAX_CONTEXT_CHARS = 16384

/** A run ending like this takes a value after a gap of up to 3 spaces or tabs (an assignment). */
const ANCHOR_END_RE = /[:=]\\?["']?$/
/** A run starting like this is an assignment's anchor, its keyword before the gap. */
const ANCHOR_START_RE = /^\\?["']?[:=]/
/** A run ending like this takes a value after any gap of spaces or tabs. */
const SCHEME_END_RE = /(?:[Bb]earer|BEARER|[Bb]asic|Token|password)$/

/**
 * The context to keep when `text` is decided up to `cut`: its last CONTEXT_CHARS (or
 * NETRC_CONTEXT_CHARS when a `login` is that close), widened so that it starts where a scan of
 * the whole text could start a match too:
 * - at the start of a word: a context starting mid-word would make a match at its start look
 *   like it stands at a word boundary (`max_tokensdjango-insecure-…` is no Django key);
 * - not between a match's anchor and its value: the only matches that cross whitespace are an
 *   assignment (`key:` + up to 3 spaces or tabs + value) and a scheme (`Bearer` + spaces + token).
 *   Cut there, the value would look like text of its own, and could swallow a keyword that the
 *   whole text gives to a later secret (`client-key-data: …DB_PASS=` then `client-key-data:`).
 * No match crosses a line break (private key blocks aside, held until complete), so a line
 * start is always a good start. After a forced cut inside a secret, the secret so far stays in
 * view, so its rest is still recognised.
 * @internal
 */
export function contextBefore(text: string, cut: number): string {
  const wide = Math.max(0, cut - NETRC_CONTEXT_CHARS)
  const login = text.lastIndexOf('login', cut)
  let start = login >= wide ? wide : Math.max(0, cut - CONTEXT_CHARS)
  const floor = Math.max(0, cut - MAX_CONTEXT_CHARS)
  while (start > floor && !isWs(text.charCodeAt(start - 1))) start--
  while (start > floor) {
    let gap = start
    while (gap > floor && (text.charCodeAt(gap - 1) === 32 || text.charCodeAt(gap - 1) === 9)) gap--
    if (gap === start || gap === floor) break
    let prev = gap
    while (prev > floor && !isWs(text.charCodeAt(prev - 1))) prev--
    const before = text.slice(Math.max(prev, gap - 16), gap)
    const short = start - gap <= 3
    if (!((short && (ANCHOR_END_RE.test(before) || ANCHOR_START_RE.test(text.slice(start, start + 3)))) || SCHEME_END_RE.test(before))) break
    start = prev
  }
  return text.slice(start, cut)
}

/** JavaScript's `\s`, by char code. */
export function isWs(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
}

/** Whether `s` holds whitespace (a piece without any cannot make a cut possible). */
export const WS_RE = /\s/

/**
 * The furthest point `text` is decided up to (`base` is where its undecided part starts, after
 * the context): next to whitespace, inside no secret found, before any private key block still
 * growing and before the last `holdback` chars. `base` when nothing can be decided.
 * @internal
 */
export function naturalCut(text: string, base: number, spans: readonly SecretSpan[], holdback: number): number {
  const len = text.length
  let c = Math.min(len - holdback, pemHoldStart(text, base))
  let k = spans.length - 1
  for (;;) {
    while (c > base && !(isWs(text.charCodeAt(c - 1)) || (c < len && isWs(text.charCodeAt(c))))) c--
    if (c <= base) return base
    while (k >= 0 && (spans[k] as SecretSpan).start >= c) k--
    const sp = spans[k]
    if (sp === undefined || sp.end <= c) return c
    c = sp.start
  }
}

/**
 * The spans that reach past `base`. One that starts in the context (only after a forced
 * release, or when the context is shorter than its pattern needs) is redacted from `base` on:
 * its replacement goes where the undecided text starts.
 * @internal
 */
export function fromBase(spans: SecretSpan[], base: number): SecretSpan[] {
  if (base === 0 || spans.length === 0 || (spans[0] as SecretSpan).start >= base) return spans
  const out: SecretSpan[] = []
  for (const sp of spans) {
    if (sp.end <= base) continue
    out.push(sp.start < base ? { start: base, end: sp.end, replacement: sp.replacement } : sp)
  }
  return out
}

/** A forced cut (buffer cap) never splits a secret: it moves to the end of the one it would split. @internal */
export function widenCut(cut: number, spans: readonly SecretSpan[]): number {
  for (const sp of spans) {
    if (sp.start >= cut) break
    if (sp.end > cut) return sp.end
  }
  return cut
}

/**
 * The redacted text of `text.slice(start, end)`: a span starting inside it puts its replacement
 * here, a span started earlier removes its part.
 * @internal
 */
export function redactRange(text: string, spans: readonly SecretSpan[], start: number, end: number): string {
  let out = ''
  let at = start
  for (const sp of spans) {
    if (sp.end <= start) continue
    if (sp.start >= end) break
    if (sp.start >= start) {
      out += text.slice(at, sp.start) + sp.replacement
    } else {
      out += text.slice(at, Math.max(at, start))
    }
    at = Math.min(sp.end, end)
  }
  return out + text.slice(at, end)
}
