/** @agenttap/stream-normalizer — filled in by its issue. */
export const packageName = '@agenttap/stream-normalizer'
