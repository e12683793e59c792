/**
 * The fake provider's TLS: a CA of its own (what the proxy gets as `--upstream-ca`) and a leaf
 * for the real provider host names, so the proxy's `--connect-to` can send api.anthropic.com and
 * api.openai.com here while URL, Host, SNI and the certificate name stay the real ones.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The host names the fake provider answers for (its certificate's names). */
export const PROVIDER_HOSTS = ['api.anthropic.com', 'api.openai.com', 'chatgpt.com'] as const

export interface UpstreamTls {
  key: string
  cert: string
  /** PEM of the CA that signed `cert`: pass it to the proxy's `--upstream-ca`. */
  caPath: string
}

/** Creates the CA and the leaf in `dir` (openssl CLI, EC keys: fast). */
export function createUpstreamTls(dir: string): UpstreamTls {
  const p = (f: string): string => join(dir, f)
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' })
  }
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=agenttap e2e fake provider CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/CN=api.anthropic.com'])
  const names = [...PROVIDER_HOSTS.map((h) => `DNS:${h}`), 'DNS:localhost', 'IP:127.0.0.1']
  writeFileSync(p('leaf.ext'), `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`)
  run(['x509', '-req', '-in', p('leaf.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', '2', '-extfile', p('leaf.ext')])
  return { key: readFileSync(p('leaf.key'), 'utf8'), cert: readFileSync(p('leaf.pem'), 'utf8'), caPath: p('ca.pem') }
}
