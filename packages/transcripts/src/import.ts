import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Worker } from 'node:worker_threads'
import type { CompactionEvent, ModelCall } from '@agenttap/ledger'
import { TranscriptError } from './errors.js'
import { addCall, importFiles, noTraps } from './import-files.js'
import type { ImportFilesOptions } from './import-files.js'
import type { FileCursor, ImportResult, ImportSink, TranscriptFile } from './types.js'

/**
 * An import over many files: the files are read by this thread and worker threads (one thread
 * per core, up to `threads`), each taking the next unit of files from a shared queue, and the
 * results merged — Claude pieces of one call by the same rule as within a file (a resumed
 * session copies lines into a new file, so the same call can be read by two threads).
 */

/** Options of {@link importTranscripts}. */
export interface ImportOptions extends ImportFilesOptions {
  /** Worker threads. @defaultValue available cores (at most 8) */
  threads?: number
  /** Below this many new bytes the import runs on this thread. @defaultValue 8 MiB */
  workerMinBytes?: number
  /** Hand the calls to this module on the thread that read them instead of returning them. */
  sink?: ImportSink
  /**
   * Workers started ahead ({@link startImportWorkers}): used instead of new ones (as many as the
   * import runs; the rest, or all when it runs on this thread, are stopped).
   */
  workers?: ImportWorkers
  /**
   * Told the new bytes of the files read so far and in all (`bytes`, `total`), on this thread, as
   * each file is done (this thread's and the workers', whose figures they keep in a shared
   * buffer): a long import keeps this thread busy, so a display draws from here.
   */
  onProgress?: (bytes: number, total: number) => void
}

/** Hands a result's calls to its sink (on the thread that read them). */
export async function sinkResult(r: ImportResult, sink: ImportSink | undefined): Promise<ImportResult> {
  if (sink === undefined) return r
  const mod = (await import(sink.module)) as { sinkImport?: (r: ImportResult, o: unknown) => unknown }
  if (typeof mod.sinkImport !== 'function') throw new TranscriptError('INVALID_OPTION', `sink module ${sink.module} exports no sinkImport function`)
  const out = await mod.sinkImport(r, sink.options)
  const { rows: _rows, ...rest } = r
  return { ...rest, calls: [], sunk: [out] }
}

/** Cursors at the start of each file (a first import). */
export function startCursors(files: TranscriptFile[]): FileCursor[] {
  return files.map((file) => ({ file, offset: 0, line: 0 }))
}

/** The project dir of a Claude file: `<project>/<session>.jsonl`, `<project>/<session>/subagents/agent-<id>.jsonl`. */
function claudeProject(f: TranscriptFile): string {
  return f.agent !== undefined ? dirname(dirname(dirname(f.path))) : dirname(f.path)
}

function workerScript(): URL | undefined {
  for (const rel of ['./import-worker.js', '../dist/import-worker.js']) {
    const u = new URL(rel, import.meta.url)
    if (existsSync(fileURLToPath(u))) return u
  }
  return undefined
}

/**
 * The work of a parallel import: units of files (a Claude project, a Codex rollout), largest
 * first, and a shared counter of the next unit to take. Every thread (this one and the workers)
 * takes the next unit when it is done with one, so the threads finish together whatever each
 * one's start-up time and share of the cores.
 */
export interface ImportQueue {
  units: FileCursor[][]
  /** `[0]`: the next unit to take, `[1]`: the next lead unit (Atomics). */
  next: Int32Array
  /**
   * Small units of the other kind than the queue's first (e.g. a Codex rollout when Claude
   * projects come first), one taken by each thread before the queue: its code then learns both
   * formats before it is optimized. Read only from the queue's end, every call site met a
   * second format once optimized for the first one, and the whole reader (both threads) was
   * thrown away and optimized again.
   */
  lead: FileCursor[][]
}

/** The cursors of the units this thread takes from `queue`, one unit at a time. */
export function* takeUnits(queue: ImportQueue): Generator<FileCursor> {
  const lead = (): FileCursor[] | undefined => queue.lead[Atomics.add(queue.next, 1, 1)]
  const first = lead()
  if (first !== undefined) yield* first
  for (;;) {
    const i = Atomics.add(queue.next, 0, 1)
    if (i >= queue.units.length) break
    yield* queue.units[i]!
  }
  // The lead units no thread started with (fewer threads than leads).
  for (let u = lead(); u !== undefined; u = lead()) yield* u
}

/**
 * The cursors of `it`, each counted as done (its new bytes added to `slots[slot]`, then `tick`
 * called) when the reader asks for the next one: the progress of one thread's import.
 */
