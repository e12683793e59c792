import { AgenttapError, type ErrorContext } from '@agenttap/jsonl-io'

/** What went wrong, as a stable string a program can switch on. */
export type DemoErrorCode =
  /** An option is malformed (thrown). */
  | 'INVALID_OPTION'
  /** The bundled demo capture is missing from the package (thrown). */
  | 'NO_DEMO_CAPTURE'
  /** A scripted request failed (reported; the demo goes on with the next one). */
  | 'CLIENT_FAILED'
  /** The live monitor or the web view reported a problem (reported). */
  | 'VIEW'

/** The one error class of `@agenttap/demo`. */
export class DemoError extends AgenttapError<DemoErrorCode> {
  override readonly name = 'DemoError'

  constructor(code: DemoErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context)
  }
}
