// A capture proxy in its own process, for the SIGKILL test. argv: caDir logDir upstreamCertPath.
import { readFileSync } from 'node:fs'
import { createCaptureProxy } from '../dist/index.js'

const [caDir, logDir, certPath] = process.argv.slice(2)
const proxy = createCaptureProxy({ port: 0, caDir, logDir, includeHosts: ['127.0.0.1'], upstreamCa: readFileSync(certPath, 'utf8') })
await proxy.start()
process.stdout.write(`${proxy.port}\n`)
