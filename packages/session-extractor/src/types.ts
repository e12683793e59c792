// The client / provider vocabulary is the capture records' (one declaration, in jsonl-io, the
// layer below): what detectClient / detectProvider return is what a record's `client` / `provider` holds.
import type { Client, Provider } from '@agenttap/jsonl-io'

export type { Client, Provider }

/** A header value as Node's `IncomingHttpHeaders` carries it. */
export type HeaderValue = string | string[] | undefined

/** Request headers, any name casing. */
export type RequestHeaders = Record<string, HeaderValue>

/** The request the proxy intercepted. Nothing here is mutated by this package. */
export interface RequestInfo {
  /** HTTP method, e.g. `POST`. */
  method: string
  /** Absolute URL (`https://api.anthropic.com/v1/messages?beta=true`) or origin-form path (`/v1/messages`; the host then comes from the `host` header). */
  url: string
  /** Request headers; names are matched case-insensitively. */
  headers: RequestHeaders
  /** Request body: already-parsed JSON, a string, or raw bytes (UTF-8 JSON is parsed on demand). */
  body?: unknown
  /** Address of the client that connected to the proxy (used only by the derived session id). */
  clientIp?: string
}

/** Which rule of the session-id priority chain produced the id. */
export type SessionSource =
  | 'header:x-claude-code-session-id'
  | 'header:session_id'
  | 'header:conversation_id'
  | 'body:metadata.sessionId'
  | 'body:metadata.session_id'
  | 'body:metadata.user_id'
  | 'body:prompt_cache_key'
  | 'derived'

/** Result of {@link extractSessionId}. */
export interface SessionIdResult {
  /** Validated session id: a lower-cased UUID, or `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}` without `..`. */
  sessionId: string
  /** The rule that matched. */
  source: SessionSource
  /** `true` when no rule matched and the id is a hash of client ip + url + body length. */
  derived: boolean
}

/** Result of {@link inspectRequest}: everything the proxy needs for a `flow` record. */
export interface RequestInspection {
  sessionId: string
  sessionSource: SessionSource
  derived: boolean
  client: Client
  provider: Provider
  /** Subagent marker (`x-openai-subagent` / `x-claude-code-agent-id`), sanitized; absent for the main agent. */
  subagent?: string
}

/** Options of {@link createRedactor}. */
export interface RedactorOptions {
  /**
   * Extra secret patterns, applied after the built-in ones to text, JSON strings and URLs.
   * The whole match is replaced by a marker, or only the named group `secret` when the pattern
   * has one (`/password is (?<secret>\S+)/`). The `g` flag is added when missing.
   */
  extraPatterns?: RegExp[]
  /**
   * Field names (`"signature"`), dotted JSON paths without array indices (`"metadata.user_id"`)
   * or header names (`"x-api-key"`) whose values are kept verbatim. Case-insensitive.
   */
  allowFields?: string[]
  /**
   * Secret key for the correlation hash (HMAC-SHA-256). Without it the marker carries a plain
   * SHA-256 prefix, which is stable across runs and machines.
   */
  hashKey?: string
  /**
   * Characters of clean JSON strings `json()` remembers so a resent conversation (system prompt,
   * tool schemas, earlier turns: most of every agent request) is not rescanned. Memoization
   * only: output is identical with `0`. @defaultValue 8_000_000
   */
  cacheChars?: number
}

/** A configured redactor. Every method is pure and returns new values; inputs are never mutated. */
export interface Redactor {
  /** Redact request or response headers; `undefined` values are dropped, name casing is kept. */
  headers(h: RequestHeaders): Record<string, string | string[]>
  /** Redact a parsed JSON value (copy-on-write: unchanged subtrees are returned as the same objects). */
  json(value: unknown): unknown
  /** Redact free text (prompts, tool output, raw bodies, SSE data, form bodies). */
  text(s: string): string
  /** Redact a URL: userinfo password, secret query/fragment parameters and keys in the path. */
  url(u: string): string
  /**
   * Where `text(s)` would redact, without building the output: sorted, non-overlapping spans
   * of `s` with their replacement. The streaming redactors use it to avoid cutting a secret;
   * `continuation: true` says `s` continues earlier text (it cannot be a whole form body).
   */
  findSecrets(s: string, opts?: { continuation?: boolean }): SecretSpan[]
}

/** One secret found by {@link Redactor.findSecrets}: `s.slice(start, end)` becomes `replacement`. */
export interface SecretSpan {
  start: number
  end: number
  replacement: string
}
