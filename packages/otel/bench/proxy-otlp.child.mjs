// The agenttap proxy with (BENCH_OTLP=<endpoint>) or without the live OTLP export sink, in its own
// process. argv: caDir logDir upstreamCertPath. BENCH_OTEL_DIST: another build of @agenttap/otel's
// dist/index.js (a before/after pair). Prints `<port> <caCertPath>`. On stdin, `reset` starts a
// measurement window and `report` prints its JSON: the event-loop delay of the proxy's main thread
// (the relay's: p50/p99/max ms, sampled every ms), the process's CPU seconds in the window and the
// main thread's alone (Linux: /proc/self/task/<pid>/stat, 10 ms ticks; NaN elsewhere). On
// SIGTERM prints the export's stats as JSON and exits.
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { createCaptureProxy } from '../../proxy-capture/dist/index.js'

const [caDir, logDir, certPath] = process.argv.slice(2)
const { createOtlpLiveExport } = await import(process.env.BENCH_OTEL_DIST ? pathToFileURL(process.env.BENCH_OTEL_DIST).href : '../dist/index.js')
const otlp = process.env.BENCH_OTLP ? createOtlpLiveExport({ endpoint: process.env.BENCH_OTLP }) : undefined
const proxy = createCaptureProxy({ port: 0, caDir, logDir, includeHosts: ['127.0.0.1'], upstreamCa: readFileSync(certPath, 'utf8'), ...(otlp ? { sinks: [otlp] } : {}) })
await proxy.start()
/** CPU seconds of this process's main thread (the one that relays the traffic). */
const mainCpu = () => {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of stat (utime, stime), counted after the command's closing parenthesis.
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch {
    return Number.NaN
  }
}
const eld = monitorEventLoopDelay({ resolution: 1 })
eld.enable()
let cpu0 = process.cpuUsage()
let main0 = mainCpu()
process.stdout.write(`${proxy.port} ${proxy.caCertPath}\n`)
createInterface({ input: process.stdin }).on('line', (cmd) => {
  if (cmd === 'reset') {
    eld.reset()
    cpu0 = process.cpuUsage()
    main0 = mainCpu()
  } else if (cmd === 'report') {
    const c = process.cpuUsage(cpu0)
    process.stdout.write(`${JSON.stringify({ eldP50: eld.percentile(50) / 1e6, eldP99: eld.percentile(99) / 1e6, eldMax: eld.max / 1e6, cpu: (c.user + c.system) / 1e6, mainCpu: mainCpu() - main0 })}\n`)
  }
})
process.on('SIGTERM', async () => {
  await proxy.stop()
  process.stdout.write(`${JSON.stringify(otlp?.stats ?? null)}\n`)
  process.exit(0)
})
