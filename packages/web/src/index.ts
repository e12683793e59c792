/** @agenttap/web — filled in by issue 10. */
export const packageName = '@agenttap/web'
