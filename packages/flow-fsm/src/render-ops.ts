import type { RenderOp, RenderStyle } from './types.js'

// C0 controls (except tab and newline) and DEL would let model output drive the terminal
// (ANSI injection, cursor moves); show them as Unicode control pictures instead.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g
function picture(ch: string): string {
  const code = ch.charCodeAt(0)
  return code === 0x7f ? '\u2421' : String.fromCharCode(0x2400 + code)
}

/** Replaces terminal control characters (other than tab and newline) by visible symbols. */
export function sanitizeText(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROL, picture) : text
}

/**
 * Turns text into render ops: `\n` (and `\r\n`) become `newline` ops, control characters are
 * made visible, empty pieces are dropped. Appends to `out` and returns it.
 */
export function pushText(out: RenderOp[], text: string, style: RenderStyle): RenderOp[] {
  if (text === '') return out
  let start = 0
  for (;;) {
    const nl = text.indexOf('\n', start)
    const end = nl === -1 ? text.length : nl
    let piece = text.slice(start, end)
    if (nl !== -1 && piece.endsWith('\r')) piece = piece.slice(0, -1)
    if (piece !== '') out.push({ op: 'text', text: sanitizeText(piece), style })
    if (nl === -1) return out
    out.push({ op: 'newline' })
    start = nl + 1
  }
}

/**
 * Renders ops as plain terminal text (no colors): `backtrack` → `\r\x1b[2K`, `newline` → `\n`,
 * headers as `── <flow> · <session> · <client> · <time> ──` on their own line. For tests,
 * pipes and as a reference for apps that add colors.
 */
export function opsToString(ops: readonly RenderOp[], opts: { ansi?: boolean } = {}): string {
  const ansi = opts.ansi ?? true
  const parts: string[] = []
  for (const op of ops) {
    switch (op.op) {
      case 'text':
        parts.push(op.text)
        break
      case 'newline':
        parts.push('\n')
        break
      case 'backtrack':
        parts.push(ansi ? '\r\x1b[2K' : '\n')
        break
      case 'header':
        parts.push(
          `── ${op.flow_id} · ${op.session_id}${op.client ? ` · ${op.client}` : ''} · ${new Date(op.ts).toISOString()} ──\n`,
        )
        break
    }
  }
  return parts.join('')
}
