import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PKG = fileURLToPath(new URL('..', import.meta.url))

function newestSource(dir: string): number {
  let newest = 0
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) newest = Math.max(newest, newestSource(p))
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) newest = Math.max(newest, st.mtimeMs)
  }
  return newest
}

/** Builds dist/ (library, page bundle) when it is missing or older than src/. */
export default async function setup(): Promise<void> {
  const outputs = ['dist/index.js', 'dist/public/app.js'].map((p) => join(PKG, p))
  const src = newestSource(join(PKG, 'src'))
  if (outputs.every((p) => existsSync(p) && statSync(p).mtimeMs >= src)) return
  const { build } = await import('tsup')
  const cwd = process.cwd()
  process.chdir(PKG)
  try {
    await build({ config: join(PKG, 'tsup.config.ts'), silent: true })
  } finally {
    process.chdir(cwd)
  }
}
