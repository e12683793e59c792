/**
 * A request as the provider's prompt cache sees it: a list of segments in cache order, each with
 * an exact hash and its size in bytes, so two requests' longest common prefix (and the first
 * segment where they diverge) is a walk over two lists of hashes. Pure: no I/O.
 *
 * Unlike the history chain (history-hash.ts), which ignores what clients may rewrite, these hashes
 * are exact: a stripped thinking block or an edited reminder changes the segment, because it
 * changes the bytes the cache keys on. Only `cache_control` itself is left out (moving a
 * breakpoint does not change the cached content); where a segment carries one is kept as
 * `breakpoint`.
 *
 * Cache order:
 * - Anthropic Messages: tools → system blocks → messages (the order the API builds its prefix);
 * - OpenAI Responses: instructions → tools → input items (`prompt_cache_key` routes, it is not content);
 * - Chat Completions: tools → messages.
 */
import { Buffer } from 'node:buffer'
import { contentHash, withoutCacheControl } from './history-hash.js'
import { createValueMemo, onClearRequestMemo, type PriorHistory } from './request-memo.js'

/** What part of the request a segment is. */
export type CacheSegmentKind = 'tool' | 'system' | 'message'

/** One segment of a request in cache order. */
export interface CacheSegment {
  kind: CacheSegmentKind
  /** Position within its kind: the tool's index, the system block's, the message's (or input item's). */
  index: number
  /** The tool's name; a message's role (Responses: the item type when it is not a message). */
  label: string
  /** Hash of the segment's JSON without `cache_control` (16 hex). */
  hash: string
  /** UTF-8 bytes of that JSON: offsets into the canonical request are sums of these. */
  bytes: number
  /** The segment carries a `cache_control` breakpoint, with this TTL. */
  breakpoint?: '5m' | '1h'
  /** The hash again without thinking blocks, when the segment has some (so "thinking was stripped" is a hash compare). */
  loose?: string
  /** Thinking / reasoning blocks in the segment. */
  thinking?: number
  /** The segment's text holds an injected `<system-reminder>`. */
  reminder?: boolean
  /** The segment is a compaction summary (Claude Code's "continued from a previous conversation", a Responses compaction item). */
  summary?: boolean
}

