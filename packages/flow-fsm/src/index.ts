/**
 * @agenttap/flow-fsm — THE records → render-ops pipeline every live view uses
 * (`createLiveView`, end lines from the model calls of `createLiveCalls`), and the pure state
 * machines it is made of: per-flow lifecycle registry, tool-call (call_id) lifecycle validation,
 * shell-command detection with line backtrack, a card-based multi-flow screen controller, and
 * the one set of formatters (durations, tokens, error and end lines). No I/O: everything is fed
 * records / events and returns state or render ops.
 */
export { createFlowRegistry, FLOW_STATES } from './flow-registry.js'
export type { FlowRegistry, FlowRegistryOptions, FlowRegistryStats } from './flow-registry.js'
export { createToolCallRenderer } from './tool-call-renderer.js'
export type { StreamFormatter, ToolCallInfo, ToolCallRenderer, ToolCallRendererOptions, ToolCallRenderMode } from './tool-call-renderer.js'
export { detectShell, DEFAULT_SHELL_TOOLS } from './shell-detect.js'
export type { ShellDetection, ShellForm } from './shell-detect.js'
export { CommandStringReader } from './command-string-reader.js'
export type { StringChunk } from './command-string-reader.js'
export { opsToString, pushText, sanitizeText } from './render-ops.js'
export { createScreenController } from './screen-controller.js'
export type { CardInfo, CardMeta, ScreenController, ScreenControllerOptions } from './screen-controller.js'
export { createCallValidator } from './call-validator.js'
export type { CallValidationResult, CallValidator, CallValidatorOptions, CallValidatorStats } from './call-validator.js'
export { createEventRenderer } from './event-renderer.js'
export type { EventRenderer, EventRendererOptions } from './event-renderer.js'
export { requestToolResults, toolResultLine } from './tool-results.js'
export type { ToolResult } from './tool-results.js'
export { createLiveView } from './live-view.js'
export type { LiveJsonEvent, LiveToolResultEvent, LiveView, LiveViewOptions, LiveViewStats } from './live-view-types.js'
export { createLiveCalls } from './live-calls.js'
export type { LiveCalls, LiveCallsOptions } from './live-calls.js'
export { endLine, errorLine, errorText, formatDuration, formatTokens, usageText } from './format.js'
export type { EndLineCall, ViewEnding } from './format.js'
export { FlowFsmError } from './errors.js'
export type { FlowFsmErrorCode } from './errors.js'
export type {
  BlockKind,
  CallCounts,
  CallFinding,
  CallFindingKind,
  CanonicalRecord,
  CurrentBlock,
  DeadReason,
  FlowCounts,
  FlowEndRecordLike,
  FlowInfo,
  FlowRecordLike,
  FlowState,
  FlowTransition,
  RenderOp,
  RenderStyle,
  SseRecordLike,
} from './types.js'
