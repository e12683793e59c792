/**
 * agenttap-monitor — live multi-flow terminal view of captured agent traffic. The CLI lives in
 * `main`; `runMonitor`, `attachMonitor` and `createMonitor` are the programmatic entries (the
 * proxy attaches the monitor in-process with `attachMonitor`).
 */
export { main, buildCommand } from './cli.js'
export type { MainIo } from './cli.js'
export { createMonitor, runMonitor, attachMonitor } from './monitor.js'
export type { Monitor, MonitorHandle, MonitorOptions, MonitorStats, RunMonitorOptions } from './monitor.js'
export { createRenderPipeline, flowEndLine, formatDuration, formatTokens } from './render-pipeline.js'
export type { MonitorJsonEvent, RenderPipeline, RenderPipelineOptions, RenderPipelineStats } from './render-pipeline.js'
export { createTerminalWriter, coalesceOps, shortId, STYLE_SGR } from './terminal-writer.js'
export type { TerminalWriter, TerminalWriterOptions, TerminalWriterStats } from './terminal-writer.js'
export { defaultLogDir, mergeBatchesByTime, mergeByTime, mergeLive, openSource, paced, readBatches, resolveSourceFiles } from './sources.js'
export type { OpenSourceOptions, PaceOptions, SourceItem } from './sources.js'
// Moved to flow-fsm (logic other tools import); re-exported so the monitor's API is unchanged.
export { requestToolResults, toolResultLine } from '@agenttap/flow-fsm'
export type { ToolResult } from '@agenttap/flow-fsm'
export { MonitorError, EXIT, exitCodeOf } from './errors.js'
export type { MonitorErrorCode } from './errors.js'
