import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import { CAPTURE_DIR, CAPTURE_FILES, resolveCapture } from '@agenttap/jsonl-io'

/**
 * The files a live view reads, from whatever the user points at — a log root, a capture directory
 * (`…/all-mitm-sse/`), a per-agent view (`<root>/claude/`), a single file, or nothing (the default
 * log root, `$AGENTTAP_LOG_DIR` or `~/centralized-logs`) — as jsonl-io's `resolveCapture` lays the
 * capture out: `sse_lines.jsonl` first, then (with `siblings`) `sse_flows.jsonl` and
 * `sse_flow_ends.jsonl`, which hold the client, URL, outcome and status.
 *
 * Reading to the end, rotated copies (`sse_lines.jsonl.1`, …) are read too, oldest first (the
 * files are then merged by record time). Following, the live files are followed — also before they
 * exist when the capture directory is the proxy's `all-mitm-sse/` (a proxy not started yet).
 *
 * @example resolveSourceFiles('/home/me/centralized-logs') // […/all-mitm-sse/sse_lines.jsonl, …/sse_flows.jsonl, …/sse_flow_ends.jsonl]
 */
export function resolveSourceFiles(path: string | undefined, opts: { logDir?: string; siblings?: boolean; follow?: boolean } = {}): string[] {
  const layout = resolveCapture(path ?? opts.logDir)
  const siblings = opts.siblings !== false
  const follow = opts.follow === true
  // The proxy's own directory: its files appear once it runs, so a follower waits for them.
  const proxyDir = basename(layout.dir) === CAPTURE_DIR
  const want = (live: string): boolean => existsSync(live) || (follow && proxyDir)
  if (layout.kind === 'file') {
    const file = path ?? layout.live.lines
    const files = [file]
    if (siblings && basename(file) === CAPTURE_FILES.lines) for (const f of [layout.live.flows, layout.live.ends]) if (want(f)) files.push(f)
    return files
  }
  if (follow) {
    const files = [layout.live.lines]
    // A per-agent view holds only sse_lines.jsonl.
    if (siblings && layout.kind !== 'client') for (const f of [layout.live.flows, layout.live.ends]) if (want(f)) files.push(f)
    return files
  }
  const lines = layout.files.lines.length > 0 ? layout.files.lines : [layout.live.lines]
  return siblings ? [...lines, ...layout.files.flows, ...layout.files.ends] : lines
}
