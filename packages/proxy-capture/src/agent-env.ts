/** What an agent process needs to go through the proxy and trust its CA. */
export interface AgentEnvInput {
  /** Proxy URL, `http://127.0.0.1:9110`. */
  url: string
  /** agenttap CA certificate (PEM). */
  caCertPath: string
  /** System roots + agenttap CA (for variables that replace the trust store). */
  caBundlePath: string
}

/**
 * The environment variables that route an agent through the proxy:
 * `HTTPS_PROXY`/`https_proxy` (+ `HTTP_PROXY`), `NO_PROXY` for loopback,
 * `NODE_EXTRA_CA_CERTS` (Node agents such as Claude Code add it to their roots),
 * `SSL_CERT_FILE` and `CODEX_CA_CERTIFICATE` (Codex / OpenSSL-style clients, which *replace*
 * their roots: they get the bundle of system roots plus the agenttap CA so other hosts keep working).
 */
export function agentEnv(p: AgentEnvInput): Record<string, string> {
  return {
    HTTPS_PROXY: p.url,
    https_proxy: p.url,
    HTTP_PROXY: p.url,
    http_proxy: p.url,
    NO_PROXY: 'localhost,127.0.0.1,::1',
    no_proxy: 'localhost,127.0.0.1,::1',
    NODE_EXTRA_CA_CERTS: p.caCertPath,
    SSL_CERT_FILE: p.caBundlePath,
    CODEX_CA_CERTIFICATE: p.caBundlePath,
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** `export NAME=value` lines (POSIX shell) to paste into the agent's shell; upper-case names only. */
export function exportLines(p: AgentEnvInput): string[] {
  return Object.entries(agentEnv(p))
    .filter(([k]) => k === k.toUpperCase())
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
}
