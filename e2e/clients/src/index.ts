/**
 * Real agents for tests: the pinned Claude Code / Codex CLIs and SDKs (installed once into a
 * cache, never by the workspace install), how to run them with a throwaway HOME, a fake
 * Anthropic + OpenAI provider over local HTTPS, and the built proxy aimed at it.
 */
export { agentsCacheRoot, agentsHash, agentsSupported, ensureAgents, runClaude, runCodex, runNodeScript, runProcess } from './agents.js'
export type { Agents, ClaudeOptions, CodexOptions, RunOptions, RunResult } from './agents.js'
export { createUpstreamTls, PROVIDER_HOSTS } from './certs.js'
export type { UpstreamTls } from './certs.js'
export { analyze, filesUnder, findSecrets, hasTmux, monitorJson, monitorScreen, readCapture, webApi } from './observe.js'
export type { Capture, Rec } from './observe.js'
export { BINS, proxyArgs, startProxy } from './proxy.js'
export type { ProxyOptions, RunningProxy } from './proxy.js'
export { anthropicEvents, chatEvents, providerError, responsesEvents, sseText } from './streams.js'
export type { Answer, FakeError, FakeToolCall, FakeUsage, WireEvent } from './streams.js'
export { SHELL_COMMAND, startFakeUpstream, wireEvents } from './upstream.js'
export type { Api, FakeUpstream, FakeUpstreamOptions, ReceivedRequest, SentAnswer } from './upstream.js'
