import { createRequire } from 'node:module'
import type * as Commander from 'commander'

let loaded: typeof Commander | undefined
const load = (): typeof Commander => (loaded ??= createRequire(import.meta.url)('commander') as typeof Commander)

/**
 * commander, loaded with `require` rather than `import`: it is CommonJS, and Node's ESM import of
 * a CommonJS module (its source lexed for export names, a module facade over it, commander's own
 * `esm.mjs` wrapper) costs ~8 CPU ms more at every start of a command than the plain require.
 * It is the same module instance either way (Node's CommonJS cache), so its classes and
 * `instanceof` agree with code that imports `commander`.
 *
 * Loaded on first use, not with this package: a command line an app parses without commander
 * (agenttap-analyze's mode commands, see its fast-args.ts) does not pay for loading it (~20 CPU
 * ms at a start, `child_process` included).
 *
 * @example
 * const program = new commander.Command('agenttap-analyze')
 */
export const commander: typeof Commander = new Proxy({} as typeof Commander, {
  get: (_t, key) => Reflect.get(load(), key),
  has: (_t, key) => Reflect.has(load(), key),
})
