import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * The header the page sends the token in. There is no cookie: browsers send a cookie of
 * 127.0.0.1 to every port of 127.0.0.1, so any other local server would receive it. The page
 * keeps the token in sessionStorage, which is per origin (scheme, host and port).
 */
export const TOKEN_HEADER = 'x-agenttap-token'

/** A fresh random token: 24 bytes, base64url (32 characters). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url')
}

/**
 * The Host header values accepted: `127.0.0.1:port`, `localhost:port`, `[::1]:port`, plus each
 * `allowHosts` entry (a bare host allows any port, `host:port` only that port). Everything else is
 * refused: a page on evil.example that rebinds its DNS name to 127.0.0.1 still sends
 * `Host: evil.example`, so it cannot read captured data.
 */
export function createHostCheck(port: () => number, allowHosts: readonly string[] = []): (host: string | undefined) => boolean {
  const extra = allowHosts.map((h) => h.trim().toLowerCase()).filter((h) => h !== '')
  return (host) => {
    if (typeof host !== 'string' || host === '') return false
    const h = host.trim().toLowerCase()
    const p = port()
    if (h === `127.0.0.1:${p}` || h === `localhost:${p}` || h === `[::1]:${p}`) return true
    for (const a of extra) {
      if (h === a) return true
      if (!/:\d+$/.test(a) && !a.endsWith(']') && h === `${a}:${p}`) return true
      if (a.startsWith('[') && a.endsWith(']') && h === `${a}:${p}`) return true
    }
    return false
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Whether the request carries the token, in the `X-Agenttap-Token` header or as
 * `Authorization: Bearer <token>`. Constant-time comparison. Cookies and query strings are not
 * looked at: a token in a URL ends up in logs and history, a cookie at other local servers.
 */
export function hasToken(req: IncomingMessage, token: string): boolean {
  const auth = req.headers['authorization']
  if (typeof auth === 'string' && auth.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return true
  const x = req.headers[TOKEN_HEADER]
  return typeof x === 'string' && sameSecret(x, token)
}

/** Headers on every response: no framing, no sniffing, no referrer (the URL may hold the token), strict CSP. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}
