/**
 * Claude Code (`claude -p`) through the proxy against the fake Anthropic: once with the proxy's
 * printed environment, once as `agenttap-proxy run -- claude -p …`.
 */
import { expect } from 'vitest'
import { ensureAgents, runClaude } from '../src/agents.js'
import { BINS, proxyArgs } from '../src/proxy.js'
import { clientSuite } from './harness.js'

await ensureAgents()

const realSession = (req: { headers: Record<string, unknown> }): string | undefined => req.headers['x-claude-code-session-id'] as string | undefined

clientSuite({
  name: 'Claude Code (claude -p, proxy environment)',
  tag: 'e2etag_claude_env',
  api: 'anthropic',
  client: 'claude-code',
  provider: 'anthropic',
  realSession,
  errors: [429, 529],
  run: ({ proxy, prompt, keys }) => runClaude({ prompt, env: { ...proxy.env, ANTHROPIC_API_KEY: keys.anthropic } }),
  checkOutput: (r) => expect(r.stdout.trim().split('\n').length).toBe(1),
})

clientSuite({
  name: 'Claude Code (agenttap-proxy run -- claude -p)',
  tag: 'e2etag_claude_run',
  api: 'anthropic',
  client: 'claude-code',
  provider: 'anthropic',
  realSession,
  errors: [429, 529],
  run: async ({ proxy, upstream, prompt, keys, root }) => {
    // `run` finds the proxy already listening on its port and uses it.
    const args = ['run', '--port', String(proxy.port), ...proxyArgs({ logDir: `${root}/logs`, caDir: `${root}/ca`, upstreamCa: upstream.caPath, connectTo: upstream.connectTo }), '--']
    return runClaude({ prompt, env: { ANTHROPIC_API_KEY: keys.anthropic }, wrapper: [process.execPath, BINS.proxy, ...args] })
  },
})
