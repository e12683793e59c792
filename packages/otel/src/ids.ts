import { createHash } from 'node:crypto'

/**
 * Stable OTLP ids. A trace id (16 bytes) and span ids (8 bytes) are the start of a SHA-256 of
 * what they stand for — the session, the turn's first call, the call's key, the tool call id —
 * so exporting the same capture twice gives the same ids and a backend keeps one copy.
 */
function hex(kind: string, value: string, bytes: number): string {
  const h = createHash('sha256').update(kind).update('\0').update(value).digest('hex').slice(0, bytes * 2)
  // All-zero ids are invalid in OTLP; a SHA-256 prefix of zeros is astronomically unlikely, but keep the rule.
  return /^0+$/.test(h) ? `${h.slice(0, -1)}1` : h
}

/** Trace id of a session (one trace per agent session). */
export function traceIdOf(sessionId: string): string {
  return hex('agenttap.trace', sessionId, 16)
}

/** Span id of a turn (`invoke_agent`), named by the key of the turn's first call and the agent. */
export function turnSpanIdOf(firstCallKey: string, agent: string): string {
  return hex('agenttap.turn', `${agent}\0${firstCallKey}`, 8)
}

/** Span id of a model call (`chat`). */
export function callSpanIdOf(callKey: string): string {
  return hex('agenttap.call', callKey, 8)
}

/** Span id of a tool call (`execute_tool`). */
export function toolSpanIdOf(callKey: string, toolCallId: string): string {
  return hex('agenttap.tool', `${callKey}\0${toolCallId}`, 8)
}
