/**
 * `@agenttap/extractors/transcript-usage` bundled into one file with the packages it loads (the
 * importer of `@agenttap/transcripts` and what it imports, the ledger's prices, jsonl-io): built
 * by its own tsup config as `dist/quick/transcript-usage.js` for quick.ts's warm
 * `daily`/`usage`/`cost --source transcripts`. About twenty module files (each resolved, read and
 * compiled on its own, through the loader's promise chain) become one (issue 19).
 *
 * It is only used when it is the code the full CLI would run: the bundled packages' versions
 * ({@link BUNDLED}, written in at build time) are the installed ones, resolved as the full CLI
 * resolves them (each from the package that depends on it); else quick.ts loads the package
 * itself. It reads only on this thread (`onThisThread`): the importer's worker threads load the
 * installed package's worker script, not this bundle's copy of the importer, so an update that
 * needs them (no summary yet, a rebuild, 8 MiB of new bytes) is handed to the package too.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export { USAGE_SUMMARY_FILE, transcriptUsageNdjson } from '@agenttap/extractors/transcript-usage'

/** One bundled package: its name, the bundled package that depends on it (none: this app), the version bundled. */
export type BundledPackage = readonly [name: string, from: string | null, version: string]

declare const __AGENTTAP_BUNDLED__: string
/** The packages in this bundle (tsup.config.ts `define`), each after the one it is resolved from. */
export const BUNDLED: readonly BundledPackage[] = JSON.parse(__AGENTTAP_BUNDLED__) as BundledPackage[]

/**
 * The `package.json` of package `name` as Node resolves it from the module or `package.json` at
 * `from` (a path): the first `node_modules/<name>` up from its dir, its real path (a package
 * manager's symlink followed, as Node's resolver does). Undefined when there is none. By hand:
 * `createRequire(…).resolve` sets up the CommonJS loader first, ~7 ms of a warm run.
 */
function packageJsonOf(name: string, from: string): string | undefined {
  for (let dir = dirname(from); ; ) {
    const pj = join(dir, 'node_modules', name, 'package.json')
    if (existsSync(pj)) return realpathSync.native(pj)
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

/**
 * Whether the installed packages are the bundled ones: each `package.json` resolved from its
 * dependent's (this module's for the first) has the bundled version. False when one cannot be
 * found or read.
 */
export function bundleCurrent(packages: readonly BundledPackage[] = BUNDLED): boolean {
  try {
    const at = new Map<string | null, string>([[null, realpathSync.native(fileURLToPath(import.meta.url))]])
    for (const [name, from, version] of packages) {
      const base = at.get(from)
      const pj = base === undefined ? undefined : packageJsonOf(name, base)
      if (pj === undefined || (JSON.parse(readFileSync(pj, 'utf8')) as { version?: unknown }).version !== version) return false
      at.set(name, pj)
    }
    return true
  } catch {
    return false
  }
}
