import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'

/**
 * True for a loopback address: 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z).
 * Compares addresses, not names: `127.evil.example` is a name, whatever it starts with.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  if (isIP(a) === 4) return a.startsWith('127.')
  if (isIP(a) === 6) {
    if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true
    const m = /^(?:0:0:0:0:0|:):ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
    return m !== null && (m[1] as string).startsWith('127.')
  }
  return false
}

/**
 * The addresses a bind host stands for: the address itself, or every address its name resolves
 * to. A name that resolves to several addresses may be bound to any of them, so all count.
 */
export async function bindAddresses(host: string): Promise<string[]> {
  const h = host.replace(/^\[|\]$/g, '')
  if (isIP(h) !== 0) return [h]
  const found = await lookup(h, { all: true, verbatim: true })
  return found.map((f) => f.address)
}

/**
 * The loopback rule of agenttap's servers: resolve the host, then every address must be loopback
 * (`0.0.0.0`, `::`, a LAN address or a name resolving to one is not). Returns the first address
 * that is not, or undefined when all are loopback.
 */
export async function firstRemoteAddress(host: string): Promise<string | undefined> {
  for (const a of await bindAddresses(host)) if (!isLoopbackAddress(a)) return a
  return undefined
}
