import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * A module of this package that worker threads load by URL (`index-worker.js`, the transcript
 * sinks): next to this module in dist, or dist's copy when running from src (the tests).
 */
export function builtModule(file: string): URL | undefined {
  for (const rel of [`./${file}`, `../dist/${file}`]) {
    const u = new URL(rel, import.meta.url)
    if (existsSync(fileURLToPath(u))) return u
  }
  return undefined
}
