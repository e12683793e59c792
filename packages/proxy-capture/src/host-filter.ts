/**
 * The LLM API hosts captured by default (any other host is captured only when it answers
 * with `text/event-stream`). A leading `*.` matches any subdomain.
 */
export const DEFAULT_LLM_HOSTS: readonly string[] = [
  'api.anthropic.com',
  'api.openai.com',
  'chatgpt.com',
  '*.openai.azure.com',
  'generativelanguage.googleapis.com',
  'api.mistral.ai',
  'openrouter.ai',
  'api.groq.com',
  'api.deepseek.com',
  'api.x.ai',
  'api.together.xyz',
  'api.fireworks.ai',
]

/** Decides which flows are captured. */
export interface HostFilter {
  /** Whether a flow to `host` is captured, given the response content type (if known yet). */
  captures(host: string, contentType?: string): boolean
}

function matcher(patterns: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>()
  const suffixes: string[] = []
  for (const raw of patterns) {
    const p = raw.trim().toLowerCase()
    if (p === '') continue
    if (p.startsWith('*.')) suffixes.push(p.slice(1))
    else if (p.startsWith('.')) suffixes.push(p)
    else exact.add(p)
  }
  return (host) => {
    const h = host.toLowerCase()
    if (exact.has(h)) return true
    for (const s of suffixes) if (h.endsWith(s)) return true
    return false
  }
}

/** Strips a port and IPv6 brackets: `[::1]:443` → `::1`, `example.com:443` → `example.com`. */
export function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']')
    return end === -1 ? hostPort : hostPort.slice(1, end)
  }
  const colon = hostPort.indexOf(':')
  // More than one colon without brackets is a bare IPv6 address, not host:port.
  if (colon !== -1 && hostPort.indexOf(':', colon + 1) === -1) return hostPort.slice(0, colon)
  return hostPort
}

/**
 * Builds the capture filter.
 * With `include` given only those hosts are captured; otherwise {@link DEFAULT_LLM_HOSTS}
 * plus any flow that answers `text/event-stream`. `exclude` always wins.
 *
 * @example
 * createHostFilter({ exclude: ['statsig.anthropic.com'] }).captures('api.anthropic.com') // true
 */
export function createHostFilter(opts: { include?: readonly string[]; exclude?: readonly string[] } = {}): HostFilter {
  const include = opts.include && opts.include.length > 0 ? matcher(opts.include) : undefined
  const defaults = matcher(DEFAULT_LLM_HOSTS)
  const exclude = matcher(opts.exclude ?? [])
  return {
    captures(host, contentType) {
      const h = hostOnly(host)
      if (exclude(h)) return false
      if (include) return include(h)
      if (defaults(h)) return true
      return contentType !== undefined && /^\s*text\/event-stream/i.test(contentType)
    },
  }
}
