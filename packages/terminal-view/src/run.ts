import { existsSync } from 'node:fs'
import { openSource, paced, resolveSourceFiles, type SourceItem } from '@agenttap/capture-sources'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { TerminalViewError } from './errors.js'
import { createTerminalView } from './terminal-view.js'
import type { AttachedTerminalView, RunTerminalViewOptions, TerminalViewOptions, TerminalViewStats } from './types.js'

function isItem(x: unknown): x is SourceItem {
  return typeof x === 'object' && x !== null && 'value' in x && !('type' in x)
}

/**
 * Runs a terminal view over a source until it ends (file read, stdin closed, iterable done) or
 * `signal` aborts, and resolves with its counters. Following a file never ends by itself. The
 * signal is honoured between batches of records, so a stop (SIGTERM) takes effect at once even
 * in the middle of a large replay.
 *
 * @example
 * ```ts
 * const ac = new AbortController()
 * process.on('SIGINT', () => ac.abort())
 * await runTerminalView({ source: '/home/me/centralized-logs', output: process.stdout, signal: ac.signal })
 * ```
 */
export async function runTerminalView(opts: RunTerminalViewOptions): Promise<TerminalViewStats> {
  return run(opts, opts.signal)
}

/**
 * `signal` stops reading at once; `stopSignal` (attach) only marks the end as a stop (open
 * streams are not declared dead) and leaves it to the source to end.
 */
async function run(opts: RunTerminalViewOptions, stopSignal: AbortSignal | undefined): Promise<TerminalViewStats> {
  const signal = opts.signal
  const isPath = typeof opts.source === 'string'
  const replay = opts.replay ?? false
  const followFiles = isPath && opts.source !== '-' && (opts.follow ?? !replay)
  const keepUp = opts.keepUp ?? (isPath ? followFiles : true)
  const view = createTerminalView({ ...opts, keepUp })

  let src: AsyncIterable<unknown>
  // Items of a single file come without their file name (saves a layer per record).
  let soleFile: string | undefined
  if (typeof opts.source === 'string') {
    const files = opts.source === '-' ? ['-'] : resolveSourceFiles(opts.source, { siblings: opts.siblings ?? true, follow: followFiles })
    if (files.length === 1) soleFile = files[0] === '-' ? 'stdin' : files[0]
    if (opts.banner) {
      const what = files[0] === '-' ? 'stdin' : files.join(' + ')
      const waiting = followFiles && !existsSync(files[0] as string) ? ' (not there yet: waiting for it; is the proxy running?)' : ''
      view.note(`agenttap-monitor · ${followFiles ? 'following' : 'reading'} ${what}${waiting}${followFiles ? ' · Ctrl-C to stop' : ''}`)
    } else if (followFiles && !existsSync(files[0] as string)) {
      // No banner (stdout is a pipe or file): a wait for a file that is not there is still said, on stderr.
      ;(opts.errorOutput ?? process.stderr).write(`agenttap-monitor: waiting for ${files[0]}: not there yet (is the proxy running? --log-dir or a path names another capture)\n`)
    }
    try {
      src = openSource(files, {
        follow: followFiles,
        fromStart: opts.fromStart ?? false,
        onError: (e) => view.warn(e),
        ...(signal ? { signal } : {}),
        ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
        ...(opts.stdin ? { stdin: opts.stdin } : {}),
      })
    } catch (err) {
      // Missing file: stop the view's timer and flush the banner before reporting.
      await view.end()
      const e = err as Error
      throw new TerminalViewError('SOURCE_ERROR', e.message, { cause: err, ...('file' in e ? { file: (e as { file?: string }).file } : {}) })
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
    if (!isItem(x)) return view.feed(x)
    if (x.error) return view.warn(x.error, { ordered: true })
    if (x.file === undefined && soleFile !== undefined) x.file = soleFile
    view.feed(x.value, x)
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
        await view.room()
      }
    }
  } catch (err) {
    if (!signal?.aborted) {
      await view.end()
      const e = err as NodeJS.ErrnoException
      throw new TerminalViewError('SOURCE_ERROR', `cannot read ${typeof opts.source === 'string' ? opts.source : 'the source'}: ${e.message}`, { cause: err })
    }
  }
  // Stopped by the signal (Ctrl-C, SIGTERM): show what is buffered, declare nothing dead.
  return view.end({ stopped: stopSignal?.aborted === true })
}

async function* toItems(src: AsyncIterable<unknown>): AsyncGenerator<SourceItem> {
  for await (const x of src) {
    if (Array.isArray(x)) for (const it of x) yield isItem(it) ? it : { value: it }
    else yield isItem(x) ? x : { value: x }
  }
}

/**
 * Attaches a live terminal view to canonical records produced in the same process (the proxy in
 * `pnpm start`): same view as the CLI, never slows the producer (live mode coalesces). A failure
 * of the view never reaches the producer: inputs it fails on are reported through `onDiagnostic`
 * and skipped, and `done` resolves (with `undefined` if the view could not go on).
 *
 * @example
 * ```ts
 * const view = attachTerminalView(proxy.records({ signal }), { output: process.stdout, sessionGuardMs: 2000 })
 * // later
 * view.close(); await view.done
 * ```
 */
export function attachTerminalView(records: AsyncIterable<CaptureRecord | Record<string, unknown>>, opts: TerminalViewOptions): AttachedTerminalView {
  const ac = new AbortController()
  const outer = opts.signal
  if (outer) {
    if (outer.aborted) ac.abort()
    else outer.addEventListener('abort', () => ac.abort(), { once: true })
  }
  const { signal: _outer, ...rest } = opts
  const done = run({ ...rest, source: abortable(records, ac.signal), keepUp: opts.keepUp ?? true }, ac.signal).catch((err: unknown) => {
    opts.onDiagnostic?.(new TerminalViewError('VIEW_FAILED', `the live view stopped: ${(err as Error).message}`, { cause: err }))
    return undefined
  })
  return { done, close: () => ac.abort() }
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
