import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The bin tests run the built `dist/bin.js`: build it once, before any test file starts, when
 * a source is newer (building from several test files at once would race on `dist/`).
 */
export default function setup(): void {
  const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
  const bin = join(appDir, 'dist', 'bin.js')
  const newest = Math.max(...readdirSync(join(appDir, 'src')).map((f) => statSync(join(appDir, 'src', f)).mtimeMs))
  if (!existsSync(bin) || newest > statSync(bin).mtimeMs) execFileSync('pnpm', ['build'], { cwd: appDir, stdio: 'ignore' })
}
