import { closeSync, openSync, readSync } from 'node:fs'
import { readRawRef, SCHEMA_VERSION } from '@agenttap/jsonl-io'
import type { FlowFacts, LedgerContent, ModelCall } from '@agenttap/ledger'
import type { SessionChain } from '@agenttap/session-extractor'
import { callRows, contentRow, flowRow } from './rows.js'
import type { RowSink } from './rows.js'
import type { SourcedRecord } from './record-merge.js'

/**
 * Feeds capture records to a ledger, flow by flow, and turns what it emits into index rows.
 * Around the ledger it keeps what an incremental index needs: which flows are open (their
 * records are kept so the next update can feed them again), duplicates (the same line twice,
 * at-least-once Redis delivery), records whose flow record was not seen, flow_ends that arrived
 * before lines they announce, out-of-line bodies (`$ref`, `client_frames`), and every problem
 * with its location.
 */

/** What the ledger calls back with (the `@agenttap/ledger` `createLedger` handlers). */
export interface LedgerHandlers {
  onCall(call: ModelCall): void
  onFlow(flow: FlowFacts): void
  onContent(content: LedgerContent): void
  onError(error: Error): void
  /** The session chain to use (one that continues the last update's), when the feeder was given one. */
  sessionChain?: SessionChain
}

/** A streaming ledger: `@agenttap/ledger`'s `createLedger(handlers)`. */
export interface LedgerLike {
  /** Feeds a record; `at` goes on any error it causes. */
  feed(record: unknown, at?: { file?: string; line?: number; offset?: number }): void
  end(): void
  reset(): void
}

/** Creates a ledger. */
export type CreateLedger = (handlers: LedgerHandlers) => LedgerLike

/**
 * Kinds of input the index could not use (or used only in part). Besides these, the ledger's
 * own codes (`STREAM`, `MISSING_EVENTS`, `NEWER_SCHEMA`, `MISSING_FLOW`, …) are recorded as
 * the ledger reported them.
 */
export type ProblemCode =
  | 'MALFORMED_LINE'
  | 'LINE_TOO_LONG'
  | 'INVALID_RECORD'
  | 'UNKNOWN_TYPE'
  | 'NO_FLOW_RECORD'
  | 'FLOW_WITHOUT_END'
  | 'BODY_UNREADABLE'
  | 'LEDGER_ERROR'
  | (string & {})

/** One problem, with where it was. */
export interface Problem {
  code: ProblemCode
  file: string | null
  line: number | null
  offset: number | null
  flow_id: string | null
  seq: number | null
  message: string
}

/** A record of a flow that stays open, kept to be fed again. */
export interface PendingRecord {
  flow_id: string
  record: string
  file: string | null
  line: number | null
  offset: number | null
}

/** A flow that stays open after this update. */
export interface PendingFlow {
  flow_id: string
  records: PendingRecord[]
  /** Wall clock (ms) of its last new record. */
  last_seen_ms: number
  /** Wall clock (ms) since its flow_end waits for announced lines. */
  held_since_ms: number | null
}

/** Options of {@link createFlowFeeder}. */
export interface FlowFeederOptions {
  createLedger: CreateLedger
  /** The capture dir `$ref` / `client_frames` refs are relative to (absent: refs are not read). */
  captureDir?: string
  onRow: RowSink
  onProblem(p: Problem): void
  /** Wall clock now (ms). @defaultValue Date.now() */
  now?: number
  /**
   * A flow_end that announces more events than were read waits this long (wall clock) for them
   * before the flow is ended anyway. @defaultValue 60 s
   */
  holdEndMs?: number
  /** An open flow with no new record for this long is ended (a `FLOW_WITHOUT_END` problem). @defaultValue 1 h */
  staleMs?: number
  /**
   * No later update will come (an in-memory index): a flow_end still waiting for announced lines
   * ends its flow at `finish`. @defaultValue false
   */
  final?: boolean
  /** Largest out-of-line body read. @defaultValue 256 MiB */
  maxBodyBytes?: number
  /** Records held while their flow record is missing, at most. @defaultValue 100 000 */
  maxOrphans?: number
  /** The ledger's session chain (restored from the last update); absent: the ledger makes a new one. */
  sessionChain?: SessionChain
}

