/**
 * agenttap-monitor — the live multi-flow terminal view of captured agent traffic, as a CLI. The
 * view itself is `@agenttap/terminal-view` (the proxy attaches it in-process); the sources are
 * `@agenttap/capture-sources`; this app is the command table, the wiring and the exit codes.
 */
export { main, buildCommand } from './cli.js'
export type { MainIo } from './cli.js'
export { EXIT, exitCodeOf } from './errors.js'