export function* counted(it: Iterable<FileCursor>, slots: Float64Array | undefined, slot: number, tick?: () => void): Generator<FileCursor> {
  for (const c of it) {
    yield c
    if (slots !== undefined) slots[slot] = slots[slot]! + Math.max(0, c.file.size - c.offset)
    tick?.()
  }
}

/** The queue of `units` (largest first) for `threads` threads; see {@link ImportQueue}. */
export function unitQueue(units: { bytes: number; cursors: FileCursor[] }[], threads: number): ImportQueue {
  const sorted = [...units].sort((a, b) => b.bytes - a.bytes)
  const kind = (u: { cursors: FileCursor[] }): string => u.cursors[0]!.file.kind
  const other = sorted.filter((u) => kind(u) !== kind(sorted[0]!))
  const lead = threads > 1 ? other.slice(-threads) : []
  return { units: sorted.filter((u) => !lead.includes(u)).map((u) => u.cursors), lead: lead.map((u) => u.cursors), next: new Int32Array(new SharedArrayBuffer(8)) }
}

/** worker_threads, loaded when a worker starts, not imported: a read on this thread (one new session) does not load it. */
const workerClass = (): typeof Worker => process.getBuiltinModule('node:worker_threads').Worker

/** A job for a worker: the queue it takes units from, how to read them, where the calls go. */
interface WorkerJob {
  queue: ImportQueue
  options: ImportFilesOptions
  sink: ImportSink | undefined
  /** Where the worker counts the bytes it has read (`progress[slot]`, shared), when progress is asked for. */
  progress?: Float64Array
  slot?: number
}

/**
 * Worker threads started before the caller knows what there is to read (e.g. before listing the
 * files): a worker takes a few hundred milliseconds to start and load its modules, and started
 * here it does so on another core while this thread lists. Hand them to
 * {@link importTranscripts} (`workers`), or {@link stopImportWorkers} when there is nothing to
 * read. They do not keep the process alive until they are given a job.
 */
export interface ImportWorkers {
  /** Workers waiting for a job (each takes one). */
  idle: Worker[]
}

/** Starts `count` import workers ahead of an import; see {@link ImportWorkers}. */
export function startImportWorkers(count: number): ImportWorkers {
  const script = workerScript()
  const idle: Worker[] = []
  if (script !== undefined) {
    for (let i = 0; i < count; i++) {
      const w = new (workerClass())(script)
      // One that fails to start (or is stopped) is simply not used.
      w.once('error', () => void 0)
      w.unref()
      idle.push(w)
    }
  }
  return { idle }
}

/** Stops the workers not given a job. */
export function stopImportWorkers(workers: ImportWorkers | undefined): void {
  for (const w of workers?.idle.splice(0) ?? []) void w.terminate()
}

function runWorker(script: URL, job: WorkerJob, ready: Worker | undefined): Promise<ImportResult> {
  return new Promise((resolve, reject) => {
    // A worker started ahead gets its job by message; a new one as its data.
    const w = ready ?? new (workerClass())(script, { workerData: job })
    if (ready !== undefined) {
      w.ref()
      w.postMessage(job)
    }
    let settled = false
    w.once('message', (m: { ok: boolean; result?: ImportResult; error?: string }) => {
      settled = true
      if (m.ok) resolve(m.result!)
      else reject(new Error(m.error))
    })
    w.once('error', (e) => {
      settled = true
      reject(e)
    })
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`transcript import worker exited with code ${code}`))
    })
  })
}

/** Merges the results of several groups into one. */
export function mergeResults(parts: ImportResult[]): ImportResult {
  if (parts.length === 1) return parts[0]!
  const calls = new Map<string, ModelCall>()
  const compactions = new Map<string, CompactionEvent>()
  const traps = noTraps()
  const sunk = parts.flatMap((p) => p.sunk ?? [])
  for (const p of parts) {
    for (const c of p.calls) addCall(calls, c, traps)
    for (const e of p.compactions) compactions.set(e.key, e)
    for (const [k, v] of Object.entries(p.traps)) traps[k as keyof typeof traps] += v
  }
  return {
    calls: [...calls.values()],
    compactions: [...compactions.values()],
    problems: parts.flatMap((p) => p.problems),
    cursors: parts.flatMap((p) => p.cursors),
    traps,
    session_traps: parts.flatMap((p) => p.session_traps),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    lines: parts.reduce((n, p) => n + p.lines, 0),
    parsed: parts.reduce((n, p) => n + p.parsed, 0),
    ...(sunk.length > 0 ? { sunk } : {}),
  }
}

