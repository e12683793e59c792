import { assertRequest, bodyObject, getHeader, urlParts } from './request.js'
import { parseClaudeUserId } from './session-id.js'
import type { Client, Provider, RequestInfo } from './types.js'

/** Anthropic Messages / Complete paths, also behind a gateway prefix (`/v1/acct/gw/anthropic/v1/messages`). */
const ANTHROPIC_PATH_RE = /(?:^|\/)v1\/(?:messages|complete)(?:\/|$)/

/**
 * Which agent sent the request. Signals, strongest first: `originator` (`codex_cli_rs`,
 * `codex_exec`, …), `user-agent` (`codex_cli_rs/…`, `claude-cli/…`, `claude-code/…`),
 * Claude Code headers (`x-claude-code-session-id`, `x-app: cli` on an Anthropic request),
 * Codex headers (`x-openai-subagent`), the ChatGPT Codex path `/backend-api/codex/`, and last
 * Claude Code's `metadata.user_id` shape in the body.
 *
 * @example detectClient({ method: 'POST', url: '/v1/messages', headers: { 'User-Agent': 'claude-cli/2.0.14 (external, cli)' } }) // 'claude-code'
 */
export function detectClient(req: RequestInfo): Client {
  assertRequest(req, 'detectClient')
  const originator = getHeader(req, 'originator')?.toLowerCase()
  if (originator !== undefined && originator.startsWith('codex')) return 'codex'
  const ua = getHeader(req, 'user-agent')?.toLowerCase() ?? ''
  if (ua.startsWith('codex') || ua.includes('codex_cli') || ua.includes('codex-cli')) return 'codex'
  if (ua.startsWith('claude-cli/') || ua.includes('claude-code') || ua.includes('claude-cli/')) return 'claude-code'
  if (getHeader(req, 'x-claude-code-session-id') !== undefined || getHeader(req, 'x-claude-code-agent-id') !== undefined) return 'claude-code'
  const { path } = urlParts(req)
  const xApp = getHeader(req, 'x-app')?.toLowerCase()
  if (xApp === 'cli' && (getHeader(req, 'anthropic-version') !== undefined || ANTHROPIC_PATH_RE.test(path))) return 'claude-code'
  if (getHeader(req, 'x-openai-subagent') !== undefined) return 'codex'
  if (path.includes('/backend-api/codex/')) return 'codex'
  // Headers rewritten by an intermediary: Claude Code's `metadata.user_id` shape still tells.
  const md = bodyObject(req)?.['metadata']
  if (typeof md === 'object' && md !== null && parseClaudeUserId((md as Record<string, unknown>)['user_id']) !== undefined) return 'claude-code'
  return 'unknown'
}

/**
 * Which API family the request speaks. The path decides first (it names the protocol, so a
 * gateway or Azure host speaking the OpenAI API is still `openai`): `/v1/messages` →
 * `anthropic`; `/v1/responses`, `/responses`, `/backend-api/codex/…`, `/chat/completions`,
 * `/v1/completions` → `openai`. Then the host (`*.anthropic.com`; `*.openai.com`,
 * `chatgpt.com`, `*.openai.azure.com`), then `anthropic-version` / `openai-*` headers.
 *
 * @example detectProvider({ method: 'POST', url: 'https://chatgpt.com/backend-api/codex/responses', headers: {} }) // 'openai'
 */
export function detectProvider(req: RequestInfo): Provider {
  assertRequest(req, 'detectProvider')
  const { host, path } = urlParts(req)
  // Gateways prefix the upstream path (`/v1/acct/gw/anthropic/v1/messages`): match it anywhere.
  if (ANTHROPIC_PATH_RE.test(path)) return 'anthropic'
  if (path.includes('/publishers/anthropic/') || (host.startsWith('bedrock') && path.includes('anthropic.'))) return 'anthropic'
  if (
    path.includes('/backend-api/codex/') ||
    /(?:^|\/)(?:responses|chat\/completions|completions)(?:\/|$)/.test(path)
  ) {
    return 'openai'
  }
  if (host === 'anthropic.com' || host.endsWith('.anthropic.com') || host.endsWith('.claude.ai') || host === 'claude.ai') return 'anthropic'
  if (
    host === 'openai.com' ||
    host.endsWith('.openai.com') ||
    host === 'chatgpt.com' ||
    host.endsWith('.chatgpt.com') ||
    host.endsWith('.openai.azure.com')
  ) {
    return 'openai'
  }
  if (getHeader(req, 'anthropic-version') !== undefined) return 'anthropic'
  if (getHeader(req, 'openai-beta') !== undefined || getHeader(req, 'openai-organization') !== undefined) return 'openai'
  return 'unknown'
}

const SAFE_MARKER_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/

/**
 * Subagent marker of the request (`x-openai-subagent`, e.g. `review` or `compact`;
 * `x-claude-code-agent-id`). Sanitized for terminals and file names: characters outside
 * `[A-Za-z0-9_.:-]` become `_`, at most 64 characters. `undefined` for the main agent.
 */
export function detectSubagent(req: RequestInfo): string | undefined {
  assertRequest(req, 'detectSubagent')
  const raw = getHeader(req, 'x-openai-subagent') ?? getHeader(req, 'x-claude-code-agent-id')
  if (raw === undefined) return undefined
  if (SAFE_MARKER_RE.test(raw)) return raw
  const cleaned = raw
    .slice(0, 256)
    .replace(/[^A-Za-z0-9_.:-]+/g, '_')
    .replace(/^[_.:-]+/, '')
    .slice(0, 64)
  return cleaned === '' || /^_+$/.test(cleaned) ? undefined : cleaned
}
