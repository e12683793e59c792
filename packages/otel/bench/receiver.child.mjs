// A local OTLP receiver for the bench, in its own process (decoding must not share the exporter's
// event loop): the package's own receiver, keeping every item. Prints its URL; on SIGTERM prints
// `{"records": n, "spans": n}` and exits.
import { createOtlpReceiver } from '../dist/index.js'

let records = 0
let spans = 0
const r = createOtlpReceiver({ port: 0, allServices: true, onRecord: (x) => {
  records++
  if (x.signal === 'span') spans++
} })
process.stdout.write(`${await r.start()}\n`)
process.on('SIGTERM', async () => {
  process.stdout.write(`${JSON.stringify({ records, spans })}\n`)
  await r.close()
  process.exit(0)
})
