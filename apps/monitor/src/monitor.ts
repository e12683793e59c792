import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import type { Writable } from 'node:stream'
import { validateRecord, type CaptureRecord, type JsonlError } from '@agenttap/jsonl-io'
import { sanitizeText, type CanonicalRecord } from '@agenttap/flow-fsm'
import { MonitorError } from './errors.js'
import { createRenderPipeline, type MonitorJsonEvent, type RenderPipelineStats } from './render-pipeline.js'
import { openSource, paced, resolveSourceFiles, type SourceItem } from './sources.js'
import { createTerminalWriter, type TerminalWriterStats } from './terminal-writer.js'

/** Display and filter options shared by every entry point. */
export interface MonitorOptions {
  /** Where the view goes (usually `process.stdout`). */
  output: Writable
  /** Warnings in `--json` mode (stdout holds only NDJSON there). @defaultValue process.stderr */
  errorOutput?: Writable
  /** Environment for `NO_COLOR`. @defaultValue process.env */
  env?: NodeJS.ProcessEnv
  /** Colours. @defaultValue output is a TTY and `NO_COLOR` is unset or empty */
  color?: boolean
  /** Terminal control (row erase for the backtrack). @defaultValue output is a TTY */
  ansi?: boolean
  /** Print unified events as NDJSON (one object per line, with `session_id` and `client`) instead of the view. */
  json?: boolean
  /** Prefix lines with the record time. */
  showTime?: boolean
  /** Show flow ids (header and a short prefix on every line). */
  showFlowId?: boolean
  /** Only tool calls (name + arguments). */
  functionOnly?: boolean
  /** The card on screen keeps it until silent this long. @defaultValue 2000 */
  sessionGuardMs?: number
  /** Shell-detection window in argument deltas (min 8). @defaultValue 8 */
  argsSubDeltas?: number
  /** Only sessions whose id starts with one of these. */
  sessions?: readonly string[]
  /** Only these clients (`claude-code`, `codex`, `unknown`). */
  clients?: readonly string[]
  /** Wait this long after a stream's last event for its flow_end record. @defaultValue 1000 */
  flowEndGraceMs?: number
  /** A silent STREAMING flow is shown as dead after this long. @defaultValue 120000 */
  idleMs?: number
  /** Timer period for idle checks and the session guard. @defaultValue 250 */
  tickMs?: number
  /**
   * Live mode: when the terminal falls behind, coalesce and past `maxPendingChars` skip the
   * oldest output rather than slow the input down. Off: wait for the terminal (nothing is
   * skipped; right for replays and files). @defaultValue true
   */
  keepUp?: boolean
  /** @defaultValue 1048576 */
  maxPendingChars?: number
  /** Clock. @defaultValue Date.now */
  now?: () => number
  /**
   * Diagnostics that do not belong on the view: malformed stream data inside records
   * (NormalizerError), lifecycle defects (FlowFsmError). The CLI logs them with pino on
   * `--verbose`.
   */
  onDiagnostic?(e: Error): void
  /** Stops the monitor; it then shows what is buffered and resolves. */
  signal?: AbortSignal
}

/** Counters of a monitor run. */
export interface MonitorStats extends RenderPipelineStats {
  /** Lines skipped as malformed JSON or not canonical records. */
  warnings: number
  writer: TerminalWriterStats
}

/** A monitor you push records into. See {@link createMonitor}. */
export interface Monitor {
  /** One parsed value (a canonical record, validated here) and where it came from. */
  push(value: unknown, where?: { line?: number; file?: string }): void
  /**
   * A reader's error (malformed line, truncation, rotation): shown once per line, dim. Readers
   * that report errors before the records preceding them are pushed get their warnings held
   * until those records are shown; pass `ordered` when the error is already in its place.
   */
  warn(err: JsonlError | Error, opts?: { ordered?: boolean }): void
  /** An informational dim line (not a card), e.g. what is being watched. */
  note(text: string): void
  /** Applies the clock now (a timer also does, every `tickMs`). */
  tick(): void
  /** Resolves when the output has room (backpressure for lossless sources). */
  room(): Promise<void>
  /**
   * Ends the input: open flows end (shown as incomplete), buffered cards and the output are
   * flushed. With `stopped` (the viewer quit, the input did not end) open flows are left as they
   * are: only buffered output is shown.
   */
  close(opts?: { stopped?: boolean }): Promise<MonitorStats>
  readonly stats: MonitorStats
}

