/**
 * Codex CLI (`codex exec`) through the proxy against the fake OpenAI, with a custom model
 * provider: once over SSE (HTTP errors 429 and 503 first, Codex retries) and once over WebSocket
 * (`supports_websockets`: several responses on one connection, `previous_response_id`).
 */
import { expect } from 'vitest'
import { ensureAgents, runCodex } from '../src/agents.js'
import { clientSuite } from './harness.js'

await ensureAgents()

const realSession = (req: { headers: Record<string, unknown> }): string | undefined => (req.headers['session-id'] ?? req.headers['session_id']) as string | undefined

clientSuite({
  name: 'Codex (codex exec, SSE)',
  tag: 'e2etag_codex_sse',
  api: 'responses',
  client: 'codex',
  provider: 'openai',
  realSession,
  concurrent: true,
  errors: [429, 503],
  run: ({ proxy, prompt, keys }) => runCodex({ prompt, apiKey: keys.openai, env: proxy.env }),
  checkOutput: (r) => expect(r.stderr).toContain('ls -la /tmp'),
})

clientSuite({
  name: 'Codex (codex exec, WebSocket)',
  tag: 'e2etag_codex_ws',
  api: 'responses',
  client: 'codex',
  provider: 'openai',
  realSession,
  concurrent: true,
  errors: [],
  run: ({ proxy, prompt, keys }) => runCodex({ prompt, apiKey: keys.openai, env: proxy.env, websocket: true }),
  checkOutput: (r) => expect(r.stderr).toContain('ls -la /tmp'),
})
