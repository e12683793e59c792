/**
 * Worker thread entry of an index update: runs one shard (see shard-run.ts) and posts its
 * result, or makes the wire facts' sections of a build (`{ facts }`, see facts-segment.ts).
 * Built as its own entry (dist/index-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { factsSections, ownedBuffers } from './facts-segment.js'
import type { FactsJob } from './facts-segment.js'
import { runShard } from './shard-run.js'
import type { ShardJob } from './shard-run.js'

const fail = (e: unknown): void => parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) })
const job = workerData as ShardJob | { facts: FactsJob }
if ('facts' in job) {
  try {
    // The sections are moved, not copied, to the thread that writes them (tens of MB for a big capture).
    const parts = factsSections(job.facts)
    parentPort!.postMessage({ ok: true, parts }, ownedBuffers(parts))
  } catch (e) {
    fail(e)
  }
} else {
  runShard(job).then((result) => parentPort!.postMessage({ ok: true, result }), fail)
}
