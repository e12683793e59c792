import { SessionExtractorError } from './errors.js'
import { getDefaultRedactor, isSecretFieldName } from './redactor.js'
import { checkStreamOptions, CONTEXT, DELIM_SET, hasDelimiter, safeCut, widenCut } from './stream-redactor.js'
import type { Redactor, SecretSpan } from './types.js'

/** The part of a canonical `sse` record the SSE redactor reads; other fields pass through. */
export interface SseDataRecord {
  data: string
  event?: string
  [extra: string]: unknown
}

/** Options of {@link createSseRedactor}. */
export interface SseRedactorOptions<R extends SseDataRecord> {
  /** Receives each record, in feed order, with `data` redacted (the same object when nothing changed). */
  onRecord(record: R): void
  /** Redactor to apply. @defaultValue the default redactor */
  redactor?: Redactor
  /** Characters of each text channel held back at its tail. @defaultValue 128 */
  holdback?: number
  /** Most characters held per channel. @defaultValue 65536 */
  maxPending?: number
  /** Most records held back at once; going over flushes everything held. @defaultValue 256 */
  maxHeldRecords?: number
  /** Told when a limit forced a flush (`HELD_LIMIT`, `PENDING_LIMIT`; `at` = the record's `seq` when it has one); redaction goes on. */
  onError?(err: SessionExtractorError): void
}

/** A per-flow SSE redactor. */
export interface SseRedactor<R extends SseDataRecord> {
  /** Add the next record of the flow; records come out through `onRecord` once safe. */
  feed(record: R): void
  /** The flow ended: release every held record. */
  end(): void
  /** Drop held records without emitting them (a new flow). */
  reset(): void
  /** Records currently held back. */
  readonly held: number
}

/**
 * String fields that carry a stream split over events: Anthropic `delta.text` / `thinking` /
 * `partial_json`, Responses `delta` / `text` / `arguments`, Chat `delta.content`,
 * `function.arguments`, `reasoning_content`.
 */
const STREAM_KEYS = new Set(['text', 'thinking', 'partial_json', 'delta', 'content', 'arguments', 'reasoning_content', 'reasoning', 'refusal', 'input', 'output'])
const DISCRIMINATORS = ['index', 'output_index', 'content_index', 'summary_index', 'item_id'] as const

/** Stands in for a streamed field while the rest of a record is redacted (left alone: no pattern matches it). */
const LEAF_SENTINEL = '\u0000agenttap-streamed-field\u0000'

const END_ALL_RE = /^(?:message_stop|response\.completed|response\.failed|response\.incomplete|error)$/
const END_BLOCK_RE = /(?:_stop|\.done)$/

function discriminatorOf(obj: Record<string, unknown>): string {
  let d = ''
  for (const k of DISCRIMINATORS) {
    const v = obj[k]
    if (typeof v === 'number' || typeof v === 'string') d += `${k}=${String(v)};`
  }
  return d
}

interface Leaf {
  parent: Record<string, unknown> | unknown[]
  key: string | number
  text: string
  final: string | undefined
}

interface Held<R> {
  record: R
  /** Parsed JSON data, or `undefined` for non-JSON data (one raw leaf). */
  value: unknown
  leaves: Leaf[]
  open: number
}

interface Piece {
  held: Held<unknown>
  leaf: Leaf
}

interface Channel {
  pieces: Piece[]
  /** Characters held in `pieces`. */
  len: number
  /** The held text ends inside a run of non-delimiters (a secret may still be growing). */
  endsInRun: boolean
  /** Some of the channel's text was already released (the held text continues it). */
  released: boolean
}

