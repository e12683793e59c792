import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Options } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'
import type { BundledPackage } from './src/transcript-usage-bundle.ts'

/**
 * The packages bundled into dist/quick/transcript-usage.js, each resolved from the one before it
 * that depends on it (as the full CLI loads them), with the version found here at build time.
 */
const BUNDLED_FROM: readonly (readonly [string, string | null])[] = [
  ['@agenttap/extractors', null],
  ['@agenttap/transcripts', '@agenttap/extractors'],
  ['@agenttap/ledger', '@agenttap/extractors'],
  ['@agenttap/jsonl-io', '@agenttap/extractors'],
  ['@agenttap/session-extractor', '@agenttap/transcripts'],
  ['@agenttap/stream-normalizer', '@agenttap/transcripts'],
]

function bundled(): BundledPackage[] {
  const at = new Map<string | null, string>([[null, import.meta.url]])
  return BUNDLED_FROM.map(([name, from]) => {
    const pj = createRequire(at.get(from)!).resolve(`${name}/package.json`)
    at.set(name, pj)
    return [name, from, (JSON.parse(readFileSync(pj, 'utf8')) as { version: string }).version] as const
  })
}

/** Fails the build when the bundle would take in an @agenttap package the version check does not cover. */
const onlyListed: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'agenttap-bundled-packages',
  setup(build) {
    const names = new Set(BUNDLED_FROM.map(([n]) => n))
    build.onResolve({ filter: /^@agenttap\// }, (args) => {
      const name = args.path.split('/').slice(0, 2).join('/')
      return names.has(name) ? undefined : { errors: [{ text: `${name} would be bundled into dist/quick but is not in BUNDLED_FROM (tsup.config.ts)` }] }
    })
  },
}

export default [
  // Splitting: the bin loads quick.ts (prompts -n N) or index.ts (everything else) as chunks of their own.
  // dist/quick is the other config's.
  // The transcripts' dirs (defaultTranscriptDirs, a few lines) go into the chunk the bin loads:
  // not three module files of @agenttap/transcripts on every start.
  packageConfig(['src/index.ts', 'src/bin.ts'], { splitting: true, clean: ['!quick/**'], noExternal: [/^@agenttap\/transcripts\/dirs$/] }),
  // The warm transcripts path in one file (src/transcript-usage-bundle.ts): the @agenttap packages inside.
  packageConfig([], {
    entry: { 'transcript-usage': 'src/transcript-usage-bundle.ts' },
    outDir: 'dist/quick',
    dts: false,
    noExternal: [/^@agenttap\//],
    // A JSON string the entry parses (an array given to `define` becomes a module of its own).
    define: { __AGENTTAP_BUNDLED__: JSON.stringify(JSON.stringify(bundled())) },
    esbuildPlugins: [onlyListed],
  }),
]
