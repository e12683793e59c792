/**
 * Which captured exchange answers a request: the first one not served yet among those with the
 * same fingerprint, in capture order — so an agent run that repeats a request gets the responses
 * it got then, in the same order. An auxiliary request (no model answer a conversation depends
 * on: policy limits, settings, plugin lists, a prewarm, a quota check) asked more often than the
 * capture has it is answered again from the capture, not reported.
 */
import { closestExchange, commonMessages, firstDifference } from './fingerprint.js'
import type { Difference, ReplayExchange, RequestPrint } from './types.js'

/** What the matcher found for a request. */
export type MatchResult =
  /** A captured exchange to serve; `reused` when it was served before (an aux request asked again). */
  | { exchange: ReplayExchange; reused: boolean }
  /** An aux request to a non-model endpoint the capture never saw: answered with an empty success. */
  | { aux: 'empty' }
  /** No captured call answers it: a divergence. */
  | { closest?: { exchange: ReplayExchange; common: number; used: boolean }; difference: Difference }

export interface Matcher {
  /** The exchange for this request (marked served), or why there is none. */
  take(print: RequestPrint): MatchResult
  /** Exchanges never served. */
  unused(): ReplayExchange[]
  readonly served: number
}

/** The captured aux exchange that best answers an aux request asked again: same route, or the same API with the longest common history. */
function auxAnswer(print: RequestPrint, exchanges: readonly ReplayExchange[]): ReplayExchange | undefined {
  let best: { e: ReplayExchange; score: number } | undefined
  for (const e of exchanges) {
    const p = e.print
    if (e.kind !== 'aux' || p.api !== print.api) continue
    if (p.api === 'aux' && p.route !== print.route) continue
    const score = commonMessages(p, print) * 4 + (p.model === print.model ? 2 : 0)
    if (best === undefined || score > best.score) best = { e, score }
  }
  return best?.e
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
        return { exchange: next, reused: false }
      }
      // Equal to captured calls that were all served already: the last of them is the closest.
      const last = q?.[q.length - 1]
      if (print.kind === 'aux') {
        // A second run makes its auxiliary requests again, and more of them (a prewarm per
        // connection, a policy check per start): the captured answer serves as well again.
        const again = last ?? auxAnswer(print, exchanges)
        if (again !== undefined) return { exchange: again, reused: true }
        if (print.api === 'aux') return { aux: 'empty' }
      }
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
