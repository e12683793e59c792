import { setUsage } from './adapters/common.js'
import type { StreamProvider, Usage } from './types.js'

/**
 * Token counts of one response in one convention, whatever the provider: every prompt token is
 * counted once, in exactly one of `input`, `cache_read`, `cache_write_5m`, `cache_write_1h`, and
 * `output` includes reasoning.
 */
export interface NormalizedUsage {
  /** Prompt tokens billed at the base input price (no cache involved). */
  input: number
  /** Prompt tokens read from the cache. */
  cache_read: number
  /** Prompt tokens written to the cache with a 5-minute TTL. */
  cache_write_5m: number
  /** Prompt tokens written to the cache with a 1-hour TTL. */
  cache_write_1h: number
  /** Output tokens, reasoning included. */
  output: number
  /** The part of `output` that was reasoning, when the provider reports it. */
  reasoning?: number
}

const n = (v: number | undefined): number => (v === undefined || v < 0 ? 0 : v)

/**
 * Applies the provider's usage convention:
 * - Anthropic: `input_tokens` already excludes cache reads and writes; cache writes are split by
 *   TTL from `cache_creation.ephemeral_5m/1h_input_tokens`, and all of
 *   `cache_creation_input_tokens` counts as 5-minute writes when the split is absent;
 * - OpenAI (Responses, Chat Completions): `input_tokens` / `prompt_tokens` include the cached
 *   part, so `input = input_tokens − cached_tokens`; no cache writes are reported;
 * - unknown providers: taken as reported (`input = input_tokens`).
 *
 * @param u - the usage of one message (the latest usage event of a message holds all of it)
 * @param provider - the stream format the usage came from
 * @example
 * normalizeUsage({ input_tokens: 5210, cache_read_input_tokens: 4864, output_tokens: 312, reasoning_tokens: 192 }, 'openai-responses')
 * // { input: 346, cache_read: 4864, cache_write_5m: 0, cache_write_1h: 0, output: 312, reasoning: 192 }
 */
export function normalizeUsage(u: Usage, provider: StreamProvider): NormalizedUsage {
  const cacheRead = n(u.cache_read_input_tokens)
  let input = n(u.input_tokens)
  let w5 = 0
  let w1 = 0
  if (provider === 'openai-responses' || provider === 'openai-chat') {
    input = Math.max(0, input - cacheRead)
  } else {
    const total = n(u.cache_creation_input_tokens)
    if (u.cache_creation_5m_input_tokens !== undefined || u.cache_creation_1h_input_tokens !== undefined) {
      w5 = n(u.cache_creation_5m_input_tokens)
      w1 = n(u.cache_creation_1h_input_tokens)
      // A split that does not add up (a proxy rewrote one field): the rest counts as 5-minute writes.
      if (w5 + w1 < total) w5 = total - w1
    } else {
      w5 = total
    }
  }
  const out: NormalizedUsage = { input, cache_read: cacheRead, cache_write_5m: w5, cache_write_1h: w1, output: n(u.output_tokens) }
  if (u.reasoning_tokens !== undefined) out.reasoning = n(u.reasoning_tokens)
  return out
}

/**
 * Reads the counts of an Anthropic `usage` object (a stream's `message_start` / `message_delta`
 * usage, a JSON response's, or the one Claude Code stores in its transcripts) into `into`: the
 * counts present overwrite, the absent ones stay. The TTL split of cache writes comes from
 * `cache_creation.ephemeral_5m/1h_input_tokens` (1-hour writes cost more than 5-minute ones).
 *
 * @param u - the provider's `usage` object
 * @param into - the usage to update (returned)
 * @example
 * normalizeUsage(readAnthropicUsage({ input_tokens: 3, cache_creation_input_tokens: 900, cache_creation: { ephemeral_1h_input_tokens: 900 }, output_tokens: 40 }), 'anthropic')
 * // { input: 3, cache_read: 0, cache_write_5m: 0, cache_write_1h: 900, output: 40 }
 */
export function readAnthropicUsage(u: Record<string, unknown>, into: Usage = {}): Usage {
  setUsage(into, 'input_tokens', u['input_tokens'])
  setUsage(into, 'output_tokens', u['output_tokens'])
  setUsage(into, 'cache_read_input_tokens', u['cache_read_input_tokens'])
  setUsage(into, 'cache_creation_input_tokens', u['cache_creation_input_tokens'])
  const cc = u['cache_creation']
  if (cc !== undefined && cc !== null && typeof cc === 'object') {
    setUsage(into, 'cache_creation_5m_input_tokens', (cc as Record<string, unknown>)['ephemeral_5m_input_tokens'])
    setUsage(into, 'cache_creation_1h_input_tokens', (cc as Record<string, unknown>)['ephemeral_1h_input_tokens'])
  }
  return into
}
