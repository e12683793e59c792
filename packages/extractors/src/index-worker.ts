/**
 * Worker thread entry of an index update: runs one shard (see shard-run.ts) and posts its result.
 * Built as its own entry (dist/index-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runShard } from './shard-run.js'
import type { ShardJob } from './shard-run.js'

const fail = (e: unknown): void => parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) })
runShard(workerData as ShardJob).then((result) => parentPort!.postMessage({ ok: true, result }), fail)