function colorDefault(output: Writable, env: NodeJS.ProcessEnv): boolean {
  const isTty = (output as { isTTY?: boolean }).isTTY === true
  return isTty && (env.NO_COLOR === undefined || env.NO_COLOR === '')
}

/**
 * Creates a monitor: a push API over the render pipeline and the terminal writer. `runMonitor`
 * and `attachMonitor` are built on it; use it directly to feed records from your own loop.
 *
 * @example
 * ```ts
 * const m = createMonitor({ output: process.stdout })
 * m.push({ v: 1, type: 'sse', ts, flow_id, session_id, seq: 0, data: '{"type":"ping"}' })
 * await m.close()
 * ```
 */
export function createMonitor(opts: MonitorOptions): Monitor {
  if (!opts || !opts.output || typeof (opts.output as { write?: unknown }).write !== 'function') {
    throw new MonitorError('INVALID_OPTION', 'option output: expected a writable stream (e.g. process.stdout)')
  }
  const env = opts.env ?? process.env
  const output = opts.output
  const errorOutput = opts.errorOutput ?? process.stderr
  const json = opts.json ?? false
  const keepUp = opts.keepUp ?? true
  const isTty = (output as { isTTY?: boolean }).isTTY === true
  for (const [k, v] of [['sessionGuardMs', opts.sessionGuardMs], ['flowEndGraceMs', opts.flowEndGraceMs], ['idleMs', opts.idleMs], ['tickMs', opts.tickMs]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new MonitorError('INVALID_OPTION', `option ${k}: expected a number of milliseconds >= 0, received ${String(v)}`)
    }
  }
  if (opts.argsSubDeltas !== undefined && (!Number.isInteger(opts.argsSubDeltas) || opts.argsSubDeltas < 8)) {
    throw new MonitorError(
      'INVALID_OPTION',
      `option argsSubDeltas: expected an integer >= 8 (providers split the key and the command over several deltas), received ${String(opts.argsSubDeltas)}`,
    )
  }

  let pipelineRef: { lastRecordTime: number } | undefined
  const writer = createTerminalWriter({
    output,
    color: opts.color ?? colorDefault(output, env),
    ansi: opts.ansi ?? isTty,
    showTime: opts.showTime ?? false,
    showFlowId: opts.showFlowId ?? false,
    time: () => pipelineRef?.lastRecordTime || Date.now(),
    maxPendingChars: keepUp ? (opts.maxPendingChars ?? 1024 * 1024) : Number.POSITIVE_INFINITY,
  })

  // --json: NDJSON lines batched per event-loop turn; lossless (jq users want every event).
  let jsonLines: string[] = []
  let jsonScheduled = false
  let jsonBehind = false
  const flushJson = () => {
    jsonScheduled = false
    if (jsonLines.length === 0) return
    const s = jsonLines.join('')
    jsonLines = []
    if (!output.write(s) && !jsonBehind) {
      jsonBehind = true
      output.once('drain', () => {
        jsonBehind = false
      })
    }
  }
  const onJson = json
    ? (e: MonitorJsonEvent) => {
        jsonLines.push(JSON.stringify(e) + '\n')
        if (jsonLines.length >= 4096) flushJson()
        else if (!jsonScheduled) {
          jsonScheduled = true
          setImmediate(flushJson)
        }
      }
    : undefined

  const pipeline = createRenderPipeline({
    onOps: (ops) => {
      if (ops.length > 0) writer.write(ops)
    },
    ...(onJson ? { onJson } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.sessionGuardMs !== undefined ? { sessionGuardMs: opts.sessionGuardMs } : {}),
    ...(opts.argsSubDeltas !== undefined ? { argsSubDeltas: opts.argsSubDeltas } : {}),
    ...(opts.functionOnly ? { functionOnly: true } : {}),
    ...(opts.sessions ? { sessions: opts.sessions } : {}),
    ...(opts.clients ? { clients: opts.clients } : {}),
    ...(opts.flowEndGraceMs !== undefined ? { flowEndGraceMs: opts.flowEndGraceMs } : {}),
    ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}),
    ...(opts.onDiagnostic ? { onDiagnostic: opts.onDiagnostic } : {}),
    ...((opts.ansi ?? isTty) ? {} : { preview: false }),
    ...(isTty
      ? {
          previewChars: () => {
            const cols = (output as { columns?: number }).columns ?? 80
            // room for the line prefix (time, flow id) and the tool name
            return cols - (opts.showTime ? 13 : 0) - (opts.showFlowId ? 13 : 0) - 40
          },
        }
      : {}),
  })
  pipelineRef = pipeline

  // Each malformed line is reported once, even if a reader meets it again (re-follow).
  const reported = new Set<string>()
  let warnings = 0
  const report = (key: string, raw: string) => {
    if (reported.has(key)) return
    // Reader messages can quote the bad bytes (JSON.parse's message does): keep them inert.
    const text = sanitizeText(raw)
    reported.add(key)
    if (reported.size > 10_000) reported.clear()
    warnings++
    if (json) errorOutput.write(`${text}\n`)
    else writer.notice(text, 'dim')
  }

  // Readers report a malformed line as soon as they parse its chunk, before they yield the good
  // records of that chunk; hold the warning until the records before it have been shown.
  let held: { file: string; line: number; key: string; text: string; at: number }[] = []
  const release = (file: string | undefined, line: number | undefined, all: boolean) => {
    if (held.length === 0) return
    const keep: typeof held = []
    const t = Date.now()
    for (const w of held) {
      const due = all || (file !== undefined && w.file === file && line !== undefined && w.line < line) || t - w.at > 1000
      if (due) report(w.key, w.text)
      else keep.push(w)
    }
    held = keep
  }

  const timer = setInterval(() => {
    release(undefined, undefined, false)
    pipeline.tick()
  }, opts.tickMs ?? 250)
  timer.unref?.()
  let closed: Promise<MonitorStats> | undefined

  const stats = (): MonitorStats => ({ ...pipeline.stats, warnings, writer: { ...writer.stats } })

  return {
    push(value, where) {
      if (held.length > 0) release(where?.file, where?.line, false)
      const v = validateRecord(value)
      if (!v.ok) {
        const loc = where?.line !== undefined ? `${where.file ? basename(where.file) : 'input'}:${where.line}` : 'record'
        report(`${where?.file ?? ''}:${where?.line ?? Math.random()}:invalid`, `⚠ ${loc}: skipped, not a capture record: ${v.error}`)
        return
      }
      pipeline.record(v.record as unknown as CanonicalRecord)
    },
    warn(err, wopts) {
      const e = err as Partial<JsonlError>
      const key = `${e.file ?? ''}:${e.line ?? ''}:${e.code ?? err.message}`
      const code = e.code
      const notice = code === 'FILE_TRUNCATED' || code === 'FILE_ROTATED'
      const text = `${notice ? 'ℹ' : '⚠'} ${err.message}`
      if (wopts?.ordered || notice || !e.line || held.length > 1000) report(notice ? `${key}:${Date.now()}` : key, text)
      else held.push({ file: e.file ?? '', line: e.line, key, text, at: Date.now() })
    },
    note(text) {
      if (json) errorOutput.write(`${text}\n`)
      else writer.notice(text, 'dim')
    },
    tick() {
      release(undefined, undefined, false)
      pipeline.tick()
    },
    async room() {
      if (json) {
        flushJson()
        while (jsonBehind) await new Promise<void>((r) => output.once('drain', () => r()))
        return
      }
      if (writer.behind || writer.pending.chars > 256 * 1024) await writer.room()
    },
    close(copts) {
      closed ??= (async () => {
        clearInterval(timer)
        release(undefined, undefined, true)
        if (copts?.stopped) pipeline.stop()
        else pipeline.end()
        if (json) {
          flushJson()
          while (jsonBehind) await new Promise<void>((r) => output.once('drain', () => r()))
        }
        await writer.end()
        return stats()
      })()
      return closed
    },
    get stats() {
      return stats()
    },
  }
}

