/**
 * Serializes one event back to SSE wire text (`event:` line, one `data:` line per line of data,
 * blank line). Feeding the result to a framer gives back the same `event` and `data`; used to
 * rebuild a raw stream from canonical records (replay, tests, benchmarks).
 *
 * @example
 * ```ts
 * encodeSseEvent({ event: 'ping', data: '{"type":"ping"}' }) // 'event: ping\ndata: {"type":"ping"}\n\n'
 * ```
 */
export function encodeSseEvent(e: { event?: string | undefined; data: string }, eol: '\n' | '\r\n' | '\r' = '\n'): string {
  let out = e.event !== undefined && e.event !== '' ? `event: ${e.event}${eol}` : ''
  // SSE splits data at CR, LF and CRLF, and rejoins with LF.
  const lines = e.data.split(/\r\n|\r|\n/)
  for (const line of lines) out += `data: ${line}${eol}`
  return out + eol
}
