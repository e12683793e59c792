/**
 * What request analysis can take from an earlier request instead of working it out again.
 * Agents resend their whole conversation with every request, the same system prompt and the same
 * tools: in a real capture most of a request's bytes were in an earlier one. Serializing each
 * message, hashing it and making its history unit is most of `analyzeRequest`'s work, so the
 * results for a message are kept and reused when a later request carries an equal message at
 * the same place. Memoization only: every result is the one the full work gives (equality is
 * exact, see {@link sameJson}), and the memo is bounded.
 */
import type { CacheSegment } from './cache-segments.js'

const isPlain = (v: object): boolean => {
  const p: unknown = Object.getPrototypeOf(v)
  return p === Object.prototype || p === null
}

/**
 * A `cache_control` value that `withoutCacheControl` removes (its text holds no brace: the
 * pattern it removes is `"cache_control":{[^{}]*}`); any other is content and compared.
 */
function removable(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !isPlain(v)) return false
  const o = v as Record<string, unknown>
  for (const k in o) {
    if (k.includes('{') || k.includes('}')) return false
    const x = o[k]
    if (typeof x === 'string') {
      if (x.includes('{') || x.includes('}')) return false
    } else if (typeof x !== 'number' && typeof x !== 'boolean' && x !== null) return false
  }
  return true
}

/** An object's keys as JSON.stringify writes them, without a removable `cache_control` when `skip`. */
function keysOf(o: Record<string, unknown>, skip: boolean): string[] {
  const keys = Object.keys(o)
  if (!skip) return keys
  const i = keys.indexOf('cache_control')
  if (i === -1 || !removable(o['cache_control'])) return keys
  keys.splice(i, 1)
  return keys
}

/**
 * Whether two parsed JSON values serialize the same (`JSON.stringify`), a `cache_control` member
 * left out at the depths in `skipDepths` (bit d: depth d, the values themselves being depth 0).
 * The history units and cache segments of a message depend on nothing else: units read the
 * message and its content blocks without their `cache_control` (depths 0 and 2), segments remove
 * it at every depth (a difference deeper down is a difference here too: a miss, never a wrong
 * reuse). Anything but plain objects, arrays, strings, finite numbers, booleans and null is
 * never equal (a `toJSON` could serialize it any way).
 */
export function sameJson(a: unknown, b: unknown, skipDepths: number, depth = 0): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i], skipDepths, depth + 1)) return false
    return true
  }
  if (Array.isArray(b) || !isPlain(a) || !isPlain(b)) return false
  const skip = (skipDepths & (1 << depth)) !== 0
  const oa = a as Record<string, unknown>
  const ob = b as Record<string, unknown>
  const ka = keysOf(oa, skip)
  const kb = keysOf(ob, skip)
  if (ka.length !== kb.length) return false
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i] as string
    if (k !== kb[i]) return false
    const x = oa[k]
    const y = ob[k]
    // JSON.stringify leaves out members whose value is undefined (or a function): equal only if both are.
    if (x === undefined || y === undefined || typeof x === 'function' || typeof y === 'function') {
      if (x !== y) return false
      continue
    }
    if (!sameJson(x, y, skipDepths, depth + 1)) return false
  }
  return true
}

/** Depths at which a message's `cache_control` does not count: the message's own, and its content blocks'. */
export const MESSAGE_DEPTHS = 0b101
/** Depths at which a tool list's or a system block list's `cache_control` does not count: each tool's, each block's. */
export const LIST_DEPTHS = 0b10

/** The history of one analyzed request, kept for later requests of the same conversation. */
export interface HistoryMemo {
  api: string
  /** The request's messages (Anthropic, Chat) or input items (Responses), as parsed. */
  items: readonly unknown[]
  /** Message segments, one per item, without the request's own breakpoints. */
  segments: readonly CacheSegment[]
  /** History units, each with the item it ends before and whether it is an assistant group (Responses: it could grow). */
  units: readonly string[]
  ends: readonly number[]
  open: readonly boolean[]
  /** The history chain over `units`. */
  chain: readonly string[]
  /** Serialized size of the items (the memo's bound counts it). */
  bytes: number
}

