/**
 * @agenttap/demo — agenttap without an agent, a login or a network: the capture proxy, a replay
 * upstream over a bundled capture and a scripted client, so the live monitor and the web view
 * fill within seconds.
 */
export { runDemo, nextSteps, demoCapturePath } from './demo.js'
export { DemoError } from './errors.js'
export type { DemoErrorCode } from './errors.js'
export type { Demo, DemoOptions, DemoResult } from './types.js'
