/**
 * agenttap — the distribution: one package whose bins run the CLIs (`agenttap-proxy`,
 * `agenttap-monitor`, `agenttap-analyze`, and `agenttap <command>`), so `npx agenttap demo` and
 * `npm i -g agenttap` work. It holds no logic of its own (see docs/ARCHITECTURE.md).
 */
export { run } from './run.js'
export { COMMANDS, DEMO } from './commands.js'
export { DistributionError } from './errors.js'
export type { DistributionErrorCode } from './errors.js'
export type { DistributionCommand, DistributionIo } from './types.js'
