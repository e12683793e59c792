import { createRequire } from 'node:module'
import type * as Commander from 'commander'

/**
 * commander, loaded with `require` rather than `import`: it is CommonJS, and Node's ESM import of
 * a CommonJS module (its source lexed for export names, a module facade over it, commander's own
 * `esm.mjs` wrapper) costs ~8 CPU ms more at every start of a command than the plain require.
 * It is the same module instance either way (Node's CommonJS cache), so its classes and
 * `instanceof` agree with code that imports `commander`.
 *
 * @example
 * const program = new commander.Command('agenttap-analyze')
 */
export const commander: typeof Commander = createRequire(import.meta.url)('commander') as typeof Commander
