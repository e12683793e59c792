export { SCHEMA_VERSION, CAPTURE_FILES, captureFileFor } from './types.js'
export { CAPTURE_DIR, CLIENT_DIRS, captureFileKind, defaultLogRoot, resolveCapture } from './capture-layout.js'
export type { CaptureFileKind, CaptureLayout } from './capture-layout.js'
export { AgenttapError } from './agenttap-error.js'
export type { ErrorContext } from './agenttap-error.js'
export { isLoopbackAddress, isUnspecifiedAddress, resolveAddresses, resolveLoopback } from './loopback.js'
export type { LoopbackVerdict } from './loopback.js'
export type {
  BaseRecord,
  CaptureRecord,
  ClientFrameRecord,
  SinkGapRecord,
  TelemetryRecord,
  Client,
  FlowEndRecord,
  FlowOutcome,
  FlowRecord,
  Provider,
  SseRecord,
  UnknownRecord,
} from './types.js'
export { JsonlError, excerptOf } from './errors.js'
export type { JsonlErrorCode } from './errors.js'
export { createJsonlParser, DEFAULT_MAX_LINE_BYTES } from './parser.js'
export type { JsonlParser, JsonlParserOptions, LineInfo } from './parser.js'
export { readJsonl, readJsonlBatches } from './read.js'
export type { JsonlEntry, JsonlErrorItem, JsonlItem, ReadJsonlOptions } from './read.js'
export { follow } from './follow.js'
export type { FollowOptions } from './follow.js'
export { readLast } from './read-last.js'
export type { ReadLastOptions } from './read-last.js'
export { createJsonlWriter } from './writer.js'
export type { FsyncPolicy, JsonlWriter, JsonlWriterOptions } from './writer.js'
export { validateRecord, isSseRecord, isFlowRecord, isFlowEndRecord } from './validate.js'
export type { ValidationResult } from './validate.js'
export { parseRawRef, readRawRef } from './raw-ref.js'
export type { RawRef } from './raw-ref.js'
