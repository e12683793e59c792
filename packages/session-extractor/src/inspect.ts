import { detectClient, detectProvider, detectSubagent } from './detect.js'
import { extractSessionId } from './session-id.js'
import type { RequestInfo, RequestInspection } from './types.js'

/**
 * Everything the proxy needs for a flow record in one call: session id and the rule that
 * found it, client, provider and subagent marker. Headers and body are parsed once.
 *
 * @example
 * const info = inspectRequest({ method: 'POST', url: 'https://api.anthropic.com/v1/messages?beta=true', headers, body })
 * // { sessionId: '…', sessionSource: 'header:x-claude-code-session-id', derived: false, client: 'claude-code', provider: 'anthropic' }
 */
export function inspectRequest(req: RequestInfo): RequestInspection {
  const { sessionId, source, derived } = extractSessionId(req)
  const result: RequestInspection = {
    sessionId,
    sessionSource: source,
    derived,
    client: detectClient(req),
    provider: detectProvider(req),
  }
  const subagent = detectSubagent(req)
  if (subagent !== undefined) result.subagent = subagent
  return result
}
