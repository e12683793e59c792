/**
 * @agenttap/transcripts — history without a proxy: Claude Code transcripts and Codex rollouts
 * read into the ledger's model calls (`source: "claude-transcript"` / `"codex-rollout"`),
 * counted right, incrementally (files are append-only; a cursor says where each was read to).
 */
export { defaultTranscriptDirs, findTranscripts } from './discover.js'
export type { TranscriptDirs } from './discover.js'
export { importTranscripts, mergeResults, startCursors, startImportWorkers, stopImportWorkers } from './import.js'
export type { ImportOptions, ImportWorkers } from './import.js'
export { importFiles } from './import-files.js'
export type { ImportFilesOptions } from './import-files.js'
export { mergeCall, usageRank, usageWins, UsageCalls } from './call-merge.js'
export { bytesHash } from './head-hash.js'
export type { UsageFacts } from './call-merge.js'
export { claudeKey, CLAUDE_SOURCE, readClaudeLine } from './claude.js'
export type { ClaudeLine } from './claude.js'
export { CODEX_SOURCE, readCodexLine, REPLAY_WINDOW_MS } from './codex.js'
export type { CodexLine } from './codex.js'
export { readLines } from './read-lines.js'
export type { ReadEnd, ReadLinesOptions } from './read-lines.js'
export type { ClaudeFileState, CodexFileState, FileCursor, ImportResult, ImportSink, RawCodexUsage, TranscriptFile, TranscriptKind, TranscriptProblem, TrapCounts } from './types.js'
export { TranscriptError } from './errors.js'
export type { TranscriptErrorCode } from './errors.js'