/** Options of {@link runMonitor}. */
export interface RunMonitorOptions extends MonitorOptions {
  /**
   * What to read: parsed records (any async iterable, e.g. from a proxy in the same process;
   * an array yielded is taken as a batch of records), a capture file or log directory path, or
   * `-` for stdin.
   */
  source: AsyncIterable<unknown> | string
  /** Follow a file as it grows. @defaultValue true for paths, false with `replay` */
  follow?: boolean
  /** Following: start at the beginning of the file instead of its end. */
  fromStart?: boolean
  /** Read `sse_flows.jsonl` / `sse_flow_ends.jsonl` beside an `sse_lines.jsonl`. @defaultValue true */
  siblings?: boolean
  /** Read a finished capture from the start, at its recorded pace (or `delayMs`), then stop. */
  replay?: boolean
  /** Replay: fixed delay per record in ms (0: as fast as possible). */
  delayMs?: number
  /** Replay at recorded pace: speed factor. @defaultValue 1 */
  speed?: number
  /** Replay at recorded pace: longest pause in ms. @defaultValue 2000 */
  maxGapMs?: number
  /** Poll interval of followed files. @defaultValue 250 */
  pollMs?: number
  /** Start with a dim line saying what is read (the CLI shows it on a terminal). */
  banner?: boolean
}

