/**
 * `@agenttap/session-extractor/redact`: the redactor without session detection and request
 * anatomy (and without `node:crypto` until a secret is marked): a transcript reader redacts the
 * prompts it keeps and loads no more. Built with code splitting: these are the main entry's
 * same functions and default redactor.
 */
export { createRedactor, redactHeaders, redactJson, redactText, redactUrl, isSecretHeaderName, isSecretFieldName, REDACTED_PREFIX } from './redactor.js'
export type { Redactor, RedactorOptions } from './types.js'
