import { contextBefore, fromBase, HOLDBACK_FOR_EXTRAS, isWs, naturalCut, redactRange, widenCut, WS_RE } from './cut.js'
import { SessionExtractorError } from './errors.js'
import { getDefaultRedactor, isSecretFieldName, isWordBounded } from './redactor.js'
import type { Redactor, SecretSpan } from './types.js'

/** The part of a canonical `sse` record the SSE redactor reads; other fields pass through. */
export interface SseDataRecord {
  data: string
  event?: string
  [extra: string]: unknown
}

/** Options of {@link createSseRedactor}. */
export interface SseRedactorOptions<R extends SseDataRecord> {
  /** Receives each record, in feed order, with `data` (and `id`, `event`) redacted (the same object when nothing changed). */
  onRecord(record: R): void
  /** Redactor to apply. @defaultValue the default redactor */
  redactor?: Redactor
  /**
   * Characters of each text channel always held back. Built-in patterns never match across
   * whitespace (private key blocks aside, which are held until complete), so none are needed
   * for them; a redactor with `extraPatterns` (which may) gets 128 unless told otherwise.
   * @defaultValue 0 for a redactor without extra patterns, else 128
   */
  holdback?: number
  /** Most characters held per channel; a longer run without whitespace is released (`PENDING_LIMIT`). @defaultValue 65536 */
  maxPending?: number
  /** Most records held back at once; over it the oldest are released (`HELD_LIMIT`). @defaultValue 65536 */
  maxHeldRecords?: number
  /** Most bytes of `data` held back at once; over it the oldest records are released (`HELD_LIMIT`). @defaultValue 33554432 (32 MiB) */
  maxHeldBytes?: number
  /** Told when a limit forced a release (`HELD_LIMIT`, `PENDING_LIMIT`; `at` = the record's `seq` when it has one); redaction goes on. */
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

/** A private key block waiting for its END line is not rescanned below this many held chars (past PEM_SOURCE's 16 KiB window). */
const KEY_WAIT_CHARS = 16384

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
  /** The channel holding this leaf's text, while it does. */
  ch: Channel | undefined
}

interface Held<R> {
  record: R
  /** Parsed JSON data, or `undefined` for non-JSON data (one raw leaf). */
  value: unknown
  leaves: Leaf[]
  /** Leaves not final yet. */
  open: number
  bytes: number
}

interface Piece {
  held: Held<unknown>
  leaf: Leaf
}

/**
 * The text of one streamed field across records. Everything before `ctx`'s end is decided; the
 * held pieces hold the rest, of which the first `headSkip` chars are decided too (their output
 * is `headOut`): the piece straddled the last cut.
 */
interface Channel {
  pieces: Piece[]
  headSkip: number
  headOut: string
  /** Undecided characters held. */
  len: number
  /** The undecided text ends in a run of non-whitespace (or is empty): more of the run cannot release anything. */
  endsInRun: boolean
  /** Original text right before the undecided text (see contextBefore). */
  ctx: string
  /** Some of the channel's text was decided (the held text continues it). */
  released: boolean
  /**
   * A private key block at the start of the undecided text waits for its END line: nothing can
   * be released before a piece brings a `-` or the block's window passes (see pem-hold).
   */
  keyWait: boolean
}

function newChannel(): Channel {
  return { pieces: [], headSkip: 0, headOut: '', len: 0, endsInRun: true, ctx: '', released: false, keyWait: false }
}

