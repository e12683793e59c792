import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { networkInterfaces } from 'node:os'

/** The error code of a connection refused because it would lead back into the proxy. */
export const LOOP_ERROR_CODE = 'ERR_AGENTTAP_FORWARDING_LOOP'

/** `::ffff:127.0.0.1` → `127.0.0.1`; brackets and case removed. */
function plain(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase()
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a
}

/**
 * Whether an IP address is a loopback address: `127.0.0.0/8`, `::1`, or their IPv4-mapped
 * IPv6 forms. Names are not addresses: `localhost` or `127.evil.example` are `false` here
 * (resolve them with {@link resolveLoopback}).
 *
 * @example
 * isLoopbackAddress('127.0.0.2')          // true
 * isLoopbackAddress('::ffff:127.0.0.1')   // true
 * isLoopbackAddress('127.evil.example')   // false: a name
 */
export function isLoopbackAddress(address: string): boolean {
  const a = plain(address)
  if (isIP(a) === 4) return a.startsWith('127.')
  if (isIP(a) === 6) return a === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(a)
  return false
}

/** Whether an address is "any" (`0.0.0.0`, `::`): listening there is every interface, connecting there is this host. */
function isUnspecified(address: string): boolean {
  const a = plain(address)
  return a === '0.0.0.0' || a === '::' || /^(0{1,4}:){7}0{1,4}$/.test(a)
}

/** Every address of `host`: an IP address as it is, a name through the system resolver (like a connect would). */
export function resolveAddresses(host: string): Promise<string[]> {
  const h = host.replace(/^\[|\]$/g, '')
  if (isIP(h) !== 0) return Promise.resolve([h])
  return new Promise((resolve, reject) => {
    dnsLookup(h, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs.map((a) => a.address))))
  })
}

/**
 * THE loopback rule of agenttap (the proxy's bind check and the web view's): resolves `host`
 * and says whether **every** address it stands for is a loopback address. A name is judged by
 * what it resolves to, never by how it looks: `127.evil.example` is not loopback unless it
 * resolves to loopback only, and `2130706433` or `0x7f000001` are (they resolve to
 * 127.0.0.1). A name that does not resolve is not loopback.
 *
 * @example
 * await resolveLoopback('localhost')  // { loopback: true, addresses: ['127.0.0.1', '::1'] }
 * await resolveLoopback('0.0.0.0')    // { loopback: false, addresses: ['0.0.0.0'] }
 */
export async function resolveLoopback(host: string): Promise<{ loopback: boolean; addresses: string[]; error?: string }> {
  if (host.trim() === '') return { loopback: false, addresses: [], error: 'an empty host means every interface' }
  let addresses: string[]
  try {
    addresses = await resolveAddresses(host)
  } catch (err) {
    return { loopback: false, addresses: [], error: (err as Error).message }
  }
  return { loopback: addresses.length > 0 && addresses.every(isLoopbackAddress), addresses }
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
    if (isUnspecified(a)) return true
    const bound = plain(me.address)
    if (a === bound) return true
    if (!isUnspecified(bound)) return false
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
