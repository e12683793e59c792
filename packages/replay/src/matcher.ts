/**
 * Which captured exchange answers a request: the first one not served yet among those with the
 * same fingerprint, in capture order — so an agent run that repeats a request gets the responses
 * it got then, in the same order.
 */
import { closestExchange, firstDifference } from './fingerprint.js'
import type { Difference, ReplayExchange, RequestPrint } from './types.js'

export interface Matcher {
  /** The exchange for this request (marked served), or why there is none. */
  take(print: RequestPrint): { exchange: ReplayExchange } | { closest?: { exchange: ReplayExchange; common: number; used: boolean }; difference: Difference }
  /** Exchanges never served. */
  unused(): ReplayExchange[]
  readonly served: number
}

export function createMatcher(exchanges: readonly ReplayExchange[]): Matcher {
  const byKey = new Map<string, ReplayExchange[]>()
  for (const e of exchanges) {
    const q = byKey.get(e.print.key)
    if (q === undefined) byKey.set(e.print.key, [e])
    else q.push(e)
  }
  const used = new Set<ReplayExchange>()
  return {
    take(print) {
      const q = byKey.get(print.key)
      const next = q?.find((e) => !used.has(e))
      if (next !== undefined) {
        used.add(next)
        return { exchange: next }
      }
      // Equal to captured calls that were all served already: the last of them is the closest.
      const last = q?.[q.length - 1]
      if (last !== undefined) return { closest: { exchange: last, common: print.history.length, used: true }, difference: { field: 'used' } }
      const c = closestExchange(print, exchanges, (e) => used.has(e))
      if (c === undefined) return { difference: { field: 'api', received: print.api } }
      return { closest: { ...c, used: used.has(c.exchange) }, difference: firstDifference(c.exchange.print, print) }
    },
    unused: () => exchanges.filter((e) => !used.has(e)),
    get served() {
      return used.size
    },
  }
}