/**
 * Redact a flow's SSE records before they are written, catching secrets that the model
 * streams split across any number of events (`"text":"sk-ant-api03-AbC"`, `"text":"dEf…"`, …).
 *
 * Each JSON record's streamed string fields (see STREAM_KEYS) are joined per channel
 * (field path + `index` / `output_index` / `content_index` / `item_id`) and redacted as one
 * text; other fields are redacted per record with `redactor.json`, and the record's `id` and
 * `event` with `redactor.text`. Non-JSON data is one channel of raw text.
 *
 * When a record comes out: no built-in secret contains whitespace (private key blocks aside),
 * so a channel's text is decided up to the last whitespace that no secret found spans and no
 * private key block still growing follows. A record is released once all of its pieces are
 * decided and every record before it is out (order is kept). So a record waits for the first
 * later piece of its channel that brings whitespace (the end of the word or secret it is part
 * of), an empty piece (`content_block_start`'s `text:""`) never waits, a private key block
 * waits until its END line or the end of its base64 body, and a channel's block end
 * (`content_block_stop`, `*.done`) or the message end releases everything held. Caps bound the
 * rest: `maxPending` characters per channel, `maxHeldRecords` / `maxHeldBytes` overall (the
 * oldest records are then forced out, redacted as far as their text goes; the rest of a secret
 * they cut is still redacted when it completes, since the released text stays as context).
 *
 * A record whose data had nothing to redact keeps its byte-exact `data` (the same object); a
 * changed one is re-serialized with `JSON.stringify`. A secret split across records is replaced
 * in the record where it starts; the following records lose their part of it.
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
  const holdback = opts.holdback ?? (isWordBounded(redactor) ? 0 : HOLDBACK_FOR_EXTRAS)
  const maxPending = opts.maxPending ?? 65536
  const maxHeld = opts.maxHeldRecords ?? 65536
  const maxHeldBytes = opts.maxHeldBytes ?? 32 * 1024 * 1024
  if (!Number.isInteger(holdback) || holdback < 0) throw new SessionExtractorError('INVALID_OPTION', `createSseRedactor: expected holdback to be a non-negative integer, received ${String(holdback)}`)
  if (!Number.isInteger(maxPending) || maxPending <= holdback) throw new SessionExtractorError('INVALID_OPTION', `createSseRedactor: expected maxPending to be an integer greater than holdback (${holdback}), received ${String(maxPending)}`)
  if (!Number.isInteger(maxHeld) || maxHeld < 1) throw new SessionExtractorError('INVALID_OPTION', `createSseRedactor: expected maxHeldRecords to be a positive integer, received ${String(maxHeld)}`)
  if (!Number.isInteger(maxHeldBytes) || maxHeldBytes < 1) throw new SessionExtractorError('INVALID_OPTION', `createSseRedactor: expected maxHeldBytes to be a positive integer, received ${String(maxHeldBytes)}`)
  const onRecord = opts.onRecord
  const onError = opts.onError
  let lastSeq: number | undefined

  let queue: Array<Held<R>> = []
  let head = 0
  let heldBytes = 0
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
        if (STREAM_KEYS.has(k)) out.push([`${d}|${path}${k}`, { parent: obj, key: k, text: v, final: undefined, ch: undefined }])
      } else if (typeof v === 'object' && v !== null) {
        collect(v, `${path}${k}.`, d, out, depth + 1)
      }
    }
  }

  /** The undecided text of a channel, after its context. */
  function channelText(ch: Channel): string {
    const n = ch.pieces.length
    if (n === 0) return ch.ctx
    const first = (ch.pieces[0] as Piece).leaf.text
    if (n === 1) return ch.ctx + (ch.headSkip === 0 ? first : first.slice(ch.headSkip))
    const parts: string[] = [ch.ctx, ch.headSkip === 0 ? first : first.slice(ch.headSkip)]
    for (let i = 1; i < n; i++) parts.push((ch.pieces[i] as Piece).leaf.text)
    return parts.join('')
  }

  function scan(ch: Channel, text: string, base: number): SecretSpan[] {
    return fromBase(redactor.findSecrets(text, { continuation: ch.released }), base)
  }

  /**
   * Decide the channel's text up to `cut` (text coordinates: `base` is where the undecided text
   * starts): pieces ending before it become final, a piece across it keeps its decided part.
   */
  function decide(ch: Channel, text: string, base: number, spans: readonly SecretSpan[], cut: number): void {
    let pos = base
    let done = 0
    const n = ch.pieces.length
    for (; done < n; done++) {
      const piece = ch.pieces[done] as Piece
      const end = pos + piece.leaf.text.length - (done === 0 ? ch.headSkip : 0)
      if (end > cut) break
      piece.leaf.final = (done === 0 ? ch.headOut : '') + redactRange(text, spans, pos, end)
      piece.leaf.ch = undefined
      piece.held.open--
      pos = end
    }
    if (done < n && cut > pos) {
      const out = redactRange(text, spans, pos, cut)
      if (done === 0) {
        ch.headOut += out
        ch.headSkip += cut - pos
      } else {
        ch.headOut = out
        ch.headSkip = cut - pos
      }
    } else if (done > 0) {
      ch.headOut = ''
      ch.headSkip = 0
    }
    if (done > 0) ch.pieces.splice(0, done)
    ch.ctx = contextBefore(text, cut)
    ch.released = true
    ch.len = text.length - cut
    ch.endsInRun = ch.len === 0 || !isWs(text.charCodeAt(text.length - 1))
  }

  /** Decide what can be decided; everything when `flush` (the channel's text is complete). */
  function settle(ch: Channel, flush: boolean): void {
    if (ch.pieces.length === 0) return
    const text = channelText(ch)
    const base = ch.ctx.length
    const spans = scan(ch, text, base)
    let cut = flush ? text.length : naturalCut(text, base, spans, holdback)
    if (!flush && text.length - cut > maxPending) {
      // A run without whitespace longer than the cap: release down to half of it (the next
      // maxPending / 2 chars then take the no-rescan path), never splitting a secret found.
      cut = Math.max(cut, widenCut(text.length - (maxPending >> 1), spans))
      report('PENDING_LIMIT', `sseRedactor: a streamed run of more than ${maxPending} characters without whitespace exceeded maxPending; released part of it, redacted as far as it could be.`)
    }
    ch.keyWait = !flush && cut === base && text.startsWith('-----BEGIN', base) && ch.len < KEY_WAIT_CHARS
    if (cut > base || (flush && ch.pieces.length > 0)) decide(ch, text, base, spans, cut)
  }

  /** Force a channel's text out up to the end of `leaf` (a cap was hit). */
  function forceTo(ch: Channel, leaf: Leaf): void {
    const text = channelText(ch)
    const base = ch.ctx.length
    let end = base
    for (let i = 0; i < ch.pieces.length; i++) {
      const p = ch.pieces[i] as Piece
      end += p.leaf.text.length - (i === 0 ? ch.headSkip : 0)
      if (p.leaf === leaf) break
    }
    decide(ch, text, base, scan(ch, text, base), end)
  }

  function release(): void {
    while (head < queue.length) {
      const h = queue[head] as Held<R>
      if (h.open > 0) break
      head++
      heldBytes -= h.bytes
      onRecord(finish(h))
    }
    if (head > 1024 || head === queue.length) {
      queue = queue.slice(head)
      head = 0
    }
  }

  /** Over a cap: force the oldest records out until a quarter of the cap is free again. */
  function enforceCaps(): void {
    const count = queue.length - head
    if (count <= maxHeld && heldBytes <= maxHeldBytes) return
    report('HELD_LIMIT', `sseRedactor: more than maxHeldRecords (${maxHeld}) records or maxHeldBytes (${maxHeldBytes}) bytes were held waiting for a possible secret to complete; released the oldest, redacted as far as their text goes. Raise the caps for streams with very long secrets in very small deltas.`)
    const targetCount = maxHeld - (maxHeld >> 2)
    const targetBytes = maxHeldBytes - (maxHeldBytes >> 2)
    while (head < queue.length && (queue.length - head > targetCount || heldBytes > targetBytes)) {
      const h = queue[head] as Held<R>
      for (const leaf of h.leaves) if (leaf.final === undefined && leaf.ch !== undefined) forceTo(leaf.ch, leaf)
      const before = head
      release()
      if (head === before) break
    }
  }

  function finish(h: Held<R>): R {
    const rec = redactFields(h.record)
    if (h.value === undefined) {
      const leaf = h.leaves[0]
      if (leaf === undefined || leaf.final === leaf.text) return rec
      return { ...rec, data: leaf.final ?? leaf.text }
    }
    let changed = false
    for (const leaf of h.leaves) if (leaf.final !== undefined && leaf.final !== leaf.text) changed = true
    // Streamed fields are final; the rest of the record is redacted as ordinary JSON without
    // them (a piece alone would be judged out of context), unless nothing in it needs it.
    if (!needsRedaction(h.value, 0)) {
      if (!changed) return rec
      for (const leaf of h.leaves) (leaf.parent as Record<string | number, unknown>)[leaf.key] = leaf.final ?? leaf.text
      return { ...rec, data: JSON.stringify(h.value) }
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
    return { ...rec, data: JSON.stringify(redacted) }
  }

  /** The SSE `id:` and `event:` fields come from the wire too. */
  function redactFields(rec: R): R {
    const id = rec['id']
    const ev = rec.event
    const idDirty = typeof id === 'string' && !isClean(id)
    const evDirty = typeof ev === 'string' && !isClean(ev)
    if (!idDirty && !evDirty) return rec
    const out: R = { ...rec }
    if (idDirty) (out as Record<string, unknown>)['id'] = redactor.text(id)
    if (evDirty) out.event = redactor.text(ev)
    return out
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
        pairs.push([`raw|${record.event ?? ''}`, { parent: holder, key: 'data', text: data, final: undefined, ch: undefined }])
      }
      const held: Held<R> = { record, value, leaves: pairs.map((p) => p[1]), open: 0, bytes: data.length }
      queue.push(held)
      heldBytes += held.bytes
      const touched = new Set<Channel>()
      for (const [key, leaf] of pairs) {
        // An empty piece adds nothing to its channel: final at once (`content_block_start`'s
        // `text:""` used to be a piece that never settled and held every later record).
        if (leaf.text === '') {
          leaf.final = ''
          continue
        }
        let ch = channels.get(key)
        if (ch === undefined) {
          ch = newChannel()
          channels.set(key, ch)
        }
        held.open++
        leaf.ch = ch
        ch.pieces.push({ held: held as Held<unknown>, leaf })
        const len = ch.len + leaf.text.length
        // A piece without whitespace that only extends the run the held text ends in cannot
        // make a cut possible: hold it without rescanning (O(n) for a long run in small pieces).
        const skip = len <= maxPending && ((ch.endsInRun && !WS_RE.test(leaf.text)) || len <= holdback || (ch.keyWait && len < KEY_WAIT_CHARS && !leaf.text.includes('-')))
        ch.len = len
        ch.endsInRun = !isWs(leaf.text.charCodeAt(leaf.text.length - 1))
        if (!skip) touched.add(ch)
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
      release()
      enforceCaps()
    },
    end(): void {
      flushAll()
    },
    reset(): void {
      queue = []
      head = 0
      heldBytes = 0
      channels = new Map()
    },
    get held(): number {
      return queue.length - head
    },
  }
}
