/**
 * The stream-normalizer contract flow-fsm consumes, in one place (types re-exported from
 * @agenttap/stream-normalizer, which owns them).
 */
export type {
  AgentEvent,
  StreamProvider,
  ToolCallKind,
  Usage,
  ToolCallEndEvent,
  ToolCallStartEvent,
} from '@agenttap/stream-normalizer'
