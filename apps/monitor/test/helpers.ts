export * from '../../../test-support/terminal-sinks.js'
