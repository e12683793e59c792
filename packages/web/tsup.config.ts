import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

// Two builds: the Node library (shared config; leaves dist/public alone when cleaning) and
// the browser page bundled into dist/public/app.js, which the server reads at start.
const node = packageConfig(['src/index.ts'], { clean: ['!public/**'] })

export default defineConfig([
  ...(Array.isArray(node) ? node : [node as never]),
  {
    entry: { app: 'src/browser/app.ts' },
    outDir: 'dist/public',
    format: ['iife'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    dts: false,
    clean: true,
    splitting: false,
    outExtension: () => ({ js: '.js' }),
  },
])
