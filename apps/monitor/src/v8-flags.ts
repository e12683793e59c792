import { setFlagsFromString } from 'node:v8'

/**
 * Turns off V8's allocation-site pretenuring for this process. {@link main} calls it, so it
 * applies to the monitor's own process only (`agenttap-monitor`, `agenttap monitor`); the proxy,
 * which attaches the same view in its process, keeps V8's default.
 *
 * Why: V8 allocates the objects of an object or array literal in the old generation once it saw
 * nearly all of that literal's objects survive a scavenge. The monitor reads a capture in large
 * batches and keeps some of them waiting (a flows file's batch waits in the time merge while the
 * lines stream past), so early in a run some literal can see all its objects survive and be
 * pretenured, although most of its objects die young. From then on each of them is allocated in
 * the old generation, dies there, and keeps the young objects it points to alive through every
 * scavenge until the next full GC. Which literal, and whether it happens at all, depends on where
 * the scavenges fall: on the 100 MiB bench capture (244k events) it happened in about two runs of
 * three, with 138–141 MB promoted instead of 51–58 MB, and a tenth more CPU for the whole run.
 * Fixing one literal (capture-sources' items are made by a constructor for this reason) only moved
 * it to the next one; without pretenuring every run promotes 51–58 MB.
 */
export function disablePretenuring(): void {
  setFlagsFromString('--no-allocation-site-pretenuring')
}