/**
 * Redact a flow's SSE records before they are written, catching secrets that the model
 * streams split across events (`"text":"sk-ant-api03-AbC"` then `"text":"dEf…"`).
 *
 * Each JSON record's streamed string fields (see STREAM_KEYS) are joined per channel
 * (field path + `index` / `output_index` / `content_index` / `item_id`) and redacted as one
 * text with {@link createStreamRedactor}'s hold-back rule; other fields are redacted per
 * record with `redactor.json`. Non-JSON data is one channel of raw text. A record is
 * released when every piece of text it holds is past the hold-back, so records come out
 * in order, a few events late, and all at `end()`. A record whose data had nothing to
 * redact keeps its byte-exact `data`; a changed one is re-serialized with `JSON.stringify`.
 * A secret split across records is replaced in the record where it starts; the following
 * records lose their part of it.
 *
 * How the proxy applies it: one instance per flow, `feed` every `sse` record (and WebSocket
 * text frame) in order, write what `onRecord` gives, call `end()` when the flow ends
 * (completed, error or aborted) before writing `flow_end`. The client-facing stream is not
 * delayed: only what goes to disk / Redis passes through here.
 *
 * @example
 * const r = createSseRedactor({ onRecord: (rec) => writer.write(rec) })
 * for (const rec of flowRecords) r.feed(rec)
 * r.end()
 */
