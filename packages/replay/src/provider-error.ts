/**
 * Errors shaped like the provider's own, so an agent shows them as it shows an API error: the
 * Anthropic `{"type":"error","error":{type,message}}`, the OpenAI `{"error":{message,type,param,code}}`,
 * and the Responses WebSocket's `{"type":"error","status",…}` frame.
 */

/** Which shape: from the request's API, else its path and headers. */
export function providerOf(api: string, path: string, headers: Record<string, string | string[] | undefined>): 'anthropic' | 'openai' {
  if (api === 'anthropic-messages') return 'anthropic'
  if (api === 'openai-responses' || api === 'openai-chat') return 'openai'
  if (headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined || /\/v1\/messages\b|\/api\/claude_code\//.test(path)) return 'anthropic'
  return 'openai'
}

/** The JSON body of an HTTP error response. */
export function errorBody(provider: 'anthropic' | 'openai', status: number, message: string, requestId: string): string {
  if (provider === 'anthropic') {
    const type = status === 404 ? 'not_found_error' : status === 409 ? 'invalid_request_error' : status >= 500 ? 'api_error' : 'invalid_request_error'
    return JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId })
  }
  return JSON.stringify({ error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: 'replay_divergence' } })
}

/** The error frame of a Responses WebSocket (Codex reads `error.message` and the status). */
export function errorFrame(status: number, message: string): string {
  return JSON.stringify({ type: 'error', status, error: { type: 'invalid_request_error', code: 'replay_divergence', message } })
}
