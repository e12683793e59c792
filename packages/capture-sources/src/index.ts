/**
 * @agenttap/capture-sources — capture records as a live view reads them: the three files of a
 * log directory followed live (siblings, truncation, rotation) or read to the end merged by
 * record time, stdin, a Redis stream (consumer group or plain read), and replay pacing.
 */
export { resolveSourceFiles } from './resolve.js'
export { openSource } from './open-source.js'
export { readBatches } from './read-batches.js'
export { createTimeMerge, mergeBatchesByTime, mergeByTime, mergeLive, timeKey } from './merge.js'
export type { TimeMerge, TimeMergeOptions } from './merge.js'
export { paced } from './pace.js'
export { redisSource } from './redis-source.js'
export { CaptureSourceError } from './errors.js'
export type { CaptureSourceErrorCode } from './errors.js'
export type { OpenSourceOptions, PaceOptions, RedisSourceOptions, SourceItem } from './types.js'
