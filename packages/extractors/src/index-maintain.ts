import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { builtModule } from './built-module.js'
import type { IndexPaths } from './index-store.js'
import { readState } from './index-store.js'
import { MAX_DEFERRED } from './wire-append.js'
import { FACTS_MAX_SEGMENTS, factsTail } from './wire-facts.js'

/**
 * **Background maintenance** of a capture's index, as `git gc --auto` does for a repository.
 * A small append to a current index is read without DuckDB (wire-append.ts): into a segment of
 * the wire facts and a deferred dir that DuckDB commits on its next use. Left alone, that next
 * use is the run that finds the deferred appends at their cap (16) or the facts at their segment
 * cap (24): it pays DuckDB's open and the commits of every deferred append, or the facts written
 * whole — 1.2 s and 1.4 s instead of ~0.2 s on the 1 GiB benchmark capture (2.7 s when the
 * facts were written from the tables). With `maintainInBackground` (the CLI's default), the run whose append
 * takes either past half its cap answers as usual, then starts a detached process (this
 * package's `index-maintain-run.js`) that opens the index for writing — the deferred appends
 * committed, ~0.6 s for 8 of them there, under the index's lock like any other run — and then,
 * the lock released, writes the facts whole from their own segments (`compactIndex`,
 * `compactWireFactsUnlocked`: ~0.6–0.9 s more there, against ~1.9 s from the tables; done
 * whatever started it, so one maintenance leaves nothing for another soon after; put in place
 * under the lock with the segments appended meanwhile), so no later run meets a cap in steady use
 * and a run that comes meanwhile waits for the commit only (a facts mode not even that: it reads
 * its append into a view, wire-append.ts `viewAppend`).
 *
 * One at a time: the process is only started when it can create the marker file
 * (`maintaining`, in the index dir, holding its pid) and removes it when done; a marker older
 * than {@link MARKER_STALE_MS} (a process that died) is replaced.
 */

/** The maintenance starts once the deferred appends or the facts' segments reach half their caps. */
export const DEFERRED_COMMIT_AT = Math.ceil(MAX_DEFERRED / 2)
/** ... or once the facts have this many segments (updates through DuckDB add segments, not deferred appends). */
export const FACTS_COMPACT_AT = Math.ceil(FACTS_MAX_SEGMENTS / 2)
export const MAINTAIN_MARKER = 'maintaining'
const MARKER_STALE_MS = 10 * 60_000

/** Whether an index's deferred appends or wire facts have grown enough to be maintained. */
export function needsMaintenance(paths: IndexPaths): boolean {
  if ((readState(paths)?.deferred?.length ?? 0) >= DEFERRED_COMMIT_AT) return true
  return (factsTail(paths)?.segments ?? 0) >= FACTS_COMPACT_AT
}

/** Creates the marker (exclusively): false when another maintenance holds a fresh one. */
function claim(marker: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(marker, 'wx', 0o600)
      try {
        writeSync(fd, String(process.pid))
      } finally {
        closeSync(fd)
      }
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false
      try {
        if (Date.now() - statSync(marker).mtimeMs < MARKER_STALE_MS) return false
        rmSync(marker, { force: true })
      } catch {
        return false
      }
    }
  }
  return false
}

/**
 * Starts the background maintenance of the index at `paths` (the capture under `logDir`) when it
 * needs it and none is running; returns whether it started one. Never throws: the run that asks
 * has its answer already, and the next DuckDB use commits what is deferred anyway.
 */
export function maintainInBackground(paths: IndexPaths, logDir: string): boolean {
  try {
    if (!needsMaintenance(paths)) return false
    const script = builtModule('index-maintain-run.js')
    if (script === undefined) return false
    const marker = join(paths.dir, MAINTAIN_MARKER)
    if (!claim(marker)) return false
    try {
      const { spawn } = process.getBuiltinModule('node:child_process')
      const child = spawn(process.execPath, [fileURLToPath(script), logDir, marker], { detached: true, stdio: 'ignore', windowsHide: true })
      child.on('error', () => rmSync(marker, { force: true }))
      child.unref()
      return true
    } catch {
      rmSync(marker, { force: true })
      return false
    }
  } catch {
    return false
  }
}
