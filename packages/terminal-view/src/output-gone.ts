import type { Writable } from 'node:stream'

const broken = new WeakSet<Writable>()
const watched = new WeakSet<Writable>()

/**
 * Starts noticing when `out` fails (EPIPE: its reader went away). process.stdout reports a closed
 * pipe only as an 'error' event and never as `destroyed`, so the failure is remembered here. The
 * listener also keeps the failure from being thrown: a view never takes its process down.
 */
export function watchOutput(out: Writable): void {
  if (watched.has(out) || typeof out.on !== 'function') return
  watched.add(out)
  out.on('error', () => broken.add(out))
}

/** Whether a destination can no longer take writes (its reader went away: `| head`, a closed socket). */
export function outputGone(out: Writable): boolean {
  const s = out as { destroyed?: boolean; writableEnded?: boolean }
  return broken.has(out) || s.destroyed === true || s.writableEnded === true
}

/**
 * Resolves when `out` drains, or when it closes or fails: a destination whose reader went away
 * never drains, and waiting for it would leave the program pending forever.
 */
export function drainedOrGone(out: Writable): Promise<void> {
  if (outputGone(out)) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done)
      out.off('close', done)
      out.off('error', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
    out.on('error', done)
  })
}
