#!/usr/bin/env node
// `pnpm start [proxy options]`: build (saying so, and showing the compiler's errors when it
// fails), then run `agenttap-proxy start` in the foreground. Ctrl-C stops the proxy, which ends
// its flows and flushes the capture; this wrapper then exits with the proxy's code (0). pnpm itself
// (10.16 and later, pnpm/pnpm#9938) still reports any run it saw interrupted by Ctrl-C as failed
// ("[ELIFECYCLE] Command failed.", exit 130) whatever its script returned: the README says so.
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' }
// AGENTTAP_SKIP_BUILD=1 starts what is built already (after `pnpm build`; the tests use it).
if (process.env.AGENTTAP_SKIP_BUILD !== '1') {
  process.stderr.write('agenttap: building (about a minute the first time; cached afterwards)…\n')
  const t0 = Date.now()
  const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] })
  if (build.status !== 0) {
    process.stderr.write(`agenttap: the build failed (the errors are above); nothing was started\n`)
    process.exit(build.status ?? 1)
  }
  process.stderr.write(`agenttap: built in ${((Date.now() - t0) / 1000).toFixed(1)} s; starting the proxy\n`)
}
const child = spawn(process.execPath, [join(root, 'apps', 'proxy', 'dist', 'bin.js'), ...(process.argv[2] === 'demo' ? process.argv.slice(2) : ['start', ...process.argv.slice(2)])], { stdio: 'inherit', env: process.env })
// The terminal's Ctrl-C reaches the proxy directly (same process group): wait for it to finish.
const ignore = () => {}
process.on('SIGINT', ignore)
process.on('SIGTERM', () => child.kill('SIGTERM'))
// A proxy killed by a signal (it handles SIGINT and SIGTERM itself) did not stop cleanly: say so.
child.on('exit', (code, signal) => {
  if (signal) process.stderr.write(`agenttap: the proxy was killed by ${signal}\n`)
  process.exit(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGKILL' ? 9 : 1))
})
