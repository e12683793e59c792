import { hash } from 'node:crypto'
import { assertRequest, bodyByteLength, bodyObject, getHeader } from './request.js'
import type { RequestInfo, SessionIdResult, SessionSource } from './types.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SAFE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/
/** Longest id accepted; longer values are rejected, never truncated (a truncated id could collide). */
export const MAX_SESSION_ID_LENGTH = 128

/**
 * Validate a candidate session id. Accepts a UUID (returned lower-cased, so header and body
 * spellings of one session agree) or `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}` without `..`.
 * Anything else (control characters, ANSI escapes, path separators, spaces, over-long
 * values) returns `undefined`: such a value must not reach file names or a terminal.
 *
 * @param value - the raw candidate (any type; only strings can pass).
 * @returns the id to use, or `undefined` when it is not acceptable.
 * @example validateSessionId('3F2504E0-4F89-11D3-9A0C-0305E82C3301') // '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
 */
export function validateSessionId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  if (v.length === 0 || v.length > MAX_SESSION_ID_LENGTH) return undefined
  if (UUID_RE.test(v)) return v.toLowerCase()
  if (!SAFE_ID_RE.test(v) || v.includes('..')) return undefined
  return v
}

const USER_ID_RE = /^user_[0-9a-f]{8,128}_account_(?:[0-9a-f-]{36})?_session_([0-9a-f-]{36})$/i

/**
 * Session id inside Claude Code's `metadata.user_id`, in either form:
 * `user_<hex>_account_<uuid|empty>_session_<uuid>` or a JSON string with `session_id`.
 *
 * @returns the validated session id, or `undefined` when `userId` is in neither form.
 */
export function parseClaudeUserId(userId: unknown): string | undefined {
  if (typeof userId !== 'string' || userId.length > 4096) return undefined
  const trimmed = userId.trim()
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed)
      if (typeof parsed === 'object' && parsed !== null) {
        const o = parsed as Record<string, unknown>
        return validateSessionId(o['session_id']) ?? validateSessionId(o['sessionId'])
      }
    } catch {
      return undefined
    }
    return undefined
  }
  const m = USER_ID_RE.exec(trimmed)
  return m?.[1] !== undefined ? validateSessionId(m[1]) : undefined
}

const HEADER_RULES: ReadonlyArray<readonly [names: readonly string[], source: SessionSource]> = [
  [['x-claude-code-session-id'], 'header:x-claude-code-session-id'],
  // Some intermediaries rewrite `_` to `-` in header names; both spellings are the same rule.
  [['session_id', 'session-id'], 'header:session_id'],
  [['conversation_id', 'conversation-id'], 'header:conversation_id'],
]

/**
 * The derived fallback id: the first 16 hex chars of SHA-256 over
 * `${clientIp ?? ''}\n${url}\n${bodyByteLength}`.
 */
export function deriveSessionId(req: RequestInfo): string {
  const len = bodyByteLength(req.body)
  // One-shot crypto.hash: no Hash object per request (this runs for every flow without an id).
  return hash('sha256', `${req.clientIp ?? ''}\n${req.url}\n${len}`, 'hex').slice(0, 16)
}

/**
 * Find the session a request belongs to. Priority chain, first valid match wins:
 * 1. headers `x-claude-code-session-id`, `session_id`, `conversation_id` (case-insensitive);
 * 2. body `metadata.sessionId`, `metadata.session_id`;
 * 3. body `metadata.user_id` in either Claude Code form;
 * 4. body `prompt_cache_key`;
 * 5. derived: first 16 hex chars of SHA-256(client ip + url + body length), `derived: true`.
 *
 * A candidate that fails {@link validateSessionId} is skipped and the chain continues, so a
 * hostile value can never become a file name or reach a terminal.
 *
 * @param req - the intercepted request; `body` may be parsed JSON, a string or bytes.
 * @example
 * extractSessionId({ method: 'POST', url: '/v1/responses', headers: { session_id: 'abc-123' } })
 * // { sessionId: 'abc-123', source: 'header:session_id', derived: false }
 */
export function extractSessionId(req: RequestInfo): SessionIdResult {
  assertRequest(req, 'extractSessionId')
  for (const [names, source] of HEADER_RULES) {
    for (const name of names) {
      const id = validateSessionId(getHeader(req, name))
      if (id !== undefined) return { sessionId: id, source, derived: false }
    }
  }
  const body = bodyObject(req)
  if (body !== undefined) {
    const metadata = body['metadata']
    if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
      const md = metadata as Record<string, unknown>
      let id = validateSessionId(md['sessionId'])
      if (id !== undefined) return { sessionId: id, source: 'body:metadata.sessionId', derived: false }
      id = validateSessionId(md['session_id'])
      if (id !== undefined) return { sessionId: id, source: 'body:metadata.session_id', derived: false }
      id = parseClaudeUserId(md['user_id'])
      if (id !== undefined) return { sessionId: id, source: 'body:metadata.user_id', derived: false }
    }
    const id = validateSessionId(body['prompt_cache_key'])
    if (id !== undefined) return { sessionId: id, source: 'body:prompt_cache_key', derived: false }
  }
  return { sessionId: deriveSessionId(req), source: 'derived', derived: true }
}
