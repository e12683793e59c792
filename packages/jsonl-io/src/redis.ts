// The Redis entry of jsonl-io (`@agenttap/jsonl-io/redis`): canonical records over a Redis
// stream. Kept out of the main entry so ioredis stays an optional peer dependency.
export { DEFAULT_STREAM, encodeEntry, decodeEntry } from './redis/codec.js'
export type { StreamEntry } from './redis/codec.js'
export { createRedisClient } from './redis/client.js'
export { createRedisStreamWriter } from './redis/writer.js'
export type { RedisStreamWriter, RedisStreamWriterOptions, RedisStreamWriterStats } from './redis/writer.js'
export { readRedisStream, consumeRedisStream, compareStreamIds } from './redis/reader.js'
export type { ReadRedisStreamOptions, ConsumeRedisStreamOptions, GroupEntry, StreamErrorEntry } from './redis/reader.js'
