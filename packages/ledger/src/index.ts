/**
 * @agenttap/ledger — capture records in, model calls out: the one place provider semantics
 * become facts.
 */
export { LEDGER_VERSION } from './types.js'
export type {
  CallApi,
  CallError,
  CallOutcome,
  CallRequest,
  CallSource,
  CallTransport,
  CallUsage,
  FlowFacts,
  FlowKind,
  LedgerContent,
  LedgerToolCall,
  LedgerToolKind,
  LedgerToolResult,
  ModelCall,
} from './types.js'
