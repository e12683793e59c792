/**
 * Resolves with the first SIGINT or SIGTERM that arrives after the call, then stops listening.
 * Call it when a long-running command begins, before its start-up (ports, threads, files): a
 * Ctrl-C during start-up is then held until the command is up and stops it cleanly, instead of
 * killing the process with its work unflushed.
 * @example
 * const stopped = stopSignal()
 * await server.start()
 * const signal = await stopped // 'SIGINT' | 'SIGTERM'
 * await server.close()
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}
