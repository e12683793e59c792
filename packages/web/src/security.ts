import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** Name of the cookie that carries the token after the first visit (per port: instances do not clash). */
export function cookieName(port: number): string {
  return `agenttap_token_${port}`
}

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

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** How the request proved it knows the token, if it did. */
export type TokenSource = 'query' | 'cookie' | 'header' | undefined

/**
 * Checks the token in `?token=`, the `Authorization: Bearer` / `X-Agenttap-Token` header, or the
 * cookie set after the first visit. Constant-time comparison.
 */
export function tokenSource(req: IncomingMessage, url: URL, token: string, port: number): TokenSource {
  const q = url.searchParams.get('token')
  if (q !== null && sameSecret(q, token)) return 'query'
  const auth = req.headers['authorization']
  if (typeof auth === 'string' && auth.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return 'header'
  const x = req.headers['x-agenttap-token']
  if (typeof x === 'string' && sameSecret(x, token)) return 'header'
  const c = readCookie(req.headers['cookie'], cookieName(port))
  if (c !== undefined && sameSecret(c, token)) return 'cookie'
  return undefined
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
