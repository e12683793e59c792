/** A stream a CLI writes to: the process's stdout / stderr, or a buffer in tests. */
export interface CliOutput {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

/** How {@link setupProgram} wires a commander program. */
export interface ProgramSetup {
  /** The bin's name, the prefix of every error line (`agenttap-proxy: …`). */
  bin: string
  /** What `--version` prints. */
  version: string
  /** Where help and `--version` go. @defaultValue process.stdout */
  stdout?: CliOutput
  /** Where errors go. @defaultValue process.stderr */
  stderr?: CliOutput
}
