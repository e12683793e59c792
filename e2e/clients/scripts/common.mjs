// Shared by the SDK scripts: the pinned packages (from the suite's install, AGENTTAP_E2E_NODE_MODULES),
// undici 7's fetch through HTTPS_PROXY (the SDKs use fetch, which ignores proxy variables), the
// shell tool, and the one line of results the test reads.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const require = createRequire(join(process.env.AGENTTAP_E2E_NODE_MODULES ?? '.', 'x.js'))

/** Imports a package of the suite's install. */
export async function load(name) {
  return import(pathToFileURL(require.resolve(name)).href)
}

/** fetch + dispatcher that go through HTTPS_PROXY (the CA comes from NODE_EXTRA_CA_CERTS). */
export async function proxiedFetch() {
  const undici = await load('undici')
  const dispatcher = new undici.EnvHttpProxyAgent()
  return { fetch: (url, init) => undici.fetch(url, { ...init, dispatcher }), dispatcher }
}

/** Runs the shell command a tool call asked for and returns its output. */
export function runShell(command) {
  process.stdout.write(`$ ${command}\n`)
  return execFileSync('bash', ['-lc', command], { encoding: 'utf8' })
}

/** The line the test parses. */
export function report(result) {
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`)
}