function isItem(x: unknown): x is SourceItem {
  return typeof x === 'object' && x !== null && 'value' in x && !('type' in x)
}

/**
 * Runs the monitor over a source until it ends (file read, stdin closed, iterable done) or
 * `signal` aborts, and resolves with its counters. Following a file never ends by itself.
 *
 * @example
 * ```ts
 * const ac = new AbortController()
 * process.on('SIGINT', () => ac.abort())
 * await runMonitor({ source: '/home/me/centralized-logs', output: process.stdout, signal: ac.signal })
 * ```
 */
export async function runMonitor(opts: RunMonitorOptions): Promise<MonitorStats> {
  return run(opts, opts.signal)
}

/**
 * `signal` stops reading at once; `stopSignal` (attach) only marks the end as a stop (open
 * streams are not declared dead) and leaves it to the source to end.
 */
async function run(opts: RunMonitorOptions, stopSignal: AbortSignal | undefined): Promise<MonitorStats> {
  const signal = opts.signal
  const isPath = typeof opts.source === 'string'
  const replay = opts.replay ?? false
  const followFiles = isPath && opts.source !== '-' && (opts.follow ?? !replay)
  const keepUp = opts.keepUp ?? (isPath ? followFiles : true)
  const monitor = createMonitor({ ...opts, keepUp })

  let src: AsyncIterable<unknown>
  // Items of a single file come without their file name (saves a layer per record).
  let soleFile: string | undefined
  if (typeof opts.source === 'string') {
    const files = opts.source === '-' ? ['-'] : resolveSourceFiles(opts.source, { siblings: opts.siblings ?? true, follow: followFiles })
    if (files.length === 1) soleFile = files[0] === '-' ? 'stdin' : files[0]
    if (opts.banner) {
      const what = files[0] === '-' ? 'stdin' : files.join(' + ')
      const waiting = followFiles && !existsSync(files[0] as string) ? ' (not there yet: waiting for it; is the proxy running?)' : ''
      monitor.note(`agenttap-monitor · ${followFiles ? 'following' : 'reading'} ${what}${waiting}${followFiles ? ' · Ctrl-C to stop' : ''}`)
    }
    try {
      src = openSource(files, {
        follow: followFiles,
        fromStart: opts.fromStart ?? false,
        onError: (e) => monitor.warn(e),
        ...(signal ? { signal } : {}),
        ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
      })
    } catch (err) {
      // Missing file: stop the monitor's timer and flush the banner before reporting.
      await monitor.close()
      throw err
    }
  } else src = opts.source
  // `--delay-ms 0`: as fast as possible, no pacing layer at all.
  if ((replay || opts.delayMs !== undefined) && opts.delayMs !== 0) {
    const paceOpts: { delayMs?: number; speed?: number; maxGapMs?: number; signal?: AbortSignal } = {}
    if (opts.delayMs !== undefined) paceOpts.delayMs = opts.delayMs
    if (opts.speed !== undefined) paceOpts.speed = opts.speed
    if (opts.maxGapMs !== undefined) paceOpts.maxGapMs = opts.maxGapMs
    if (signal) paceOpts.signal = signal
    src = paced(toItems(src), paceOpts)
  }

  const handle = (x: unknown): void => {
    if (!isItem(x)) return monitor.push(x)
    if (x.error) return monitor.warn(x.error, { ordered: true })
    if (x.file === undefined && soleFile !== undefined) x.file = soleFile
    monitor.push(x.value, x)
  }
  let n = 0
  try {
    for await (const x of src) {
      if (signal?.aborted) break
      // Batches (arrays) come from file and stdin readers: one await per read chunk.
      if (Array.isArray(x)) {
        for (const it of x) handle(it)
        n += x.length
      } else {
        handle(x)
        n++
      }
      // Lossless sources (and --json, which never skips) wait for the output instead of queueing
      // without bound; a followed file is the best buffer there is.
      if ((!keepUp || opts.json) && n >= 256) {
        n = 0
        await monitor.room()
      }
    }
  } catch (err) {
    if (!signal?.aborted) {
      await monitor.close()
      const e = err as NodeJS.ErrnoException
      throw new MonitorError('SOURCE_ERROR', `cannot read ${typeof opts.source === 'string' ? opts.source : 'the source'}: ${e.message}`, { cause: err })
    }
  }
  return monitor.close({ stopped: stopSignal?.aborted === true })
}

