import type { StreamProvider } from './types.js'

/** What {@link detectStreamProvider} looks at in a flow record. */
export interface ProviderHint {
  url?: string
  host?: string
  path?: string
  /** A canonical `provider` (`anthropic` / `openai`) or a {@link StreamProvider}. */
  provider?: string
  /** A canonical `client` (`claude-code` / `codex`), the last hint before the events. */
  client?: string
}

const ANTHROPIC_TYPES = new Set(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping'])

function fromPath(path: string): StreamProvider {
  const q = path.indexOf('?')
  const p = (q === -1 ? path : path.slice(0, q)).toLowerCase()
  if (p.endsWith('/chat/completions')) return 'openai-chat'
  if (p.endsWith('/responses') || p.includes('/responses/') || p.endsWith('/codex/responses')) return 'openai-responses'
  if (p.endsWith('/messages') || p.includes('/v1/messages')) return 'anthropic'
  return 'unknown'
}

function fromHost(host: string): StreamProvider {
  const h = host.toLowerCase()
  if (h === 'api.anthropic.com' || h.endsWith('.anthropic.com')) return 'anthropic'
  if (h === 'chatgpt.com' || h.endsWith('.chatgpt.com')) return 'openai-responses'
  return 'unknown'
}

/**
 * Provider of a parsed stream event from its shape, or `unknown` when the event does not tell
 * (a bare `error` without `sequence_number` looks the same in Anthropic and Responses streams).
 */
export function detectProviderFromEvent(value: unknown): StreamProvider {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'unknown'
  const v = value as Record<string, unknown>
  const type = v['type']
  if (typeof type === 'string') {
    if (type.startsWith('response.') || type.startsWith('codex.')) return 'openai-responses'
    if (ANTHROPIC_TYPES.has(type)) return 'anthropic'
    if (typeof v['sequence_number'] === 'number') return 'openai-responses'
  }
  if (v['object'] === 'chat.completion.chunk' || Array.isArray(v['choices'])) return 'openai-chat'
  return 'unknown'
}

/**
 * Detects the stream format of a flow: from the flow record's path (`/v1/messages`,
 * `/responses`, `/backend-api/codex/responses`, `/chat/completions`), its host
 * (`api.anthropic.com`, `chatgpt.com`), `provider` or `client`, and failing those from the first event's
 * data (`message_start`, `response.*`, `chat.completion.chunk`, or the literal `[DONE]`).
 *
 * @param flow - the flow record (or the parts of it known)
 * @param firstData - the `data` of the first SSE event / WS frame, when known
 * @returns the stream format (`anthropic`, `openai-responses`, `openai-chat`), `unknown` when
 *   nothing tells. Not session-extractor's `detectProvider`, which names the provider of a
 *   request (`anthropic`, `openai`) in the capture records' vocabulary.
 * @example
 * ```ts
 * detectStreamProvider({ url: 'https://chatgpt.com/backend-api/codex/responses' }) // 'openai-responses'
 * detectStreamProvider(undefined, '{"type":"message_start","message":{}}') // 'anthropic'
 * ```
 */
export function detectStreamProvider(flow: ProviderHint | undefined, firstData?: string): StreamProvider {
  if (flow !== undefined) {
    const p = flow.provider
    if (p === 'anthropic' || p === 'openai-responses' || p === 'openai-chat') return p
    let path = flow.path
    let host = flow.host
    if (flow.url !== undefined && (path === undefined || host === undefined)) {
      // Split by hand: WHATWG URL parsing costs microseconds and this runs once per flow.
      const url = flow.url
      const scheme = url.indexOf('://')
      let rest = url
      if (scheme !== -1 && scheme < 10) {
        const hostStart = scheme + 3
        let hostEnd = hostStart
        while (hostEnd < url.length) {
          const c = url.charCodeAt(hostEnd)
          if (c === 0x2f || c === 0x3f || c === 0x23) break
          hostEnd++
        }
        const authority = url.slice(hostStart, hostEnd)
        host ??= authority.slice(authority.lastIndexOf('@') + 1)
        rest = url.slice(hostEnd)
      }
      const hash = rest.indexOf('#')
      path ??= hash === -1 ? rest : rest.slice(0, hash)
    }
    if (path !== undefined) {
      const byPath = fromPath(path)
      if (byPath !== 'unknown') return byPath
    }
    if (host !== undefined) {
      const byHost = fromHost(host.replace(/:\d+$/, ''))
      if (byHost !== 'unknown') return byHost
    }
    if (p === 'openai' || flow.client === 'codex') {
      // The OpenAI flows agenttap sees are Codex (Responses) unless the path said otherwise.
      return 'openai-responses'
    }
    if (flow.client === 'claude-code') return 'anthropic'
  }
  if (firstData !== undefined) {
    const d = firstData.trim()
    if (d === '[DONE]') return 'openai-chat'
    if (d.charCodeAt(0) === 0x7b) {
      try {
        return detectProviderFromEvent(JSON.parse(d))
      } catch {
        return 'unknown'
      }
    }
  }
  return 'unknown'
}
