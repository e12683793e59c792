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
  errors: [429, 503],
  run: ({ proxy, prompt, keys }) => runCodex({ prompt, apiKey: keys.openai, env: proxy.env }),
  knownDefects: { 'monitor --json: the tool result': 'agenttap-monitor --json prints no event for the tool results a request carries' },
  checkOutput: (r) => expect(r.stderr).toContain('ls -la /tmp'),
})

clientSuite({
  name: 'Codex (codex exec, WebSocket)',
  tag: 'e2etag_codex_ws',
  api: 'responses',
  client: 'codex',
  provider: 'openai',
  realSession,
  errors: [],
  run: ({ proxy, prompt, keys }) => runCodex({ prompt, apiKey: keys.openai, env: proxy.env, websocket: true }),
  knownDefects: {
    'monitor --json: the tool result': 'agenttap-monitor --json prints no event for the tool results a request carries',
    'monitor screen (tmux): text, $ command, tool result and usage': 'no ↳ result line for the tool outputs Codex sends in a WebSocket client frame',
    'analyze prompts and turns --mode paired': "Codex's prewarm response (`generate: false`, no prompt) is a model call: turns --mode paired gives a row with null prompt and response",
    'analyze usage and cost': "Codex's prewarm response (`generate: false`) is counted as a model call with zero usage",
  },
  checkOutput: (r) => expect(r.stderr).toContain('ls -la /tmp'),
})