/** What {@link FlowFeeder.finish} returns. */
export interface FeederResult {
  /** Flows that stay open. */
  pending: PendingFlow[]
  /**
   * Flows some records were read for but no flow record (duplicates of indexed flows, or lost):
   * their rows were made from those records alone.
   */
  orphans: { flow_id: string; records: number; first: SourcedRecord }[]
  records: number
}

/** See {@link createFlowFeeder}. */
export interface FlowFeeder {
  /** Feeds one record (returns a promise only when an out-of-line body had to be read). */
  feed(sr: SourcedRecord): void | Promise<void>
  /** Feeds a kept record of an open flow again (before any new record). */
  refeed(flow: PendingFlow): void | Promise<void>
  /** Ends the update: decides which open flows stay pending, ends the ledger. */
  finish(): Promise<FeederResult>
}

interface OpenFlow {
  id: string
  /**
   * Its records so far, kept small: a record read from a file as its place (file, offset, bytes,
   * line: the text is read again only if the flow stays open, which few do), any other as its
   * text. Holding every line of every open flow would keep them all alive past the young
   * generation, and the garbage collector would pay for it.
   */
  files: string[]
  offsets: number[]
  sizes: number[]
  lines: number[]
  texts: (string | undefined)[]
  /** seq → seen (an array: seqs are small, dense and mostly in order; cheaper than a Set). */
  seen: boolean[]
  /** Distinct seqs seen (sse and client_frame records). */
  count: number
  lastSeen: number
  heldEnd: SourcedRecord | undefined
  heldSince: number | null
  sawClientFrame: boolean
}

