/**
 * The background maintenance process (index-maintain.ts): `node index-maintain-run.js <logDir>
 * <marker>`. Opens the capture's index for writing — the deferred appends are committed to DuckDB
 * — and writes its wire facts whole once the index is released (`close()`), then removes the marker. Its own lock wait is long: it
 * runs detached, and a run in the foreground goes first.
 */
import { rmSync } from 'node:fs'
import { createExtractor } from './extractor.js'

const [logDir, marker] = process.argv.slice(2)
try {
  if (logDir !== undefined) {
    const x = await createExtractor({ logDir, compactIndex: true, lockTimeoutMs: 10 * 60_000 })
    try {
      await x.refresh()
    } finally {
      x.close()
    }
  }
} catch {
  // Nothing to report to (detached): the next run that opens DuckDB commits what is deferred.
} finally {
  if (marker !== undefined) rmSync(marker, { force: true })
}
