// The agenttap proxy under benchmark, in its own process. argv: caDir logDir upstreamCertPath.
// AGENTTAP_DIST: another build's dist/index.js (the bench's --baseline), else this package's.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const { createCaptureProxy } = await import(process.env.AGENTTAP_DIST ? pathToFileURL(process.env.AGENTTAP_DIST).href : '../dist/index.js')

const [caDir, logDir, certPath] = process.argv.slice(2)
// BENCH_NO_CAPTURE=1 measures the pass-through alone (nothing captured).
const proxy = createCaptureProxy({
  port: 0,
  caDir,
  logDir,
  ...(process.env.BENCH_NO_CAPTURE ? { excludeHosts: ['127.0.0.1'] } : { includeHosts: ['127.0.0.1'] }),
  upstreamCa: readFileSync(certPath, 'utf8'),
  // BENCH_RAW_BODIES=off|redacted measures the cost of the per-flow raw body files.
  ...(process.env.BENCH_RAW_BODIES ? { rawBodies: process.env.BENCH_RAW_BODIES } : {}),
})
await proxy.start()
process.stdout.write(`${proxy.port} ${proxy.caCertPath}\n`)
process.on('SIGTERM', async () => {
  await proxy.stop()
  process.exit(0)
})
