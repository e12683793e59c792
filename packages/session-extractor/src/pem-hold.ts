import { PEM_BEGIN_SOURCE, PEM_BODY_SOURCE } from './patterns.js'

/*
 * Private key blocks are the one built-in secret with whitespace inside (line breaks), so a
 * streaming redactor cannot cut next to whitespace while one may still be growing. As
 * PEM_SOURCE reads them, a block runs from BEGIN to the next END line within 16 KiB, whatever
 * is between (key lines may come as JSON array elements, quoted and comma-separated); only
 * when no END comes in that window is it the BEGIN line plus the base64 lines after it
 * (`head -n 4 id_ed25519`). So a block is complete once its END line is in, or once the window
 * has passed and a line that cannot belong to it follows its body.
 */

const BEGIN_RE = new RegExp(`${PEM_BEGIN_SOURCE}`, 'y')
const END_RE = /-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g
const BODY_RE = new RegExp(PEM_BODY_SOURCE, 'y')
/**
 * What may follow a block's body while it is still arriving: complete armor headers
 * (`Proc-Type: 4,ENCRYPTED`, before the first base64 line), line breaks (real, escaped, or an
 * escape cut in half), then part of a base64 line, of a header or of the END line.
 */
const PARTIAL_REST_RE = /^(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z][A-Za-z0-9-]{0,40}: [^\r\n\\]{0,256})*(?:\r?\n|\r|\\r\\n|\\r\\?|\\n|\\){0,2}(?:[A-Za-z0-9+/=]{0,128}|[A-Za-z][A-Za-z0-9-]{0,40}(?::[^\r\n\\]{0,256})?|-{1,5}(?:E(?:N(?:D[A-Z0-9 ]{0,60}-{0,5})?)?)?)$/
/** Longest BEGIN line (`-----BEGIN` + 40 + `PRIVATE KEY BLOCK-----`). */
const MAX_BEGIN_LINE = 80
/** PEM_SOURCE looks for the END line this far after the BEGIN line. */
const END_WINDOW = 16384
/** Longest END line. */
const MAX_END_LINE = 80

/**
 * Where `text` must be held from so that no private key block still growing is cut: the
 * position of the first `-----BEGIN` at or after `from` whose block may still grow (or whose
 * BEGIN line is not complete yet), else `text.length`.
 * @internal
 */
export function pemHoldStart(text: string, from: number): number {
  for (let at = text.indexOf('-----BEGIN', from); at >= 0; at = text.indexOf('-----BEGIN', at + 10)) {
    BEGIN_RE.lastIndex = at
    if (!BEGIN_RE.test(text)) {
      // A BEGIN line still arriving (`-----BEGIN OPENSSH PRIV`) may become a private key's.
      const rest = text.slice(at, at + MAX_BEGIN_LINE + 1)
      if (rest.length <= MAX_BEGIN_LINE && !/[\r\n\\]/.test(rest) && !rest.slice(10).includes('-----')) return at
      continue
    }
    const headerEnd = BEGIN_RE.lastIndex
    END_RE.lastIndex = headerEnd
    const end = END_RE.exec(text)
    if (end !== null && end.index - headerEnd <= END_WINDOW) continue
    // An END line may still come (and start) within the window: all of it would be the block.
    if (text.length - headerEnd < END_WINDOW + MAX_END_LINE) return at
    BODY_RE.lastIndex = headerEnd
    const bodyEnd = BODY_RE.test(text) ? BODY_RE.lastIndex : headerEnd
    const rest = text.slice(bodyEnd)
    if (rest.length <= 4096 && PARTIAL_REST_RE.test(rest)) return at
  }
  return text.length
}