async function* toItems(src: AsyncIterable<unknown>): AsyncGenerator<SourceItem> {
  for await (const x of src) {
    if (Array.isArray(x)) for (const it of x) yield isItem(it) ? it : { value: it }
    else yield isItem(x) ? x : { value: x }
  }
}

/** Handle of an attached monitor. */
export interface MonitorHandle {
  /** Resolves with the counters once the records end or `stop()` was called. */
  readonly done: Promise<MonitorStats>
  /** Stops watching: records arriving within 250 ms and buffered output are still shown. */
  stop(): void
}

/**
 * Attaches a live monitor to canonical records produced in the same process (e.g. by the proxy
 * in `pnpm start`): same view as the CLI, never slows the producer (live mode coalesces).
 *
 * @example
 * ```ts
 * const m = attachMonitor(hub.records(), { output: process.stdout, sessionGuardMs: 2000 })
 * // later
 * m.stop(); await m.done
 * ```
 */
export function attachMonitor(records: AsyncIterable<CaptureRecord | Record<string, unknown>>, opts: MonitorOptions): MonitorHandle {
  const ac = new AbortController()
  const outer = opts.signal
  if (outer) {
    if (outer.aborted) ac.abort()
    else outer.addEventListener('abort', () => ac.abort(), { once: true })
  }
  const { signal: _outer, ...rest } = opts
  const done = run({ ...rest, source: abortable(records, ac.signal), keepUp: opts.keepUp ?? true }, ac.signal)
  return { done, stop: () => ac.abort() }
}

/**
 * Ends iteration when the signal aborts, even while the producer has nothing to give. Records the
 * producer still delivers within `graceMs` of the abort (a proxy flushing the flow_end records of
 * its open flows as it stops) are taken first.
 */
async function* abortable<T>(src: AsyncIterable<T>, signal: AbortSignal, graceMs = 250): AsyncGenerator<T> {
  const it = src[Symbol.asyncIterator]()
  const stopped = new Promise<IteratorResult<T>>((resolve) => {
    const later = () => setTimeout(() => resolve({ done: true, value: undefined }), graceMs).unref?.()
    if (signal.aborted) later()
    else signal.addEventListener('abort', later, { once: true })
  })
  try {
    for (;;) {
      const r = await Promise.race([it.next(), stopped])
      if (r.done) return
      yield r.value
    }
  } finally {
    void it.return?.()
  }
}
