/** @agenttap/extractors — filled in by its issue. */
export const packageName = '@agenttap/extractors'
