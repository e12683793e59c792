/** @agenttap/flow-fsm — filled in by its issue. */
export const packageName = '@agenttap/flow-fsm'
