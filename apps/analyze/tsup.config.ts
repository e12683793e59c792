import { readFileSync } from 'node:fs'
import { createRequire, isBuiltin } from 'node:module'
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

/**
 * Named imports of Node's builtins (`import { statSync } from 'fs'`, as esbuild writes them) become
 * `const { statSync } = process.getBuiltinModule('fs')`. An ESM import of a builtin builds its ES
 * module facade, which reads every export once: for `fs` that loads `fs.promises` and, through
 * the `ReadStream` getter, the stream modules — ~9 M of the ~425 M instructions of a warm
 * `daily` (callgrind), for a few functions it calls. The bin already needs
 * `process.getBuiltinModule` (Node ≥ 20.16; engines: ≥ 20.19).
 */
const NAMED_BUILTIN_IMPORT = /^import \{([^}]*)\} from (['"])([^'"]+)\2;\n/gm
const builtinsWithoutFacade: NonNullable<Options['plugins']>[number] = {
  name: 'agenttap-builtins-without-facade',
  renderChunk(code, info) {
    if (!info.path.endsWith('.js')) return undefined
    // An import is bound before any of the module's code runs, wherever it is written (esbuild
    // writes them in the sections of the modules it bundled, some initialized lazily): the
    // constants go to the top of the file (after a shebang), so none is read before it is set.
    const consts: string[] = []
    const rest = code.replace(NAMED_BUILTIN_IMPORT, (all, names: string, _quote: string, from: string) => {
      if (!isBuiltin(from)) return all
      consts.push(`const {${names.replace(/\b([\w$]+) as ([\w$]+)\b/g, '$1: $2')}} = process.getBuiltinModule(${JSON.stringify(from)});\n`)
      return ''
    })
    if (consts.length === 0) return undefined
    const shebang = /^#!.*\n/.exec(rest)?.[0] ?? ''
    return { code: shebang + consts.join('') + rest.slice(shebang.length) }
  },
}

export default [
  // Splitting: the bin loads quick.ts (prompts -n N) or index.ts (everything else) as chunks of their own.
  // dist/quick is the other config's.
  // The transcripts' dirs (defaultTranscriptDirs, a few lines) go into the chunk the bin loads:
  // not three module files of @agenttap/transcripts on every start.
  packageConfig(['src/index.ts', 'src/bin.ts'], { splitting: true, clean: ['!quick/**'], noExternal: [/^@agenttap\/transcripts\/dirs$/], plugins: [builtinsWithoutFacade] }),
  // The warm transcripts path in one file (src/transcript-usage-bundle.ts): the @agenttap packages inside.
  packageConfig([], {
    entry: { 'transcript-usage': 'src/transcript-usage-bundle.ts' },
    outDir: 'dist/quick',
    dts: false,
    noExternal: [/^@agenttap\//],
    // A JSON string the entry parses (an array given to `define` becomes a module of its own).
    define: { __AGENTTAP_BUNDLED__: JSON.stringify(JSON.stringify(bundled())) },
    esbuildPlugins: [onlyListed],
    plugins: [builtinsWithoutFacade],
  }),
]
