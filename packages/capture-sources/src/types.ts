import type { JsonlError } from '@agenttap/jsonl-io'

/** One item a source yields: a parsed value and where it came from (when read from text). */
export interface SourceItem {
  value: unknown
  /** 1-based line number in `file` (or in stdin). */
  line?: number
  file?: string
  /** Byte offset of the line in `file` (read from text; a reader can come back to the record there). */
  offset?: number
  /** In-band read error (malformed line), in its place among the records. `value` is undefined. */
  error?: JsonlError | undefined
}

/** Options of {@link openSource}. */
export interface OpenSourceOptions {
  /** Keep reading as files grow (tail -f). Off: read to the end and stop (replay, batch). */
  follow: boolean
  /** With `follow`: start at the beginning instead of the end. */
  fromStart?: boolean
  /** Malformed lines, truncation / rotation notices (following; reading to the end gives them in-band). */
  onError(e: JsonlError): void
  signal?: AbortSignal
  /** Poll interval of followed files. @defaultValue 250 */
  pollMs?: number
  /**
   * Followed sibling `sse_flow_ends.jsonl`: each `flow_end` is held until the other files were
   * read to their end twice since it arrived, so the flow's last `sse` lines (another file,
   * polled separately) come first, however late the machine reads them. This bounds the hold
   * (a follower that stalls without an error). @defaultValue no bound
   */
  flowEndHoldMs?: number
  /** Where `-` reads from. @defaultValue process.stdin */
  stdin?: AsyncIterable<Uint8Array | string>
}

/** Options of {@link paced}. */
export interface PaceOptions {
  /** Fixed delay per record in ms (0: as fast as possible). Overrides the recorded pace. */
  delayMs?: number
  /** Recorded pace speed factor (2 = twice as fast). @defaultValue 1 */
  speed?: number
  /** Longest pause between two records at recorded pace, in ms. @defaultValue 2000 */
  maxGapMs?: number
  signal?: AbortSignal
}

/** Options of {@link redisSource}. */
export interface RedisSourceOptions {
  /** @defaultValue 'agenttap:events' */
  stream?: string
  /** Consumer group; without one the stream is read with plain XREAD (nothing acknowledged). */
  group?: string
  /** This consumer's name: keep it stable so a restart resumes its unacknowledged records. */
  consumer?: string
  /** A new group (or a plain read) starts at the beginning of the stream instead of new entries. */
  fromStart?: boolean
  signal?: AbortSignal
  /**
   * How long to keep trying to reach Redis before giving up with a `SOURCE_ERROR` (an
   * unreachable server is reported instead of waited for in silence). Once connected, a dropped
   * connection is retried without a bound, as ioredis does.
   * @defaultValue 5000
   */
  connectTimeoutMs?: number
}
