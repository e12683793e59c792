import { realpathSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ExtractError } from './errors.js'
import type { CreateLedger } from './flow-feeder.js'

/** The ledger module an index is built with: loading it, and the build an index records. */

export const DEFAULT_LEDGER = '@agenttap/ledger'

/** `createLedger` and `LEDGER_VERSION` of a ledger module. */
export async function loadLedgerModule(specifier: string): Promise<{ createLedger: CreateLedger; version: number }> {
  let m: Record<string, unknown>
  try {
    m = (await import(specifier)) as Record<string, unknown>
  } catch (e) {
    throw new ExtractError('LEDGER_UNAVAILABLE', `cannot load the ledger (${specifier}): ${(e as Error).message}`, { cause: e })
  }
  if (typeof m.createLedger !== 'function') {
    throw new ExtractError('LEDGER_UNAVAILABLE', `${specifier} has no createLedger: build @agenttap/ledger (pnpm --filter @agenttap/ledger build)`)
  }
  return { createLedger: m.createLedger as CreateLedger, version: typeof m.LEDGER_VERSION === 'number' ? m.LEDGER_VERSION : 1 }
}

/**
 * The ledger module's build, as its file's path, size and mtime: when it is the one the index
 * was built with, the index is current without loading the ledger (which costs more than the
 * whole query of a small mode).
 */
export function ledgerBuild(specifier: string): string {
  try {
    const url = import.meta.resolve(specifier)
    // The real path: the resolver may name the module through the package manager's symlink or
    // not, depending on what was loaded first (a fingerprint that flips rebuilds the index).
    // One realpath(3) call, not an lstat per path component.
    const path = url.startsWith('file:') ? realpathSync.native(fileURLToPath(url)) : url
    const st = statSync(path)
    return `${path}:${st.size}:${Math.floor(st.mtimeMs)}`
  } catch {
    return `${specifier}:unresolved`
  }
}
