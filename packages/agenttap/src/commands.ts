import type { DistributionCommand } from './types.js'

/**
 * The CLIs `agenttap` runs, each from its own package (loaded when asked for, so `agenttap
 * analyze` does not load the proxy). The table is the whole of this package: no flags of its
 * own beyond --help and --version, no logic of the CLIs.
 */
export const COMMANDS: Readonly<Record<'proxy' | 'monitor' | 'analyze', DistributionCommand>> = {
  proxy: {
    summary: 'capture: the local MITM proxy (start, run -- <agent>, web, ca); agenttap-proxy --help',
    run: async (argv) => (await import('@agenttap/proxy')).main(argv),
  },
  monitor: {
    summary: 'watch a capture live, or replay one (--replay); agenttap-monitor --help',
    run: async (argv) => (await import('@agenttap/monitor')).main(argv),
  },
  analyze: {
    summary: 'answers about a capture: usage, cost, errors, tool calls, …; agenttap-analyze --help',
    run: async (argv) => (await import('@agenttap/analyze')).main(argv),
  },
}

/**
 * `agenttap demo`: the proxy's `demo` command (a proxy, a replaying upstream and a scripted
 * client, so the live views fill without an agent or a network). A build of the proxy without
 * it is said in one line.
 */
export const DEMO: DistributionCommand = {
  summary: 'see a live capture in seconds, without an agent, a login or a network',
  run: async (argv) => {
    const proxy = await import('@agenttap/proxy')
    if (!proxy.commandNames().includes('demo')) return -1
    return proxy.main(['demo', ...argv])
  },
}
