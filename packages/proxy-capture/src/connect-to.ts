import { ProxyCaptureError } from './errors.js'

/**
 * One `--connect-to` rule, as curl has it: a request for `fromHost:fromPort` is sent to
 * `toHost:toPort` instead. The request itself is unchanged: its URL, its `Host` header, the
 * TLS server name (SNI) and the name the upstream certificate is verified against stay those
 * of `fromHost`; only the TCP connection goes elsewhere.
 */
export interface ConnectToRule {
  /** Host the rule applies to (lower case, no brackets); `undefined` = any host. */
  fromHost?: string
  /** Port the rule applies to; `undefined` = any port. */
  fromPort?: number
  /** Where to connect; `undefined` = the request's own host. */
  toHost?: string
  /** Port to connect to; `undefined` = the request's own port. */
  toPort?: number
}

/** Where a connection actually goes, after the connect-to rules. */
export interface UpstreamAddress {
  host: string
  port: number
  /** True when a rule redirected it (the name to verify is then the request's host, not `host`). */
  redirected: boolean
}

/** Splits `HOST1:PORT1:HOST2:PORT2` into its four fields; a host may be a bracketed IPv6 address. */
function fields(spec: string): string[] {
  const out: string[] = []
  let i = 0
  for (;;) {
    let field: string
    if (spec[i] === '[') {
      const close = spec.indexOf(']', i)
      if (close === -1) throw badSpec(spec, 'an IPv6 address opened with "[" is never closed')
      field = spec.slice(i, close + 1)
      i = close + 1
      if (i < spec.length && spec[i] !== ':') throw badSpec(spec, `expected ":" after ${field}`)
    } else {
      const colon = spec.indexOf(':', i)
      field = spec.slice(i, colon === -1 ? spec.length : colon)
      i = colon === -1 ? spec.length : colon
    }
    out.push(field)
    if (i >= spec.length) return out
    i++ // the ':'
    if (i === spec.length) {
      out.push('')
      return out
    }
  }
}

function badSpec(spec: string, why: string): ProxyCaptureError {
  return new ProxyCaptureError('INVALID_OPTION', `invalid connect-to rule "${spec}": ${why}; expected HOST1:PORT1:HOST2:PORT2 (empty HOST1 or PORT1 = any; e.g. api.anthropic.com:443:127.0.0.1:8443)`)
}

function hostField(spec: string, f: string): string | undefined {
  if (f === '') return undefined
  const h = f.startsWith('[') ? f.slice(1, -1) : f
  if (h === '' || /[\s/?#@]/.test(h)) throw badSpec(spec, `"${f}" is not a host name or address`)
  return h.toLowerCase()
}

function portField(spec: string, f: string): number | undefined {
  if (f === '') return undefined
  const n = /^\d{1,5}$/.test(f) ? Number(f) : NaN
  if (!(n > 0 && n < 65536)) throw badSpec(spec, `"${f}" is not a port (1-65535)`)
  return n
}

/**
 * Parses a curl-style connect-to rule, `HOST1:PORT1:HOST2:PORT2`. Empty `HOST1` or `PORT1`
 * match any host or port; empty `HOST2` or `PORT2` keep the request's own. IPv6 addresses go in
 * brackets. Throws a `ProxyCaptureError` (`INVALID_OPTION`) that says what is wrong.
 *
 * @example
 * parseConnectTo('api.anthropic.com:443:127.0.0.1:8443')
 * // → { fromHost: 'api.anthropic.com', fromPort: 443, toHost: '127.0.0.1', toPort: 8443 }
 * parseConnectTo('::[::1]:9000')  // every host, every port → [::1]:9000
 */
export function parseConnectTo(spec: string): ConnectToRule {
  const f = fields(spec.trim())
  if (f.length !== 4) throw badSpec(spec, `${f.length} field(s) instead of 4`)
  const [h1, p1, h2, p2] = f as [string, string, string, string]
  const rule: ConnectToRule = {}
  const fromHost = hostField(spec, h1)
  const fromPort = portField(spec, p1)
  const toHost = hostField(spec, h2)
  const toPort = portField(spec, p2)
  if (fromHost !== undefined) rule.fromHost = fromHost
  if (fromPort !== undefined) rule.fromPort = fromPort
  if (toHost !== undefined) rule.toHost = toHost
  if (toPort !== undefined) rule.toPort = toPort
  return rule
}

/**
 * Builds the lookup the proxy runs for each upstream connection: the first rule that matches
 * the request's host and port decides; without a match the connection goes where the request
 * says.
 *
 * @example
 * const route = createConnectTo(['api.anthropic.com:443:127.0.0.1:8443'])
 * route('api.anthropic.com', 443) // → { host: '127.0.0.1', port: 8443, redirected: true }
 * route('example.com', 443)       // → { host: 'example.com', port: 443, redirected: false }
 */
export function createConnectTo(rules: readonly (string | ConnectToRule)[] = []): (host: string, port: number) => UpstreamAddress {
  const parsed = rules.map((r) => (typeof r === 'string' ? parseConnectTo(r) : { ...r, ...(r.fromHost !== undefined ? { fromHost: r.fromHost.toLowerCase() } : {}) }))
  return (host, port) => {
    if (parsed.length > 0) {
      const h = host.toLowerCase()
      for (const r of parsed) {
        if (r.fromHost !== undefined && r.fromHost !== h) continue
        if (r.fromPort !== undefined && r.fromPort !== port) continue
        const to = { host: r.toHost ?? host, port: r.toPort ?? port }
        return { ...to, redirected: to.host !== host || to.port !== port }
      }
    }
    return { host, port, redirected: false }
  }
}
