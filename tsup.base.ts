import { defineConfig, type Options } from 'tsup'

/**
 * The one shared tsup config: every package's `tsup.config.ts` only names its entries.
 * ESM only, Node 20 target, declarations, dependencies left external.
 */
export function packageConfig(entry: string[], extra: Options = {}) {
  const options: Options = {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    // No source maps: the sources are not published, and a map without them only weighs the tarball.
    sourcemap: false,
    clean: true,
    splitting: false,
    treeshake: true,
    ...extra,
  }
  return defineConfig(options)
}
