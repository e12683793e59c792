import { describe, expect, it } from 'vitest'
import { detectClient, detectProvider, detectSubagent } from './detect.js'
import { inspectRequest } from './inspect.js'
import type { RequestInfo } from './types.js'

function req(url: string, headers: RequestInfo['headers'] = {}): RequestInfo {
  return { method: 'POST', url, headers }
}

describe('detectClient', () => {
  const cases: Array<[RequestInfo, string]> = [
    [req('https://api.anthropic.com/v1/messages?beta=true', { 'User-Agent': 'claude-cli/2.0.14 (external, cli)' }), 'claude-code'],
    [req('/v1/messages', { 'x-app': 'cli', host: 'api.anthropic.com' }), 'claude-code'],
    [req('https://gateway.local/anything', { 'X-Claude-Code-Session-Id': 'abc' }), 'claude-code'],
    [req('https://api.openai.com/v1/responses', { originator: 'codex_cli_rs' }), 'codex'],
    [req('https://api.openai.com/v1/responses', { 'user-agent': 'codex_cli_rs/0.46.0 (Mac OS 15.0; arm64) iTerm.app' }), 'codex'],
    [req('https://chatgpt.com/backend-api/codex/responses'), 'codex'],
    [req('https://api.openai.com/v1/responses', { 'x-openai-subagent': 'review' }), 'codex'],
    [req('https://api.openai.com/v1/chat/completions', { 'user-agent': 'OpenAI/Python 1.50.0' }), 'unknown'],
    [req('https://api.anthropic.com/v1/messages', { 'user-agent': 'Anthropic/JS 0.30.0', 'x-app': 'web' }), 'unknown'],
    [req('/v1/responses', { 'x-app': 'cli' }), 'unknown'],
    [{ ...req('https://gateway.local/v1/messages'), body: { metadata: { user_id: `user_${'ab'.repeat(32)}_account__session_11111111-2222-4333-8444-555555555555` } } }, 'claude-code'],
    [{ ...req('https://gateway.local/v1/messages'), body: { metadata: { user_id: 'someone' } } }, 'unknown'],
  ]
  it.each(cases.map(([r, c], i) => [i, r, c] as const))('case %i', (_i, r, c) => {
    expect(detectClient(r)).toBe(c)
  })
})

describe('detectProvider', () => {
  const cases: Array<[RequestInfo, string]> = [
    [req('https://api.anthropic.com/v1/messages?beta=true'), 'anthropic'],
    [req('/v1/messages/count_tokens', { host: 'proxy.internal:8080' }), 'anthropic'],
    [req('https://api.anthropic.com/v1/models'), 'anthropic'],
    [req('https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/l/publishers/anthropic/models/claude:streamRawPredict'), 'anthropic'],
    [req('https://api.openai.com/v1/responses'), 'openai'],
    [req('https://chatgpt.com/backend-api/codex/responses'), 'openai'],
    [req('https://openrouter.ai/api/v1/chat/completions'), 'openai'],
    [req('https://my.openai.azure.com/openai/deployments/gpt/chat/completions?api-version=1'), 'openai'],
    [req('/v1/models', { host: 'API.OpenAI.com:443' }), 'openai'],
    [req('https://user:pw@api.anthropic.com:443/v1/x'), 'anthropic'],
    [req('https://gateway.ai.cloudflare.com/v1/acct/gw/anthropic/v1/messages'), 'anthropic'],
    [req('https://proxy.corp/openai/backend-api/codex/responses'), 'openai'],
    [req('https://example.com/v1/generate'), 'unknown'],
    [req('/v1/generate', { 'anthropic-version': '2023-06-01' }), 'anthropic'],
    [req('not a url at all'), 'unknown'],
  ]
  it.each(cases.map(([r, c], i) => [i, r, c] as const))('case %i', (_i, r, c) => {
    expect(detectProvider(r)).toBe(c)
  })
})

describe('detectSubagent', () => {
  it('reads either header and sanitizes hostile values', () => {
    expect(detectSubagent(req('/v1/responses', { 'X-OpenAI-Subagent': 'review' }))).toBe('review')
    expect(detectSubagent(req('/v1/messages', { 'x-claude-code-agent-id': 'agent-7f3a' }))).toBe('agent-7f3a')
    expect(detectSubagent(req('/v1/responses', { 'x-openai-subagent': '\u001b[2J\u001b[31mevil/../x' }))).toBe('2J_31mevil_.._x')
    expect(detectSubagent(req('/v1/responses', { 'x-openai-subagent': 'x'.repeat(500) }))?.length).toBe(64)
    expect(detectSubagent(req('/v1/responses', { 'x-openai-subagent': '\u0000\u0001' }))).toBeUndefined()
    expect(detectSubagent(req('/v1/responses'))).toBeUndefined()
  })
})

describe('inspectRequest', () => {
  it('combines all detections and omits subagent for the main agent', () => {
    const r = inspectRequest({
      method: 'POST',
      url: 'https://chatgpt.com/backend-api/codex/responses',
      headers: { originator: 'codex_cli_rs', session_id: '0199A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B' },
      body: { prompt_cache_key: 'other' },
    })
    expect(r).toEqual({ sessionId: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', sessionSource: 'header:session_id', derived: false, client: 'codex', provider: 'openai' })
    expect('subagent' in r).toBe(false)
    expect(inspectRequest({ ...req('/v1/responses', { 'x-openai-subagent': 'compact' }) }).subagent).toBe('compact')
  })
})
