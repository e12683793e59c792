import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { networkInterfaces } from 'node:os'
import { isLoopbackAddress, isUnspecifiedAddress } from '@agenttap/jsonl-io'

/** The error code of a connection refused because it would lead back into the proxy. */
export const LOOP_ERROR_CODE = 'ERR_AGENTTAP_FORWARDING_LOOP'

/** `::ffff:127.0.0.1` → `127.0.0.1`; brackets and case removed (for comparing two addresses). */
function plain(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase()
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a
}

/** Where the proxy listens, once it does. */
export interface ListenAddress {
  /** The bound IP address (`0.0.0.0` / `::` = every interface). */
  address: string
  port: number
}

/** The guard that keeps the proxy from forwarding to itself (see {@link createSelfGuard}). */
export interface SelfGuard {
  /** Whether connecting to `address` (an IP address) on `port` would reach this proxy. */
  isSelf(address: string, port: number): boolean
  /** For a target given as an IP address (no lookup happens): the error to fail with, if it is the proxy itself. */
  check(host: string, port: number): NodeJS.ErrnoException | undefined
  /**
   * A `lookup` for `net.connect` / `http.request` to `port`: resolves like the default one, and
   * fails with {@link LOOP_ERROR_CODE} when any address is the proxy's own.
   */
  lookupFor(port: number): LookupFn
}

/** The shape of `net.connect`'s `lookup` option. */
export type LookupFn = LookupFunction

function loopError(target: string, port: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`refusing to forward to ${target}:${port}: that is this proxy's own address (a request would loop through it); point the client at the real upstream`)
  err.code = LOOP_ERROR_CODE
  return err
}

/**
 * Creates the forwarding-loop guard: a request whose upstream is the proxy's own listen address
 * — by any spelling (`0.0.0.0:9110`, `2130706433:9110`, `0x7f000001:9110`, `[::ffff:127.0.0.1]`,
 * `localhost`, or a connect-to rule pointing back) — is refused instead of being forwarded to
 * itself again and again. Addresses are compared after resolution, never names.
 *
 * @example
 * const guard = createSelfGuard(() => ({ address: '127.0.0.1', port: 9110 }))
 * guard.isSelf('0.0.0.0', 9110) // true: connecting to "any" reaches this host
 */
export function createSelfGuard(self: () => ListenAddress | undefined): SelfGuard {
  const isSelf = (address: string, port: number): boolean => {
    const me = self()
    if (!me || port !== me.port) return false
    const a = plain(address)
    if (isUnspecifiedAddress(a)) return true
    const bound = plain(me.address)
    if (a === bound) return true
    if (!isUnspecifiedAddress(bound)) return false
    // Bound to every interface: loopback and each local interface address reach the proxy.
    if (isLoopbackAddress(a)) return true
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (plain(i.address) === a) return true
    return false
  }
  return {
    isSelf,
    check(host, port) {
      const h = host.replace(/^\[|\]$/g, '')
      return isIP(h) !== 0 && isSelf(h, port) ? loopError(host, port) : undefined
    },
    lookupFor(port) {
      return (hostname, options, callback) => {
        const cb = callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
        dnsLookup(hostname, { ...(options as object), all: true } as { all: true }, (err, addrs) => {
          if (err) return cb(err, '')
          const bad = addrs.find((a) => isSelf(a.address, port))
          if (bad) return cb(loopError(`${hostname} (${bad.address})`, port), '')
          if ((options as { all?: boolean }).all) return cb(null, addrs)
          const first = addrs[0]
          if (!first) return cb(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '')
          cb(null, first.address, first.family)
        })
      }
    },
  }
}
