import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The version of the package a module belongs to: the `version` of the nearest `package.json`
 * above the module's file (a bin in `dist/` finds its package's), as `--version` prints it.
 *
 * @param moduleUrl - `import.meta.url` of a module of the package
 * @example
 * const version = packageVersion(import.meta.url) // "0.1.0"
 */
export function packageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown; name?: unknown }
      if (typeof pkg.version === 'string' && typeof pkg.name === 'string') return pkg.version
    } catch {
      // no package.json here: look further up
    }
    const up = dirname(dir)
    if (up === dir) return '0.0.0'
    dir = up
  }
}
