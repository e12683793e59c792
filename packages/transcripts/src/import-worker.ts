/**
 * Worker thread entry of a parallel import: reads one group of files (see import.ts) and posts
 * the result. Built as its own entry (dist/import-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { importFiles } from './import-files.js'
import type { ImportFilesOptions } from './import-files.js'
import type { FileCursor } from './types.js'

const job = workerData as { cursors: FileCursor[]; options: ImportFilesOptions }
try {
  parentPort!.postMessage({ ok: true, result: importFiles(job.cursors, job.options) })
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) })
}