/**
 * Reads the new bytes of every file (from its cursor), in parallel when there is a lot to read.
 * @example
 * ```ts
 * const files = findTranscripts(defaultTranscriptDirs(process.env))
 * const { calls, cursors } = await importTranscripts(startCursors(files))
 * // later, after the files grew: only the appended bytes are read
 * const next = await importTranscripts(cursors.map((c) => ({ ...c, file: files.find((f) => f.path === c.file.path) ?? c.file })))
 * ```
 */
export async function importTranscripts(cursors: FileCursor[], options: ImportOptions = {}): Promise<ImportResult> {
  for (const k of ['threads', 'workerMinBytes', 'maxLineBytes', 'chunkBytes'] as const) {
    const v = options[k]
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new TranscriptError('INVALID_OPTION', `${k} must be a whole number ≥ 1, got ${String(v)}`)
  }
  if (options.heads !== undefined && (!Number.isInteger(options.heads) || options.heads < 0)) throw new TranscriptError('INVALID_OPTION', `heads must be a whole number ≥ 0, got ${String(options.heads)}`)
  const todo = cursors.map((c) => ({ c, bytes: Math.max(0, c.file.size - c.offset) }))
  const total = todo.reduce((n, t) => n + t.bytes, 0)
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), 8, todo.length))
  const script = workerScript()
  const { threads: _t, workerMinBytes, sink, workers: ready, onProgress, ...fileOptions } = options
  // A sink that takes rows gets a usage-only read's calls as columns, not call objects.
  if (sink?.rows === true && options.usageOnly === true) fileOptions.rows = true
  // (A progress report that throws stops the reports, not the import.)
  let report = onProgress
  const progressOf = (slots: Float64Array | undefined): (() => void) | undefined => slots === undefined ? undefined : () => {
    if (report === undefined) return
    let done = 0
    for (const n of slots) done += n
    try {
      report(done, total)
    } catch {
      report = undefined
    }
  }
  if (threads === 1 || total < (workerMinBytes ?? 8 << 20) || script === undefined) {
    stopImportWorkers(ready)
    const slots = onProgress !== undefined ? new Float64Array(1) : undefined
    return sinkResult(importFiles(counted(cursors, slots, 0, progressOf(slots)), fileOptions), sink)
  }
  // The files of one Claude project stay together: a resumed session copies its lines into
  // another file of the same project, and pieces of one call read by one thread are merged
  // there (a sink's consumer then rarely sees a call in two parts). Largest unit first: the
  // threads take units as they go and finish together.
  const units = new Map<string, { bytes: number; cursors: FileCursor[] }>()
  for (const t of todo) {
    const key = t.c.file.kind === 'claude' ? claudeProject(t.c.file) : t.c.file.path
    const u = units.get(key) ?? units.set(key, { bytes: 0, cursors: [] }).get(key)!
    u.bytes += t.bytes
    u.cursors.push(t.c)
  }
  const nThreads = Math.min(threads, units.size)
  const queue = unitQueue([...units.values()], nThreads)
  // Progress: one slot per thread (this one's is 0), shared with the workers.
  const slots = onProgress !== undefined ? new Float64Array(new SharedArrayBuffer(8 * nThreads)) : undefined
  const tick = progressOf(slots)
  // This thread reads too (its modules are loaded; a worker's start-up is not), while
  // threads − 1 workers start and join in.
  const job: WorkerJob = { queue, options: fileOptions, sink }
  const workers = Array.from({ length: nThreads - 1 }, (_, i) => runWorker(script, slots !== undefined ? { ...job, progress: slots, slot: i + 1 } : job, ready?.idle.shift()))
  stopImportWorkers(ready)
  let own: ImportResult
  try {
    own = await sinkResult(importFiles(counted(takeUnits(queue), slots, 0, tick), fileOptions), sink)
  } catch (e) {
    // Let the workers run out of units, then report this thread's failure.
    Atomics.store(queue.next, 0, queue.units.length)
    Atomics.store(queue.next, 1, queue.lead.length)
    await Promise.allSettled(workers)
    throw e
  }
  // This thread is done: the workers' figures, every 100 ms until they are.
  const timer = tick !== undefined ? setInterval(tick, 100) : undefined
  let rest: ImportResult[]
  try {
    rest = await Promise.all(workers)
  } finally {
    clearInterval(timer)
  }
  tick?.()
  const merged = mergeResults([own, ...rest])
  // The cursors in the order they were given (the threads took the files in any order).
  const order = new Map(cursors.map((c, i) => [c.file.path, i]))
  merged.cursors.sort((a, b) => (order.get(a.file.path) ?? 0) - (order.get(b.file.path) ?? 0))
  return merged
}