export function createSseRedactor<R extends SseDataRecord>(opts: SseRedactorOptions<R>): SseRedactor<R> {
  if (typeof opts !== 'object' || opts === null || typeof opts.onRecord !== 'function') {
    throw new SessionExtractorError('INVALID_OPTION', 'createSseRedactor: expected options with an onRecord(record) callback')
  }
  const redactor = opts.redactor ?? getDefaultRedactor()
  const holdback = opts.holdback ?? 128
  const maxPending = opts.maxPending ?? 65536
  const maxHeld = opts.maxHeldRecords ?? 256
  checkStreamOptions('createSseRedactor', holdback, maxPending)
  if (!Number.isInteger(maxHeld) || maxHeld < 1) throw new SessionExtractorError('INVALID_OPTION', `createSseRedactor: expected maxHeldRecords to be a positive integer, received ${String(maxHeld)}`)
  const onRecord = opts.onRecord
  const onError = opts.onError
  let lastSeq: number | undefined

  let queue: Array<Held<R>> = []
  let head = 0
  let channels = new Map<string, Channel>()

  function collect(value: unknown, path: string, disc: string, out: Array<[string, Leaf]>, depth: number): void {
    if (depth > 64 || typeof value !== 'object' || value === null) return
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v = value[i]
        if (typeof v === 'object' && v !== null) collect(v, `${path}${i}.`, disc, out, depth + 1)
      }
      return
    }
    const obj = value as Record<string, unknown>
    const d = disc + discriminatorOf(obj)
    for (const k of Object.keys(obj)) {
      const v = obj[k]
      if (typeof v === 'string') {
        if (STREAM_KEYS.has(k)) out.push([`${d}|${path}${k}`, { parent: obj, key: k, text: v, final: undefined }])
      } else if (typeof v === 'object' && v !== null) {
        collect(v, `${path}${k}.`, d, out, depth + 1)
      }
    }
  }

  /** Finalize the pieces of a channel that are safely behind its cut (all of them when `flush`). */
  function settle(ch: Channel, flush: boolean): void {
    if (ch.pieces.length === 0) return
    const texts = ch.pieces.map((p) => p.leaf.text)
    const text = texts.join('')
    ch.len = text.length
    ch.endsInRun = text.length > 0 && !DELIM_SET.has(text[text.length - 1] as string)
    const spans = redactor.findSecrets(text, { continuation: ch.released })
    let cut = text.length
    // A forced cut (a run longer than maxPending without a delimiter) may part pieces inside
    // the run, as a flush does: waiting for a delimiter there would hold the run, and rescan
    // all of it, until maxHeldRecords (quadratic in the run's length).
    let forced = false
    if (!flush) {
      const sc = safeCut(text, spans, holdback, maxPending)
      const natural = sc.cut
      forced = sc.forced
      if (forced) report('PENDING_LIMIT', `sseRedactor: a streamed run of more than ${maxPending} characters without a delimiter exceeded maxPending; released part of it, redacted as far as it could be.`)
      cut = widenCut(natural, spans)
    }
    // Only whole pieces are finalized: move the cut back to a piece boundary after a delimiter
    // that no secret spans.
    const ends: number[] = []
    let acc = 0
    for (const t of texts) {
      acc += t.length
      ends.push(acc)
    }
    let done = 0
    for (let i = 0; i < ends.length; i++) {
      const e = ends[i] as number
      if (e > cut) break
      // The boundary must touch a delimiter, like a stream cut: patterns read the char before a
      // key, and a rest starting mid-word would look like a word start.
      // Nor may it part a secret from the context its pattern reads before it (`Bearer `).
      const atDelimiter = DELIM_SET.has(text[e - 1] as string) || (e < text.length && DELIM_SET.has(text[e] as string))
      if (flush || forced ? !spans.some((sp) => sp.start < e && e < sp.end) : atDelimiter && !spans.some((sp) => sp.start - CONTEXT < e && e < sp.end)) done = i + 1
    }
    if (done === 0) return
    cut = ends[done - 1] as number
    let start = 0
    for (let i = 0; i < done; i++) {
      const piece = ch.pieces[i] as Piece
      const end = ends[i] as number
      piece.leaf.final = redactRange(text, spans, start, end)
      start = end
      piece.held.open--
    }
    ch.pieces = ch.pieces.slice(done)
    ch.released = true
    ch.len = text.length - cut
    if (ch.len === 0) ch.endsInRun = false
  }

  function release(): void {
    while (head < queue.length) {
      const h = queue[head] as Held<R>
      if (h.open > 0) break
      head++
      onRecord(finish(h))
    }
    if (head > 1024 || head === queue.length) {
      queue = queue.slice(head)
      head = 0
    }
  }

  function finish(h: Held<R>): R {
    if (h.value === undefined) {
      const leaf = h.leaves[0]
      if (leaf === undefined || leaf.final === leaf.text) return h.record
      return { ...h.record, data: leaf.final ?? leaf.text }
    }
    let changed = false
    for (const leaf of h.leaves) if (leaf.final !== undefined && leaf.final !== leaf.text) changed = true
    // Streamed fields are final; the rest of the record is redacted as ordinary JSON without
    // them (a piece alone would be judged out of context), unless nothing in it needs it.
    if (!needsRedaction(h.value, 0)) {
      if (!changed) return h.record
      for (const leaf of h.leaves) (leaf.parent as Record<string | number, unknown>)[leaf.key] = leaf.final ?? leaf.text
      return { ...h.record, data: JSON.stringify(h.value) }
    }
    for (const leaf of h.leaves) (leaf.parent as Record<string | number, unknown>)[leaf.key] = LEAF_SENTINEL
    const redacted = redactor.json(h.value)
    const finals = h.leaves.map((leaf) => leaf.final ?? leaf.text)
    let next = 0
    const restore = (v: unknown, depth: number): void => {
      if (typeof v !== 'object' || v === null || depth > 64) return
      const o = v as Record<string, unknown>
      for (const k of Object.keys(o)) {
        if (o[k] === LEAF_SENTINEL) o[k] = finals[next++]
        else restore(o[k], depth + 1)
      }
    }
    // Copy-on-write: `redacted` shares unchanged subtrees with `h.value`, which is ours to write.
    restore(redacted, 0)
    return { ...h.record, data: JSON.stringify(redacted) }
  }

  // Event skeletons repeat (`"type":"content_block_delta"`): remember strings already found clean.
  const clean = new Set<string>()
  function isClean(str: string): boolean {
    if (str.length < 8 || clean.has(str)) return true
    if (redactor.findSecrets(str).length > 0) return false
    if (clean.size >= 4096) clean.clear()
    clean.add(str)
    return true
  }

  /** Whether anything outside the streamed fields would be redacted by `redactor.json`. */
  function needsRedaction(value: unknown, depth: number): boolean {
    if (typeof value === 'string') return !isClean(value)
    if (typeof value !== 'object' || value === null || depth > 64) return false
    if (Array.isArray(value)) {
      for (const v of value) if (needsRedaction(v, depth + 1)) return true
      return false
    }
    const obj = value as Record<string, unknown>
    for (const k of Object.keys(obj)) {
      const v = obj[k]
      if (typeof v === 'string' && STREAM_KEYS.has(k)) continue
      if ((typeof v === 'string' || typeof v === 'number') && isSecretFieldName(k)) return true
      if (!isClean(k) || needsRedaction(v, depth + 1)) return true
    }
    return false
  }

  function report(code: 'PENDING_LIMIT' | 'HELD_LIMIT', message: string): void {
    if (onError !== undefined) onError(lastSeq === undefined ? new SessionExtractorError(code, message) : new SessionExtractorError(code, `${message} (at seq ${lastSeq})`, { at: lastSeq }))
  }

  function flushAll(): void {
    for (const ch of channels.values()) settle(ch, true)
    channels = new Map()
    release()
  }

  return {
    feed(record: R): void {
      if (typeof record !== 'object' || record === null || typeof record.data !== 'string') {
        throw new SessionExtractorError('INVALID_ARGUMENT', 'sseRedactor.feed: expected a record with a string `data` field')
      }
      const data = record.data
      lastSeq = typeof record['seq'] === 'number' ? record['seq'] : undefined
      let value: unknown
      const c = data.charCodeAt(0)
      if (c === 123 /* { */ || c === 91 /* [ */) {
        try {
          value = JSON.parse(data)
        } catch {
          value = undefined
        }
      }
      const pairs: Array<[string, Leaf]> = []
      if (value !== undefined && typeof value === 'object' && value !== null) {
        collect(value, '', '', pairs, 0)
      } else {
        value = undefined
        const holder = { data }
        pairs.push([`raw|${record.event ?? ''}`, { parent: holder, key: 'data', text: data, final: undefined }])
      }
      const held: Held<R> = { record, value, leaves: pairs.map((p) => p[1]), open: pairs.length }
      queue.push(held)
      const touched = new Set<Channel>()
      for (const [key, leaf] of pairs) {
        let ch = channels.get(key)
        if (ch === undefined) {
          ch = { pieces: [], len: 0, endsInRun: false, released: false }
          channels.set(key, ch)
        }
        ch.pieces.push({ held: held as Held<unknown>, leaf })
        // Same shortcut as createStreamRedactor: a piece that only extends the trailing run
        // cannot move the cut, so the channel is not rescanned (O(n) for long runs).
        if ((ch.endsInRun && ch.len + leaf.text.length < maxPending && !hasDelimiter(leaf.text)) || ch.len + leaf.text.length < holdback * 2) {
          ch.len += leaf.text.length
          ch.endsInRun = leaf.text.length > 0 ? !DELIM_SET.has(leaf.text[leaf.text.length - 1] as string) : ch.endsInRun
        }
        else touched.add(ch)
      }
      for (const ch of touched) settle(ch, false)
      const type = value !== undefined ? (value as Record<string, unknown>)['type'] : undefined
      if (value === undefined ? data.trim() === '[DONE]' : typeof type === 'string' && END_ALL_RE.test(type)) {
        flushAll()
        return
      }
      if (typeof type === 'string' && END_BLOCK_RE.test(type)) {
        // The block / item this record closes will get no more text: its held tail is final.
        const prefix = discriminatorOf(value as Record<string, unknown>)
        for (const [key, ch] of channels) {
          if (key.startsWith(prefix) && (prefix !== '' || key.startsWith('|'))) settle(ch, true)
        }
      }
      if (queue.length - head > maxHeld) {
        report('HELD_LIMIT', `sseRedactor: more than maxHeldRecords (${maxHeld}) records were held waiting for a possible secret to complete; flushed them. Raise maxHeldRecords for streams with very small deltas.`)
        flushAll()
      }
      else release()
    },
    end(): void {
      flushAll()
    },
    reset(): void {
      queue = []
      head = 0
      channels = new Map()
    },
    get held(): number {
      return queue.length - head
    },
  }
}

/** The redacted text of `text.slice(start, end)`; a span starting inside it puts its replacement here, a span started earlier removes its part. */
function redactRange(text: string, spans: readonly SecretSpan[], start: number, end: number): string {
  let out = ''
  let at = start
  for (const sp of spans) {
    if (sp.end <= start) continue
    if (sp.start >= end) break
    if (sp.start >= start) {
      out += text.slice(at, sp.start) + sp.replacement
    } else {
      out += text.slice(at, Math.max(at, start))
    }
    at = Math.min(sp.end, end)
  }
  return out + text.slice(at, end)
}


