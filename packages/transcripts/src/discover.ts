import { existsSync, readdirSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import type { TranscriptFile } from './types.js'

/**
 * Where the agents keep their histories, and the files in there:
 * - Claude Code: `$CLAUDE_CONFIG_DIR/projects` (a comma-separated list is allowed), else
 *   `~/.config/claude/projects` and `~/.claude/projects`; files `<project>/<session>.jsonl` and
 *   `<project>/<session>/subagents/agent-<id>.jsonl`;
 * - Codex: `$CODEX_HOME/sessions`, else `~/.codex/sessions`; files `YYYY/MM/DD/rollout-*.jsonl`
 *   (any `*.jsonl` below).
 */

/** Transcript roots. */
export interface TranscriptDirs {
  /** Claude Code `projects` dirs (or dirs that hold a `projects` dir). */
  claude: string[]
  /** Codex `sessions` dirs (or a `CODEX_HOME` that holds `sessions`). */
  codex: string[]
}

/** The default dirs from the environment (those that exist). */
export function defaultTranscriptDirs(env: Record<string, string | undefined> = process.env, home: string = homedir()): TranscriptDirs {
  const claudeRoots = env.CLAUDE_CONFIG_DIR?.trim()
    ? env.CLAUDE_CONFIG_DIR.split(',').map((s) => s.trim()).filter((s) => s !== '')
    : [join(home, '.config', 'claude'), join(home, '.claude')]
  const codexRoot = env.CODEX_HOME?.trim() ? env.CODEX_HOME.trim() : join(home, '.codex')
  return {
    claude: claudeRoots.map((r) => join(resolve(r), 'projects')).filter((d) => existsSync(d)),
    codex: [join(resolve(codexRoot), 'sessions')].filter((d) => existsSync(d)),
  }
}

/** A dir given by the user: the `projects` / `sessions` dir itself, or the agent's home that holds it. */
function rootOf(dir: string, sub: string): string {
  const d = resolve(dir)
  return existsSync(join(d, sub)) && statSync(join(d, sub)).isDirectory() ? join(d, sub) : d
}

function walk(dir: string, depth: number, out: string[]): void {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  // `dir` is resolved (normalized) and a name has no separator: joined by hand, as path.join
  // would, without its normalizing pass over every path (~25 CPU ms at a start over 2,000 files).
  const prefix = dir.endsWith(sep) ? dir : dir + sep
  for (const e of entries) {
    const p = prefix + e.name
    if (e.isDirectory()) {
      if (depth > 0) walk(p, depth - 1, out)
    } else if (e.isFile() && e.name.endsWith('.jsonl')) out.push(p)
  }
}

/**
 * Lists the transcript files under the dirs, sorted by path, with their sizes. `sizeOf` stats a
 * file (a caller that keeps more of the stat than the size, e.g. the inode, passes its own and
 * stats each file once); a file it cannot stat (gone since the walk) is left out.
 */
export function findTranscripts(dirs: TranscriptDirs, sizeOf: (path: string) => number | undefined = (p) => statSync(p, { throwIfNoEntry: false })?.size): TranscriptFile[] {
  const out: TranscriptFile[] = []
  const seen = new Set<string>()
  for (const d of dirs.claude) {
    const paths: string[] = []
    walk(rootOf(d, 'projects'), 4, paths)
    for (const path of paths.sort()) {
      if (seen.has(path)) continue
      seen.add(path)
      const size = sizeOf(path)
      if (size === undefined) continue
      const f: TranscriptFile = { kind: 'claude', path, size }
      const m = /[/\\]([^/\\]+)[/\\]subagents[/\\]agent-([^/\\]+)\.jsonl$/.exec(path)
      if (m) {
        f.parent_session = m[1]!
        f.agent = m[2]!
      }
      out.push(f)
    }
  }
  for (const d of dirs.codex) {
    const paths: string[] = []
    walk(rootOf(d, 'sessions'), 5, paths)
    for (const path of paths.sort()) {
      if (seen.has(path)) continue
      seen.add(path)
      const size = sizeOf(path)
      if (size !== undefined) out.push({ kind: 'codex', path, size })
    }
  }
  return out
}

