/** @agenttap/proxy-capture — filled in by its issue. */
export const packageName = '@agenttap/proxy-capture'
