/**
 * @agenttap/terminal-view — the live terminal view of agent traffic: flow-fsm's live pipeline
 * (records → render ops) written to a terminal (colours, row erase, keeping up when the terminal
 * falls behind) or to a pipe, or as NDJSON; fed records pushed in (`createTerminalView`), read
 * from a source (`runTerminalView`: a log directory, a file, stdin, any async iterable), or
 * attached to an in-process record stream (`attachTerminalView`, the proxy's `start`).
 */
export { createTerminalView } from './terminal-view.js'
export { attachTerminalView, runTerminalView } from './run.js'
export type { AttachedTerminalView, RunTerminalViewOptions, TerminalView, TerminalViewOptions, TerminalViewStats } from './types.js'
export { createTerminalWriter, coalesceOps, shortId, STYLE_SGR } from './terminal-writer.js'
export type { TerminalWriter, TerminalWriterOptions, TerminalWriterStats } from './terminal-writer.js'
export { createAlertCommand } from './alert-command.js'
export type { AlertCommand, AlertCommandOptions } from './alert-command.js'
export { TerminalViewError } from './errors.js'
export type { TerminalViewErrorCode } from './errors.js'
