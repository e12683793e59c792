import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { resolve } from 'node:path'
import { defaultTranscriptDirs } from '@agenttap/transcripts/dirs'

/**
 * The transcript dirs a line reads: those given (`--claude-dir` / `--codex-dir`, resolved; dirs
 * given for one format only read that format), else the default dirs that exist (~/.claude/projects,
 * `CLAUDE_CONFIG_DIR`, ~/.codex/sessions, `CODEX_HOME`). Light: the quick path uses it too.
 */
export function transcriptDirsFrom(
  claudeDir: readonly string[] | undefined,
  codexDir: readonly string[] | undefined,
  env: Record<string, string | undefined>,
): { claude: string[]; codex: string[] } {
  const found = claudeDir !== undefined && codexDir !== undefined ? { claude: [], codex: [] } : defaultTranscriptDirs(env, env.HOME ?? homedir())
  return {
    claude: claudeDir?.map((d) => resolve(d)) ?? (codexDir !== undefined ? [] : found.claude),
    codex: codexDir?.map((d) => resolve(d)) ?? (claudeDir !== undefined ? [] : found.codex),
  }
}

/** The first of `dirs` that does not exist. */
export const missingDir = (dirs: { claude: string[]; codex: string[] }): string | undefined => [...dirs.claude, ...dirs.codex].find((d) => !existsSync(d))
