import type { BlockList } from 'node:net'

// node:net (and the stream, socket and perf modules it pulls in) loads on the first address
// checked, not with jsonl-io: the analyze CLI imports jsonl-io at every start and checks none.
const net = (): typeof import('node:net') => process.getBuiltinModule('node:net')

// Node's BlockList compares addresses, not spellings: `0:0:0:0:0:0:0:1`, `::ffff:127.0.0.1` and
// `::ffff:7f00:1` are all found, and IPv4-mapped IPv6 addresses are checked against IPv4 rules.
let lists: { loopback: BlockList; unspecified: BlockList } | undefined
function listsOf(): { loopback: BlockList; unspecified: BlockList } {
  if (lists !== undefined) return lists
  const loopback = new (net().BlockList)()
  loopback.addSubnet('127.0.0.0', 8, 'ipv4')
  loopback.addAddress('::1', 'ipv6')
  const unspecified = new (net().BlockList)()
  unspecified.addAddress('0.0.0.0', 'ipv4')
  unspecified.addAddress('::', 'ipv6')
  return (lists = { loopback, unspecified })
}

/** What {@link resolveLoopback} found out about a host. */
export interface LoopbackVerdict {
  /** True when the host stands for at least one address and every one of them is loopback. */
  loopback: boolean
  /** Every address the host stands for (empty when it does not resolve). */
  addresses: string[]
  /** Why there are no addresses (the host is empty, or the name does not resolve). */
  error?: string
}

function inList(list: BlockList, address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '')
  const family = net().isIP(a)
  return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4')
}

/**
 * Whether an IP address is a loopback address: `127.0.0.0/8`, `::1`, in any spelling, and their
 * IPv4-mapped IPv6 forms. Names are not addresses: `localhost` or `127.evil.example` are `false`
 * here (resolve them with {@link resolveLoopback}).
 *
 * @example
 * isLoopbackAddress('127.0.0.2')          // true
 * isLoopbackAddress('::ffff:127.0.0.1')   // true
 * isLoopbackAddress('127.evil.example')   // false: a name
 */
export function isLoopbackAddress(address: string): boolean {
  return inList(listsOf().loopback, address)
}

/**
 * Whether an IP address is "any" (`0.0.0.0`, `::`, `::ffff:0.0.0.0`): listening there is every
 * interface, connecting there is this host.
 */
export function isUnspecifiedAddress(address: string): boolean {
  return inList(listsOf().unspecified, address)
}

/**
 * Every address of `host`: an IP address as it is, a name through the system resolver (as a
 * connect or a listen would resolve it, so `2130706433` and `0x7f000001` are `127.0.0.1`).
 */
export function resolveAddresses(host: string): Promise<string[]> {
  const h = host.replace(/^\[|\]$/g, '')
  if (net().isIP(h) !== 0) return Promise.resolve([h])
  // dns (and the c-ares binding) loads on the first name to resolve, not with jsonl-io: most of
  // its importers (the analyze CLI, the extractors) never resolve a name.
  const { lookup } = process.getBuiltinModule('node:dns')
  return new Promise((resolve, reject) => {
    lookup(h, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs.map((a) => a.address))))
  })
}

/**
 * THE loopback rule of agenttap's servers (the proxy's bind check and the web view's): resolves
 * `host` and says whether **every** address it stands for is a loopback address. A name is judged
 * by what it resolves to, never by how it looks: `127.evil.example` is not loopback unless it
 * resolves to loopback only; `0.0.0.0`, `::` and an empty host (every interface) never are; a
 * name that does not resolve is not.
 *
 * @example
 * await resolveLoopback('localhost')  // { loopback: true, addresses: ['127.0.0.1', '::1'] }
 * await resolveLoopback('0.0.0.0')    // { loopback: false, addresses: ['0.0.0.0'] }
 */
export async function resolveLoopback(host: string): Promise<LoopbackVerdict> {
  if (host.trim() === '') return { loopback: false, addresses: [], error: 'an empty host means every interface' }
  let addresses: string[]
  try {
    addresses = await resolveAddresses(host)
  } catch (err) {
    return { loopback: false, addresses: [], error: `cannot resolve it: ${(err as Error).message}` }
  }
  return { loopback: addresses.length > 0 && addresses.every(isLoopbackAddress), addresses }
}
