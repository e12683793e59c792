/**
 * @agenttap/proxy-capture — a local MITM capture proxy for LLM agent traffic (Claude Code,
 * Codex CLI, any SSE/WebSocket client) that writes agenttap's canonical JSONL capture.
 */
export { createCaptureProxy, DEFAULT_PORT, HEALTH_PATH } from './capture-proxy.js'
export { createCaptureEngine } from './capture-engine.js'
export type { CaptureEngine, CaptureEngineOptions, CaptureEngineOutput, CaptureOp, FlowInit } from './capture-engine.js'
export type { SessionChainingOptions } from './session-chaining.js'
export { createConnectTo, parseConnectTo } from './connect-to.js'
export type { ConnectToRule, UpstreamAddress } from './connect-to.js'
export { prepareLogDir, secureLogDir } from './log-dir.js'
export type { LogDirReport } from './log-dir.js'
export { createHttp1Parser, Http1ParseError } from './http1.js'
export type { BodyFraming, Http1Handlers, Http1Head, Http1Parser, Http1ParserOptions } from './http1.js'
export { ensureCa, createLeafMinter, defaultCaDir } from './ca.js'
export type { CaFiles, LeafMinter } from './ca.js'
export { ensureRedactionKey } from './redaction-key.js'
export type { RedactionKey } from './redaction-key.js'
export { createFileSink, defaultLogDir } from './file-sink.js'
export type { FileSinkOptions } from './file-sink.js'
export { createRedisSink } from './redis-sink.js'
export type { RedisSinkOptions } from './redis-sink.js'
export { createBodyDecoder, canDecode } from './body-decoder.js'
export type { BodyDecoder } from './body-decoder.js'
export { createHostFilter, hostOnly, DEFAULT_LLM_HOSTS } from './host-filter.js'
export type { HostFilter } from './host-filter.js'
export { createRecordHub } from './record-hub.js'
export type { RecordHub } from './record-hub.js'
export { agentEnv, exportLines } from './agent-env.js'
export type { AgentEnvInput } from './agent-env.js'
export { ProxyCaptureError } from './errors.js'
export type { ProxyCaptureErrorCode } from './errors.js'
export type {
  CaptureProxy,
  CaptureProxyOptions,
  CaptureRedactor,
  CaptureSink,
  CaptureStats,
  RawWriter,
  RecordIteratorOptions,
} from './types.js'
