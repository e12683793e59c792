/**
 * Worker thread entry of a parallel import: reads units of files from the shared queue (see
 * import.ts) until it is empty and posts the result. Its job comes as its data, or, for a worker
 * started ahead of the import, as its first message. Built as its own entry (dist/import-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { importFiles } from './import-files.js'
import type { ImportFilesOptions } from './import-files.js'
import { counted, sinkResult, takeUnits } from './import.js'
import type { ImportQueue } from './import.js'
import type { ImportResult, ImportSink } from './types.js'

type Job = { queue: ImportQueue; options: ImportFilesOptions; sink?: ImportSink; progress?: Float64Array; slot?: number }

/**
 * The memory of the typed arrays a sink answered with (its columns, one level down): moved to the
 * main thread with the message instead of copied.
 */
function movable(r: ImportResult): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>()
  for (const part of r.sunk ?? []) {
    if (typeof part !== 'object' || part === null) continue
    for (const v of Object.values(part)) if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) out.add(v.buffer)
  }
  return [...out]
}

async function run(job: Job): Promise<void> {
  try {
    // With a sink the calls stay on this thread: only counts, cursors and the sink's answer are posted.
    const result = await sinkResult(importFiles(counted(takeUnits(job.queue), job.progress, job.slot ?? 0), job.options), job.sink)
    parentPort!.postMessage({ ok: true, result }, movable(result))
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) })
  }
}

// A worker started ahead of its import (startImportWorkers) waits for its job.
if (workerData !== null && workerData !== undefined) await run(workerData as Job)
else parentPort!.once('message', (job: Job) => void run(job))
