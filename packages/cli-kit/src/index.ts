/**
 * @agenttap/cli-kit — what agenttap's command-line tools share, so each app stays a command
 * table: exit codes, the one-line error format, `--version`, strict option parsers.
 */
export { CliError } from './errors.js'
export type { CliErrorCode } from './errors.js'
export type { CliOutput, ProgramSetup } from './types.js'
export { EXIT, USAGE_CODES, exitCodeOf } from './exit-codes.js'
export { errorLine, oneLine } from './error-line.js'
export { packageVersion } from './version.js'
export { portArg, intArg, positiveNumberArg, fileArg } from './option-parsers.js'
export { setupProgram } from './program.js'
export { commander } from './commander.js'
export { stopSignal } from './signals.js'
