import { AgenttapError } from '@agenttap/jsonl-io'

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * An error as the one line a user sees on stderr: `<bin>: <message>`, newlines folded, control
 * characters escaped (a message may quote captured text), never a stack trace. The message of
 * an error's `cause` is added when the error's own does not already say it.
 *
 * @example
 * process.stderr.write(errorLine('agenttap-proxy', err)) // "agenttap-proxy: port 8080 is busy …\n"
 */
export function errorLine(bin: string, err: unknown): string {
  let msg = err instanceof Error ? err.message : String(err)
  const cause = err instanceof Error ? (err as { cause?: unknown }).cause : undefined
  if (cause instanceof Error && cause.message !== '' && !msg.includes(cause.message) && !AgenttapError.isInstance(err)) msg += ` (${cause.message})`
  return `${bin}: ${oneLine(msg)}\n`
}

/** Folds a message to one line and escapes control characters. */
export function oneLine(msg: string): string {
  return msg
    .replace(/\s*\n\s*/g, ' ')
    .replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .trim()
}