/** Segments of a request, and the canonical JSON of each when asked for. */
export interface CacheAnatomy {
  segments: CacheSegment[]
  /** The JSON each segment's hash covers, parallel to `segments` (only with `withText`). */
  texts?: string[]
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * UTF-8 length of JSON text without encoding it (no copy per segment). JSON.stringify escapes lone
 * surrogates, so this equals `new TextEncoder().encode(s).length`.
 */
function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

const REMINDER = '<system-reminder>'
const SUMMARY_RE = /This session is being continued from a previous conversation|^Summary of the conversation so far|<summary>/

const THINKING = new Set(['thinking', 'redacted_thinking', 'reasoning'])

/** The TTL of a block's (or message's) `cache_control`, when it has one. */
function ttlOf(v: unknown): '5m' | '1h' | undefined {
  if (!isObj(v)) return undefined
  const cc = v['cache_control']
  if (!isObj(cc)) return undefined
  return cc['ttl'] === '1h' ? '1h' : '5m'
}

/** The last breakpoint among a message's blocks (the message's own `cache_control` too). */
function breakpointOf(m: Record<string, unknown>): '5m' | '1h' | undefined {
  let bp = ttlOf(m)
  const c = m['content']
  if (Array.isArray(c)) for (const b of c) bp = ttlOf(b) ?? bp
  return bp
}

function segment(kind: CacheSegmentKind, index: number, label: string, value: unknown, out: CacheAnatomy, withText: boolean): CacheSegment {
  const json = withoutCacheControl(value)
  const seg: CacheSegment = { kind, index, label, hash: contentHash(`${kind}\n${json}`), bytes: utf8Bytes(json) }
  if (json.includes(REMINDER)) seg.reminder = true
  out.segments.push(seg)
  if (withText) out.texts?.push(json)
  return seg
}

/** Adds what a message segment says about thinking blocks and summaries. */
function messageFacts(seg: CacheSegment, m: unknown, textOf: (m: unknown) => string): void {
  if (!isObj(m)) return
  const c = m['content']
  if (Array.isArray(c)) {
    let thinking = 0
    for (const b of c) if (isObj(b) && typeof b['type'] === 'string' && THINKING.has(b['type'])) thinking++
    if (thinking > 0) {
      seg.thinking = thinking
      const kept = c.filter((b) => !(isObj(b) && typeof b['type'] === 'string' && THINKING.has(b['type'])))
      seg.loose = contentHash(`${seg.kind}\n${withoutCacheControl({ ...m, content: kept })}`)
    }
  }
  if (typeof m['type'] === 'string' && /compaction/.test(m['type'])) seg.summary = true
  else if (m['role'] === 'user' && SUMMARY_RE.test(textOf(m).slice(0, 4096))) seg.summary = true
}

function textOf(m: unknown): string {
  if (!isObj(m)) return ''
  const c = m['content']
  if (typeof c === 'string') return c
  if (!Array.isArray(c)) return ''
  const parts: string[] = []
  for (const b of c) if (isObj(b) && typeof b['text'] === 'string') parts.push(b['text'])
  return parts.join('\n')
}

function toolName(t: unknown, i: number): string {
  if (!isObj(t)) return `#${i}`
  const fn = isObj(t['function']) ? t['function'] : undefined
  const n = t['name'] ?? fn?.['name'] ?? t['type']
  return typeof n === 'string' ? n : `#${i}`
}

/** What a tool's segment says by its content alone (its breakpoint is each request's own). */
interface ToolFacts {
  hash: string
  bytes: number
  reminder: boolean
}

/** A request's tool list and its JSON without `cache_control` (request analysis' tool-list key). */
export interface ToolsKey {
  list: unknown
  key: string
}

/**
 * Tool segments of the lists seen last, by the list's key: agents send the same tools with every
 * request, so a list seen before is neither serialized tool by tool nor hashed again. Memoization
 * only: the list's JSON is its tools' JSON joined (`cache_control` members never span two tools),
 * so an equal key means equal tool JSON, and the segments are the same either way.
 */
const toolFacts = new Map<string, ToolFacts[]>()
const MAX_TOOL_FACTS = 64

function tools(body: Record<string, unknown>, out: CacheAnatomy, withText: boolean, toolsKey: ToolsKey | undefined): void {
  const list = body['tools']
  if (!Array.isArray(list)) return
  const key = toolsKey !== undefined && toolsKey.list === list ? toolsKey.key : undefined
  const known = key === undefined || withText ? undefined : toolFacts.get(key)
  if (known !== undefined && known.length === list.length) {
    for (let i = 0; i < list.length; i++) {
      const t: unknown = list[i]
      const f = known[i] as ToolFacts
      const seg: CacheSegment = { kind: 'tool', index: i, label: toolName(t, i), hash: f.hash, bytes: f.bytes }
      if (f.reminder) seg.reminder = true
      out.segments.push(seg)
      const bp = ttlOf(t)
      if (bp !== undefined) seg.breakpoint = bp
    }
    return
  }
  const facts: ToolFacts[] = []
  list.forEach((t, i) => {
    const seg = segment('tool', i, toolName(t, i), t, out, withText)
    facts.push({ hash: seg.hash, bytes: seg.bytes, reminder: seg.reminder === true })
    const bp = ttlOf(t)
    if (bp !== undefined) seg.breakpoint = bp
  })
  if (key !== undefined) {
    toolFacts.set(key, facts)
    if (toolFacts.size > MAX_TOOL_FACTS) {
      const oldest = toolFacts.keys().next().value
      if (oldest !== undefined) toolFacts.delete(oldest)
    }
  }
}

/**
 * The segments of a request body in the provider's cache order (see the module comment), with
 * an exact hash and byte size each and the breakpoints the client placed.
 *
 * @param body - the parsed request body (a Codex `response.create` frame reads as its request)
 * @param api - the API the request speaks (request anatomy's `api`)
 * @param withText - also return each segment's canonical JSON (for showing a divergence)
 * @example
 * const { segments } = cacheSegments(body, 'anthropic-messages')
 * segments.map((s) => `${s.kind}:${s.label}:${s.bytes}${s.breakpoint ? '*' : ''}`) // ['tool:Bash:412', …, 'system:0:9120*', 'message:user:88*']
 */
export function cacheSegments(body: unknown, api: string, withText = false): CacheAnatomy {
  return cacheSegmentsOf(body, api, withText, undefined)
}

/** {@link cacheSegments}, with the tool-list key request analysis already computed (see {@link ToolsKey}). */
export function cacheSegmentsOf(body: unknown, api: string, withText: boolean, toolsKey: ToolsKey | undefined, prior?: PriorHistory): CacheAnatomy {
  const out: CacheAnatomy = withText ? { segments: [], texts: [] } : { segments: [] }
  if (!isObj(body)) return out
  if (body['type'] === 'response.create' && isObj(body['response'])) body = body['response'] as Record<string, unknown>
  const b = body as Record<string, unknown>
  // Segments of the leading messages an earlier request had too (request-memo.ts; not with texts).
  const same = withText || prior === undefined ? 0 : prior.same
  const known = (i: number): CacheSegment | undefined => (i < same ? { ...(prior!.memo.segments[i] as CacheSegment) } : undefined)
  if (api === 'anthropic-messages') {
    tools(b, out, withText, toolsKey)
    const sys = b['system']
    if (typeof sys === 'string' && sys !== '') segment('system', 0, 'system', sys, out, withText)
    else if (Array.isArray(sys)) systemBlocks(sys, out, withText)
    const msgs = b['messages']
    if (Array.isArray(msgs)) {
      msgs.forEach((m, i) => {
        let seg = known(i)
        if (seg !== undefined) out.segments.push(seg)
        else seg = segment('message', i, isObj(m) && typeof m['role'] === 'string' ? m['role'] : '?', m, out, withText)
        if (isObj(m)) {
          const bp = breakpointOf(m)
          if (bp !== undefined) seg.breakpoint = bp
        }
        if (i >= same) messageFacts(seg, m, textOf)
      })
    }
  } else if (api === 'openai-responses') {
    const ins = b['instructions']
    if (typeof ins === 'string' && ins !== '') segment('system', 0, 'instructions', ins, out, withText)
    tools(b, out, withText, toolsKey)
    const input = b['input']
    const items = typeof input === 'string' ? [{ role: 'user', content: input }] : Array.isArray(input) ? input : []
    items.forEach((it, i) => {
      const seen = known(i)
      if (seen !== undefined) {
        out.segments.push(seen)
        return
      }
      const label = isObj(it) ? (typeof it['role'] === 'string' && (it['type'] === undefined || it['type'] === 'message') ? it['role'] : String(it['type'] ?? '?')) : '?'
      const seg = segment('message', i, label, it, out, withText)
      if (isObj(it) && it['type'] === 'reasoning') seg.thinking = 1
      messageFacts(seg, it, textOf)
    })
  } else if (api === 'openai-chat') {
    tools(b, out, withText, toolsKey)
    const msgs = b['messages']
    if (Array.isArray(msgs)) {
      msgs.forEach((m, i) => {
        const seen = known(i)
        if (seen !== undefined) out.segments.push(seen)
        else messageFacts(segment('message', i, isObj(m) && typeof m['role'] === 'string' ? m['role'] : '?', m, out, withText), m, textOf)
      })
    }
  }
  return out
}

/** What a system block's segment says by its content alone (its breakpoint is each request's own). */
type BlockFacts = Omit<CacheSegment, 'breakpoint'>
/** The segments of the system prompts (Anthropic block lists) seen last. */
const systemFacts = createValueMemo<BlockFacts[]>(8)
onClearRequestMemo(() => {
  systemFacts.clear()
  toolFacts.clear()
})

/** Segments of an Anthropic system prompt's blocks (a list seen last is neither serialized nor hashed again). */
function systemBlocks(sys: unknown[], out: CacheAnatomy, withText: boolean): void {
  const known = withText ? undefined : systemFacts.find(sys)
  const facts: BlockFacts[] = []
  sys.forEach((blk, i) => {
    let seg: CacheSegment
    if (known !== undefined) {
      seg = { ...(known[i] as BlockFacts) }
      out.segments.push(seg)
    } else {
      seg = segment('system', i, 'system', blk, out, withText)
      facts.push({ ...seg })
    }
    const bp = ttlOf(blk)
    if (bp !== undefined) seg.breakpoint = bp
  })
  if (known === undefined && !withText) systemFacts.keep(sys, facts)
}
