/** @agenttap/session-extractor — filled in by its issue. */
export const packageName = '@agenttap/session-extractor'
