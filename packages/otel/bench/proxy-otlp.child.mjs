// The agenttap proxy with (BENCH_OTLP=<endpoint>) or without the live OTLP export sink, in its own
// process. argv: caDir logDir upstreamCertPath. Prints `<port> <caCertPath>`; on SIGTERM prints the
// export's stats as JSON and exits.
import { readFileSync } from 'node:fs'
import { createCaptureProxy } from '../../proxy-capture/dist/index.js'
import { createOtlpLiveExport } from '../dist/index.js'

const [caDir, logDir, certPath] = process.argv.slice(2)
const otlp = process.env.BENCH_OTLP ? createOtlpLiveExport({ endpoint: process.env.BENCH_OTLP }) : undefined
const proxy = createCaptureProxy({ port: 0, caDir, logDir, includeHosts: ['127.0.0.1'], upstreamCa: readFileSync(certPath, 'utf8'), ...(otlp ? { sinks: [otlp] } : {}) })
await proxy.start()
process.stdout.write(`${proxy.port} ${proxy.caCertPath}\n`)
process.on('SIGTERM', async () => {
  await proxy.stop()
  process.stdout.write(`${JSON.stringify(otlp?.stats ?? null)}\n`)
  process.exit(0)
})