/** What a request takes from an earlier one: its memo and how many leading items are equal. */
export interface PriorHistory {
  memo: HistoryMemo
  /** Items `0..same-1` equal the memo's. */
  same: number
  /** Units `0..units-1` (and their chain hashes) are the memo's. */
  units: number
}

/** Conversations kept (agents run side by side: more than a machine runs at once). */
const MAX_HISTORIES = 64
/** Serialized bytes of the items kept, at most (the parsed values take a few times that). */
const MAX_HISTORY_BYTES = 48 * 1024 * 1024
const histories = new Map<HistoryMemo, true>()
let historyBytes = 0
/** Items taken from earlier requests since the last clear (tests check the memo was used). */
let reused = 0

/** Items taken from earlier requests since the last {@link clearRequestMemo}. */
export function reusedItems(): number {
  return reused
}

/** Where a kept request's history ends: the item after its last unit (trailing `system` entries are no history). */
const historyEnd = (m: HistoryMemo): number => (m.ends.length === 0 ? 0 : (m.ends[m.ends.length - 1] as number))

/**
 * The earlier request of this conversation, if one is kept: the kept request whose last history
 * item (its newest message, which other conversations do not have) this request has at the same
 * place, the longest such; then the leading items both share.
 */
export function priorHistory(api: string, items: readonly unknown[]): PriorHistory | undefined {
  let best: HistoryMemo | undefined
  for (const m of histories.keys()) {
    const n = historyEnd(m)
    if (m.api !== api || n === 0 || n > items.length || (best !== undefined && n <= historyEnd(best))) continue
    if (sameJson(items[n - 1], m.items[n - 1], MESSAGE_DEPTHS)) best = m
  }
  if (best === undefined) return undefined
  let same = 0
  while (same < best.items.length && sameJson(items[same], best.items[same], MESSAGE_DEPTHS)) same++
  if (same === 0) return undefined
  // A unit is the memo's when its items are, and so is what decides where it ends: the next item,
  // for a group that could take more items.
  let units = 0
  while (units < best.units.length && ((best.ends[units] as number) < same || (best.ends[units] === same && best.open[units] !== true))) units++
  // Touched: it stays among the kept ones longest.
  histories.delete(best)
  histories.set(best, true)
  reused += same
  return { memo: best, same, units }
}

/**
 * Keeps a request's history for later requests. The earlier request it took from is dropped when
 * this one holds all of its history (a conversation keeps one entry, its latest request).
 */
export function rememberHistory(m: HistoryMemo, prior: PriorHistory | undefined): void {
  const replaces = prior !== undefined && prior.same >= historyEnd(prior.memo) ? prior.memo : undefined
  if (replaces !== undefined && histories.delete(replaces)) historyBytes -= replaces.bytes
  if (m.bytes > MAX_HISTORY_BYTES) return
  histories.set(m, true)
  historyBytes += m.bytes
  for (const old of histories.keys()) {
    if (histories.size <= MAX_HISTORIES && historyBytes <= MAX_HISTORY_BYTES) break
    histories.delete(old)
    historyBytes -= old.bytes
  }
}

/** A few recent values of one kind (tool lists, system prompts) and what was worked out for each. */
export function createValueMemo<T>(max: number): { find(v: unknown): T | undefined; keep(v: unknown, t: T): void; clear(): void } {
  const kept: { v: unknown; t: T }[] = []
  return {
    clear() {
      kept.length = 0
    },
    find(v) {
      for (let i = kept.length - 1; i >= 0; i--) {
        const e = kept[i] as { v: unknown; t: T }
        if (sameJson(v, e.v, LIST_DEPTHS)) {
          if (i !== kept.length - 1) {
            kept.splice(i, 1)
            kept.push(e)
          }
          return e.t
        }
      }
      return undefined
    },
    keep(v, t) {
      // (Found with `find` first: a value is kept once.)
      kept.push({ v, t })
      if (kept.length > max) kept.shift()
    },
  }
}

/** Forgets every kept request (tests compare analyses with and without the memo). */
export function clearRequestMemo(): void {
  histories.clear()
  historyBytes = 0
  reused = 0
  for (const f of clearers) f()
}

const clearers: (() => void)[] = []
/** Registers a module's own memo with {@link clearRequestMemo}. */
export function onClearRequestMemo(f: () => void): void {
  clearers.push(f)
}
