/** Where the `agenttap` command writes; the process's streams in the bins. */
export interface DistributionIo {
  stdout: { write(s: string): unknown }
  stderr: { write(s: string): unknown }
}

/** One `agenttap <command>`: the CLI package that runs it. */
export interface DistributionCommand {
  /** What `agenttap --help` says about it. */
  summary: string
  /** Runs the CLI with its arguments; resolves with the exit code. */
  run(argv: string[]): Promise<number>
}
