import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SessionExtractorError } from './errors.js'
import { deriveSessionId, extractSessionId, parseClaudeUserId, validateSessionId } from './session-id.js'
import type { RequestInfo } from './types.js'

const UUID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const UUID2 = '11111111-2222-4333-8444-555555555555'
const USER_HEX = 'ab'.repeat(32)

function req(partial: Partial<RequestInfo>): RequestInfo {
  return { method: 'POST', url: 'https://api.anthropic.com/v1/messages', headers: {}, ...partial }
}

describe('extractSessionId priority chain', () => {
  const fullBody = {
    metadata: { sessionId: 'md-camel-1', session_id: 'md-snake-1', user_id: `user_${USER_HEX}_account__session_${UUID2}` },
    prompt_cache_key: 'pck-1',
  }
  const allHeaders = { 'x-claude-code-session-id': UUID, session_id: 'hdr-session', conversation_id: 'hdr-conv' }

  it('takes each rule in order, first match wins', () => {
    const steps: Array<[Partial<RequestInfo>, string, string]> = [
      [{ headers: allHeaders, body: fullBody }, UUID, 'header:x-claude-code-session-id'],
      [{ headers: { session_id: 'hdr-session', conversation_id: 'hdr-conv' }, body: fullBody }, 'hdr-session', 'header:session_id'],
      [{ headers: { conversation_id: 'hdr-conv' }, body: fullBody }, 'hdr-conv', 'header:conversation_id'],
      [{ body: fullBody }, 'md-camel-1', 'body:metadata.sessionId'],
      [{ body: { ...fullBody, metadata: { ...fullBody.metadata, sessionId: undefined } } }, 'md-snake-1', 'body:metadata.session_id'],
      [{ body: { metadata: { user_id: fullBody.metadata.user_id }, prompt_cache_key: 'pck-1' } }, UUID2, 'body:metadata.user_id'],
      [{ body: { prompt_cache_key: 'pck-1' } }, 'pck-1', 'body:prompt_cache_key'],
    ]
    for (const [partial, id, source] of steps) {
      expect(extractSessionId(req(partial))).toEqual({ sessionId: id, source, derived: false })
    }
  })

  it('matches header names case-insensitively and takes the first non-empty array value', () => {
    expect(extractSessionId(req({ headers: { 'X-Claude-Code-Session-ID': UUID.toUpperCase() } }))).toEqual({ sessionId: UUID, source: 'header:x-claude-code-session-id', derived: false })
    expect(extractSessionId(req({ headers: { Session_Id: ['', ' abc-1 '] } })).sessionId).toBe('abc-1')
    expect(extractSessionId(req({ headers: { 'session-id': 'dash-1' } })).source).toBe('header:session_id')
  })

  it('skips a hostile or invalid value and continues down the chain', () => {
    const hostile = ['../../etc/passwd', 'a/b', 'x\u001b[31mred', 'has space', 'a'.repeat(129), '', '  ', '.hidden', 'semi;colon', 'new\nline', 'a..b']
    for (const h of hostile) {
      const r = extractSessionId(req({ headers: { session_id: h }, body: { prompt_cache_key: 'fallback-1' } }))
      expect(r, JSON.stringify(h)).toEqual({ sessionId: 'fallback-1', source: 'body:prompt_cache_key', derived: false })
    }
    expect(extractSessionId(req({ body: { metadata: { sessionId: 42, session_id: ['x'] }, prompt_cache_key: { a: 1 } } })).derived).toBe(true)
  })

  it('parses string and byte bodies, and survives malformed JSON', () => {
    const body = JSON.stringify({ metadata: { user_id: JSON.stringify({ device_id: 'd', account_uuid: '', session_id: UUID }) } })
    expect(extractSessionId(req({ body })).sessionId).toBe(UUID)
    expect(extractSessionId(req({ body: new TextEncoder().encode(body) })).source).toBe('body:metadata.user_id')
    const broken = req({ body: '{"metadata": {"session_id": "abc"', clientIp: '10.0.0.1' })
    expect(extractSessionId(broken)).toEqual({ sessionId: deriveSessionId(broken), source: 'derived', derived: true })
    expect(extractSessionId(req({ body: [1, 2] })).derived).toBe(true)
    expect(extractSessionId(req({ body: `\uFEFF${JSON.stringify({ prompt_cache_key: 'bom-1' })}` })).sessionId).toBe('bom-1')
    expect(extractSessionId(req({ body: new Uint8Array([0xff, 0xfe, 0x00, 0x7b]) })).derived).toBe(true)
  })

  it('derives sha256(ip \\n url \\n body length) when nothing matches', () => {
    const r = req({ url: 'https://example.com/v1/x?y=1', clientIp: '192.168.1.5', body: 'héllo' })
    const expected = createHash('sha256').update(`192.168.1.5\nhttps://example.com/v1/x?y=1\n6`).digest('hex').slice(0, 16)
    expect(extractSessionId(r)).toEqual({ sessionId: expected, source: 'derived', derived: true })
    const other = extractSessionId(req({ url: r.url, clientIp: '192.168.1.6', body: 'héllo' }))
    expect(other.sessionId).not.toBe(expected)
    expect(extractSessionId(req({ url: r.url, clientIp: '192.168.1.5', body: new Uint8Array(6) })).sessionId).toBe(expected)
  })

  it('throws only on API misuse', () => {
    expect(() => extractSessionId(null as unknown as RequestInfo)).toThrow(SessionExtractorError)
    expect(() => extractSessionId({ method: 'GET', headers: {} } as unknown as RequestInfo)).toThrow(/req\.url/)
  })
})

describe('parseClaudeUserId', () => {
  it('reads both Claude Code forms', () => {
    expect(parseClaudeUserId(`user_${USER_HEX}_account_${UUID}_session_${UUID2}`)).toBe(UUID2)
    expect(parseClaudeUserId(`user_${USER_HEX}_account__session_${UUID2.toUpperCase()}`)).toBe(UUID2)
    expect(parseClaudeUserId(JSON.stringify({ device_id: USER_HEX, account_uuid: UUID, session_id: UUID2 }))).toBe(UUID2)
  })
  it('rejects anything else', () => {
    for (const v of [`user_${USER_HEX}`, `user_${USER_HEX}_account__session_../x`, '{"session_id": "a b"}', '{broken', 'plain-user', 42, undefined]) {
      expect(parseClaudeUserId(v), String(v)).toBeUndefined()
    }
  })
})

describe('validateSessionId', () => {
  it('lower-cases UUIDs and keeps safe ids', () => {
    expect(validateSessionId(UUID.toUpperCase())).toBe(UUID)
    expect(validateSessionId('conv_01.ab-C')).toBe('conv_01.ab-C')
    expect(validateSessionId('a'.repeat(128))).toBe('a'.repeat(128))
  })
})
