import type { CallRequest, CallSegment, CallUsage, ModelCall } from '@agenttap/ledger'

/**
 * What the analysis reads of a model call: a subset of `@agenttap/ledger`'s `ModelCall`, so a
 * ledger call, a live call or a row of analyze's index (mapped back) can be fed alike.
 */
export type InsightCall = Pick<ModelCall, 'key' | 'flow_id' | 'session_id' | 'started_at'> &
  Partial<Pick<ModelCall, 'agent' | 'model' | 'provider' | 'api' | 'client' | 'kind' | 'ended_at' | 'rate_limits'>> & {
    usage?: CallUsage | undefined
    request: Partial<Pick<CallRequest, 'prompt_cache_key' | 'message_count'>> & {
      segments?: CallSegment[] | undefined
      model?: string | undefined
      /** The request carries a compaction summary (when its segments are not at hand; else read from them). */
      has_summary?: boolean
    }
  }

/**
 * Why a prompt cache broke.
 * - `ttl_expiry`: the idle gap exceeded the TTL the previous call cached with (5 min / 1 h, from its usage split);
 * - `model_switch`: the lane's previous call used another model (caches are per model);
 * - `cache_key_changed`: Responses `prompt_cache_key` changed (another cache is consulted);
 * - `tools_changed`: the first divergent segment is a tool definition (added, removed, edited, reordered);
 * - `system_changed`: the first divergent segment is a system block (Responses: instructions);
 * - `message_changed`: the first divergent segment is a message (see {@link MessageChange});
 * - `provider`: the cached prefix was sent intact within its TTL and still not read;
 * - `unknown`: the cache read fell short but a request was not at hand (no cache segments) to say why.
 */
export type BreakCause = 'ttl_expiry' | 'model_switch' | 'cache_key_changed' | 'tools_changed' | 'system_changed' | 'message_changed' | 'provider' | 'unknown'

/**
 * How the first divergent message changed.
 * - `reminder`: a `<system-reminder>` was injected, changed or dropped in it;
 * - `thinking_stripped`: the same message without its thinking blocks;
 * - `compaction`: the history was replaced by a summary;
 * - `removed`: the message is gone (the next one moved up, or the history got shorter);
 * - `edited`: any other change.
 */
export type MessageChange = 'reminder' | 'thinking_stripped' | 'compaction' | 'removed' | 'edited'

/** Tools added, removed or edited between two requests (by name). */
export interface ToolsDiff {
  added: string[]
  removed: string[]
  edited: string[]
  /** The same tools in another order. */
  reordered: boolean
}

/** One cache break: a call that wrote again what its lane had cached. */
export interface CacheBreak {
  key: string
  flow_id: string
  session_id: string
  agent?: string
  model?: string
  /** `session · agent · model`. */
  lane: string
  /** The call compared with (the lane's previous call; for a model switch, the previous call of the other model). */
  prev_key: string
  prev_flow_id: string
  started_at: string
  cause: BreakCause
  /** For `message_changed`. */
  change?: MessageChange
  /** One line for people: which tool, which system block, which message and what happened. */
  detail: string
  /** Kind and index of the first divergent segment (the index within its kind: message 12, tool 3). */
  segment?: { kind: 'tool' | 'system' | 'message'; index: number; label: string }
  /** Byte offset of the first divergent segment in the canonical request (cache order), when the requests diverge. */
  offset: number | null
  /** Bytes of the previous request up to its last cache breakpoint (what was cached). */
  cached_bytes: number
  tools?: ToolsDiff
  /** ms from the previous call's end to this call's start. */
  gap_ms: number
  /** Tokens the previous call left in the cache (its reads + writes). */
  expected_read: number
  cache_read: number
  /** Cached tokens that had to be processed again: `min(expected_read − cache_read, tokens written or sent uncached)`. */
  lost_tokens: number
  /** `lost tokens × (write price − read price)` (OpenAI: input price − cached price), USD. */
  wasted_usd: number
  /** The price table entry used, undefined when the model has no price. */
  price_key?: string
}
