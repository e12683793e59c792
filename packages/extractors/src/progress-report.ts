import type { IndexProgress } from './types.js'

/**
 * `ExtractorOptions.onProgress` made safe to call from an update: a report that throws (a display
 * gone) stops the reports, not the update. Undefined when no report was asked for.
 */
export function guardedProgress(given: ((p: IndexProgress) => void) | undefined): ((p: IndexProgress) => void) | undefined {
  if (given === undefined) return undefined
  let live = true
  return (p) => {
    if (!live) return
    try {
      given(p)
    } catch {
      live = false
    }
  }
}