const FLOW_TYPES = new Set(['flow', 'sse', 'client_frame', 'flow_end'])
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Creates a feeder around a fresh ledger. */
export function createFlowFeeder(options: FlowFeederOptions): FlowFeeder {
  const now = options.now ?? Date.now()
  const holdEndMs = options.holdEndMs ?? 60_000
  const staleMs = options.staleMs ?? 3_600_000
  const maxOrphans = options.maxOrphans ?? 100_000
  const open = new Map<string, OpenFlow>()
  const done = new Set<string>()
  const orphans = new Map<string, SourcedRecord[]>()
  let orphanCount = 0
  const contents = new Set<string>()
  let cur: SourcedRecord | undefined
  let records = 0

  const problem = (code: Problem['code'], message: string, at: SourcedRecord | undefined, flow_id?: string | null, seq?: number | null): void => {
    options.onProblem({
      code,
      file: at?.file ?? null,
      line: at && at.line > 0 ? at.line : null,
      offset: at && at.offset >= 0 ? at.offset : null,
      flow_id: flow_id ?? (typeof at?.rec.flow_id === 'string' ? at.rec.flow_id : null),
      seq: seq ?? (typeof at?.rec.seq === 'number' ? at.rec.seq : null),
      message,
    })
  }

  const ledger = options.createLedger({
    ...(options.sessionChain !== undefined ? { sessionChain: options.sessionChain } : {}),
    onCall(call) {
      const r = callRows(call, false)
      options.onRow('calls', r.calls)
      for (const t of r.tool_calls) options.onRow('tool_calls', t)
      for (const t of r.tool_results) options.onRow('tool_results', t)
    },
    onFlow(flow) {
      options.onRow('flows', flowRow(flow, false))
    },
    onContent(c) {
      if (contents.has(c.hash)) return
      contents.add(c.hash)
      options.onRow('contents', contentRow(c))
    },
    onError(e) {
      // The ledger's errors carry its code and, from `at`, the record's location.
      const x = e as Error & { code?: unknown; flow_id?: unknown; seq?: unknown; file?: unknown }
      // A flow assembled without its flow record is reported once, by the index (NO_FLOW_RECORD):
      // it alone can tell a lost flow record from a duplicate of a flow indexed earlier.
      if (x.code === 'MISSING_FLOW') return
      // The location is kept in its own columns: drop the copy the message starts with.
      const file = typeof x.file === 'string' ? x.file : cur?.file
      const message = file !== undefined && file !== '' && e.message.startsWith(file) ? e.message.replace(/^.*?:\d+(?: \(byte \d+\))?: /s, '') : e.message
      problem(typeof x.code === 'string' ? x.code : 'LEDGER_ERROR', message, cur, typeof x.flow_id === 'string' ? x.flow_id : undefined, typeof x.seq === 'number' ? x.seq : undefined)
    },
  })

  function toLedger(sr: SourcedRecord, rec: Record<string, unknown> = sr.rec): void {
    cur = sr
    try {
      // A record read from a file is its own location (file, line, offset): no object per record.
      ledger.feed(rec, sr.line > 0 ? sr : sr.file !== '' ? { file: sr.file } : undefined)
    } catch (e) {
      problem('LEDGER_ERROR', `the ledger failed on this record: ${(e as Error).message}`, sr)
    } finally {
      cur = undefined
    }
  }

  /** The record with a body kept out of line (`{"$ref": …}` in `field`) read in; unchanged (and reported) when it cannot be. */
  async function withBody(sr: SourcedRecord, field: 'request_body' | 'body', ref: string): Promise<Record<string, unknown>> {
    try {
      const buf = await readRawRef(options.captureDir!, ref, options.maxBodyBytes === undefined ? {} : { maxBytes: options.maxBodyBytes })
      const text = buf.toString('utf8')
      let value: unknown = text
      try {
        value = JSON.parse(text)
      } catch {
        // a body that is not JSON (an HTML error page) is given as text
      }
      return { ...sr.rec, [field]: value }
    } catch (e) {
      problem('BODY_UNREADABLE', `${field === 'body' ? 'response' : 'request'} body ${JSON.stringify(ref)} could not be read: ${(e as Error).message}`, sr)
      return sr.rec
    }
  }

  const refIn = (v: unknown): string | undefined => (isObj(v) && typeof v.$ref === 'string' ? v.$ref : undefined)

  /**
   * Feeds a flow_end: an older capture's client frames kept in a file of their own go first (as
   * `client_frame` records without a seq, as the ledger asks), and a response body kept out of
   * line is read in.
   */
  async function endWithRefs(f: Pick<OpenFlow, 'sawClientFrame'>, sr: SourcedRecord): Promise<void> {
    const frames = sr.rec.client_frames
    if (typeof frames === 'string' && !f.sawClientFrame) {
      try {
        const text = (await readRawRef(options.captureDir!, frames, options.maxBodyBytes === undefined ? {} : { maxBytes: options.maxBodyBytes })).toString('utf8')
        for (const data of text.split('\n')) {
          if (data === '') continue
          toLedger(sr, { v: SCHEMA_VERSION, type: 'client_frame', ts: sr.rec.ts, flow_id: sr.rec.flow_id, session_id: sr.rec.session_id, data, transport: 'ws' })
        }
      } catch (e) {
        problem('BODY_UNREADABLE', `client frames ${JSON.stringify(frames)} could not be read: ${(e as Error).message}`, sr)
      }
    }
    const body = refIn(sr.rec.body)
    toLedger(sr, body === undefined ? sr.rec : await withBody(sr, 'body', body))
  }

  /** Feeds the flow_end. */
  function endFlow(f: OpenFlow, sr: SourcedRecord): void | Promise<void> {
    open.delete(f.id)
    done.add(f.id)
    if (options.captureDir !== undefined && ((typeof sr.rec.client_frames === 'string' && !f.sawClientFrame) || refIn(sr.rec.body) !== undefined)) return endWithRefs(f, sr)
    toLedger(sr)
  }

  function keep(f: OpenFlow, sr: SourcedRecord): void {
    const fromFile = sr.file !== '' && sr.offset >= 0 && sr.bytes > 0
    f.files.push(sr.file)
    f.offsets.push(sr.offset)
    f.sizes.push(fromFile ? sr.bytes : 0)
    f.lines.push(sr.line)
    f.texts.push(fromFile ? undefined : sr.text)
  }

  const pendingOf = (id: string, sr: SourcedRecord): PendingRecord =>
    ({ flow_id: id, record: sr.text, file: sr.file === '' ? null : sr.file, line: sr.line > 0 ? sr.line : null, offset: sr.offset >= 0 ? sr.offset : null })

  /** The kept records of a flow that stays open, their text read back from the files where needed. */
  function pendingRecords(f: OpenFlow): PendingRecord[] {
    const out: PendingRecord[] = []
    const fds = new Map<string, number>()
    try {
      for (let i = 0; i < f.files.length; i++) {
        let text = f.texts[i]
        const file = f.files[i]!
        if (text === undefined) {
          let fd = fds.get(file)
          if (fd === undefined) fds.set(file, (fd = openSync(file, 'r')))
          const buf = Buffer.allocUnsafe(f.sizes[i]!)
          let got = 0
          while (got < buf.length) {
            const n = readSync(fd, buf, got, buf.length - got, f.offsets[i]! + got)
            if (n === 0) break
            got += n
          }
          text = buf.toString('utf8', 0, got)
        }
        out.push({ flow_id: f.id, record: text, file: file === '' ? null : file, line: f.lines[i]! > 0 ? f.lines[i]! : null, offset: f.offsets[i]! >= 0 ? f.offsets[i]! : null })
      }
    } finally {
      for (const fd of fds.values()) closeSync(fd)
    }
    return out
  }

  /** Where a kept record of a flow is, for a report. */
  const keptAt = (f: OpenFlow, i: number): SourcedRecord | undefined =>
    i < 0 ? undefined : { rec: { flow_id: f.id }, text: '', file: f.files[i]!, line: f.lines[i]!, offset: f.offsets[i]!, bytes: f.sizes[i]! }

  function feedInto(f: OpenFlow, sr: SourcedRecord, type: string, fresh: boolean): void | Promise<void> {
    if (fresh) f.lastSeen = now
    const rec = sr.rec
    if (type === 'flow') return // a second flow record for an open flow: a duplicate
    if (type === 'sse' || type === 'client_frame') {
      if (typeof rec.seq === 'number') {
        const seq = rec.seq
        if (Number.isInteger(seq) && seq >= 0 && seq < 1e7) {
          if (f.seen[seq] === true) return // the same line twice
          f.seen[seq] = true
        }
        f.count++
      }
      if (type === 'client_frame') f.sawClientFrame = true
      keep(f, sr)
      toLedger(sr)
      // The lines a held flow_end announced are all here now: the flow can end.
      const held = f.heldEnd
      if (held !== undefined && typeof held.rec.events === 'number' && f.count >= held.rec.events) return endFlow(f, held)
      return
    }
    // flow_end: wait (a while) for lines it announced that were not read yet.
    const events = rec.events
    if (typeof events === 'number' && f.count < events) {
      const since = f.heldSince ?? now
      if (now - since < holdEndMs) {
        f.heldEnd = sr
        f.heldSince = since
        return
      }
    }
    return endFlow(f, sr)
  }

  function feedRecord(sr: SourcedRecord, fresh: boolean, flowState?: Pick<PendingFlow, 'last_seen_ms' | 'held_since_ms'>): void | Promise<void> {
    records++
    const rec = sr.rec
    const type = rec.type
    if (typeof type !== 'string') return problem('INVALID_RECORD', 'record without a string "type"', sr)
    // A record of a newer schema goes on to the ledger, which reads what it knows and reports it.
    if (!FLOW_TYPES.has(type)) {
      if (type === 'sink_gap') return // a Redis sink's notice: the files hold every record
      return problem('UNKNOWN_TYPE', `unknown record type ${JSON.stringify(type)}: skipped`, sr)
    }
    const id = rec.flow_id
    if (typeof id !== 'string' || id === '') return problem('INVALID_RECORD', `${type} record without a flow_id`, sr)
    let f = open.get(id)
    if (f === undefined) {
      if (done.has(id)) return // a record of a flow that already ended in this update: a duplicate
      if (type !== 'flow') {
        // Its flow record may still come (hold it), or was indexed earlier, or is lost.
        let list = orphans.get(id)
        if (list === undefined) orphans.set(id, (list = []))
        if (orphanCount < maxOrphans) {
          list.push(sr)
          orphanCount++
        }
        return
      }
      f = { id, files: [], offsets: [], sizes: [], lines: [], texts: [], seen: [], count: 0, lastSeen: flowState?.last_seen_ms ?? now, heldEnd: undefined, heldSince: flowState?.held_since_ms ?? null, sawClientFrame: false }
      if (fresh) f.lastSeen = now
      open.set(id, f)
      keep(f, sr)
      const ref = refIn(rec.request_body)
      const fed = ref !== undefined && options.captureDir !== undefined ? withBody(sr, 'request_body', ref).then((r) => toLedger(sr, r)) : toLedger(sr)
      const held = orphans.get(id)
      if (held === undefined) return fed
      // Records that came before their flow record: now they can go.
      orphans.delete(id)
      orphanCount -= held.length
      const rest = async (): Promise<void> => {
        for (const h of held) {
          const p = feedRecord(h, true)
          if (p) await p
        }
      }
      return fed ? fed.then(rest) : rest()
    }
    return feedInto(f, sr, type, fresh)
  }

  return {
    feed: (sr) => feedRecord(sr, true),
    async refeed(p) {
      for (const r of p.records) {
        let rec: unknown
        try {
          rec = JSON.parse(r.record)
        } catch {
          continue // written by this indexer from a line that parsed: cannot happen
        }
        // Its text is at hand: kept as text (bytes 0), not as a place in a file that may have moved.
        const sr: SourcedRecord = { rec: rec as Record<string, unknown>, text: r.record, file: r.file ?? '', line: r.line ?? 0, offset: r.offset ?? -1, bytes: 0 }
        const fed = feedRecord(sr, false, p)
        if (fed) await fed
      }
      records -= p.records.length
    },
    async finish() {
      const pending: PendingFlow[] = []
      for (const f of [...open.values()]) {
        if (f.heldEnd !== undefined && (options.final || f.heldSince === null || now - f.heldSince >= holdEndMs)) {
          // Waited long enough for the missing lines: end it with what there is.
          const p = endFlow(f, f.heldEnd)
          if (p) await p
          continue
        }
        if (f.heldEnd === undefined && now - f.lastSeen >= staleMs) {
          problem('FLOW_WITHOUT_END', `flow ${f.id} has no flow_end and no record for ${Math.round((now - f.lastSeen) / 60_000)} min: indexed as it is (truncated)`,
            keptAt(f, f.files.length - 1), f.id)
          open.delete(f.id)
          continue
        }
        const recs = pendingRecords(f)
        if (f.heldEnd !== undefined) recs.push(pendingOf(f.id, f.heldEnd))
        pending.push({ flow_id: f.id, records: recs, last_seen_ms: f.lastSeen, held_since_ms: f.heldSince })
      }
      // Records whose flow record never came: the ledger assembles their flow from what they say
      // (its start is its earliest record's time). The commit reports each such flow
      // (NO_FLOW_RECORD, where its first record was read), or drops it quietly when the index
      // already holds the flow (a duplicate).
      for (const list of orphans.values()) {
        const sawFrame = list.some((sr) => sr.rec.type === 'client_frame')
        for (const sr of list) {
          if (sr.rec.type === 'flow_end' && options.captureDir !== undefined && ((typeof sr.rec.client_frames === 'string' && !sawFrame) || refIn(sr.rec.body) !== undefined)) {
            await endWithRefs({ sawClientFrame: sawFrame }, sr)
          } else toLedger(sr)
        }
      }
      // Flows still open (pending or just given up) become calls as they are; pending ones are
      // replaced when they are fed again.
      ledger.end()
      return {
        pending,
        orphans: [...orphans].map(([flow_id, list]) => ({ flow_id, records: list.length, first: list[0]! })).filter((o) => o.first !== undefined),
        records,
      }
    },
  }
}
