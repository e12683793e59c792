import type { Command } from 'commander'
import { commander } from '@agenttap/cli-kit'
import { formatTable, isoInstant, toNdjson, type Row } from '@agenttap/extractors'
import type { LedgerContent, ModelCall, TelemetryFact } from '@agenttap/ledger'
import { EXIT, UsageError } from './errors.js'
import type { CliIo } from './cli.js'

interface OtelOpts {
  logDir?: string
  endpoint?: string
  since?: string
  content?: boolean
  includeAux?: boolean
  header?: string[]
  metrics: boolean
  session?: string
  format?: 'ndjson' | 'table'
  quiet?: boolean
}

function headersOf(list: string[] | undefined): Record<string, string> | undefined {
  if (!list || list.length === 0) return undefined
  const out: Record<string, string> = {}
  for (const h of list) {
    const i = h.indexOf('=')
    if (i <= 0) throw new UsageError(`--header expects name=value, got ${JSON.stringify(h)}`)
    out[h.slice(0, i).trim()] = h.slice(i + 1).trim()
  }
  return out
}

/** `otlp`: the capture's model calls as OTLP GenAI spans and metrics to an endpoint. */
async function otlp(o: OtelOpts, io: CliIo, logRoot: string): Promise<number> {
  if (!o.endpoint) throw new UsageError('--endpoint <url> is required, e.g. --endpoint http://127.0.0.1:4318')
  const since = o.since !== undefined ? isoInstant(o.since, '--since') : undefined
  const contents = new Map<string, LedgerContent>()
  let failures = 0
  const headers = headersOf(o.header)
  // The OpenTelemetry SDK is a few hundred CommonJS modules: only these two commands load it.
  const { createCallsExport, readCaptureCalls, OtelError } = await import('@agenttap/otel')
  let exp
  try {
    exp = createCallsExport({
      endpoint: o.endpoint,
      ...(headers ? { headers } : {}),
      ...(o.content ? { content: true, contentOf: (h: string) => contents.get(h) } : {}),
      ...(o.includeAux ? { includeAux: true } : {}),
      metrics: o.metrics,
      onError: (e) => {
        failures++
        if (!o.quiet && (failures === 1 || failures % 100 === 0)) io.stderr.write(`warning: ${e.message}\n`)
      },
    })
  } catch (err) {
    if (err instanceof OtelError && err.code === 'INVALID_OPTION') throw new UsageError(err.message)
    throw err
  }
  const t0 = performance.now()
  let problems = 0
  const read = await readCaptureCalls(logRoot, {
    ...(since !== undefined ? { since } : {}),
    onCall: (c) => exp.feed(c),
    ...(o.content ? { onContent: (c: LedgerContent) => void (c.kind === 'system' && contents.set(c.hash, c)) } : {}),
    onError: () => void problems++,
  })
  const s = await exp.end()
  const secs = (performance.now() - t0) / 1000
  if (!o.quiet) {
    io.stderr.write(
      `${s.calls} call(s) from ${read.files.length} file(s) (${(read.bytes / 1e6).toFixed(1)} MB) → ${s.exported}/${s.spans} span(s) exported to ${o.endpoint}` +
        `${s.failed ? `, ${s.failed} failed` : ''}, ${s.metricPoints} metric point(s), ${secs.toFixed(1)} s` +
        `${problems ? `; ${problems} input problem(s) skipped (agenttap-analyze check lists them)` : ''}\n`,
    )
  }
  return s.failed > 0 ? EXIT.RUNTIME : EXIT.OK
}

const COLUMNS = ['kind', 'field', 'session_id', 'client', 'call_key', 'request_id', 'tool_call_id', 'wire', 'telemetry', 'time']

/** `telemetry`: where the capture and the agents' own telemetry differ. */
async function telemetry(o: OtelOpts, io: CliIo, logRoot: string): Promise<number> {
  const since = o.since !== undefined ? isoInstant(o.since, '--since') : undefined
  const { readCaptureCalls, reconcileTelemetry } = await import('@agenttap/otel')
  const calls: ModelCall[] = []
  const facts: TelemetryFact[] = []
  await readCaptureCalls(logRoot, {
    ...(since !== undefined ? { since } : {}),
    onCall: (c) => {
      if (o.session !== undefined && c.session_id !== o.session) return
      // Only what reconciling compares is kept: the texts can be large.
      calls.push({ ...c, text: '', reasoning: '', tool_calls: c.tool_calls.map((t) => ({ ...t, arguments: '' })), tool_results: c.tool_results.map((r) => ({ ...r, output: '' })) })
    },
    onTelemetry: (f) => {
      if (o.session === undefined || f.session_id === o.session) facts.push(f)
    },
  })
  const { rows, summary } = reconcileTelemetry(calls, facts)
  const format = o.format ?? (io.stdout.isTTY ? 'table' : 'ndjson')
  const plain = rows as unknown as Row[]
  if (format === 'ndjson') io.stdout.write(rows.length ? toNdjson(COLUMNS, plain) : '')
  else io.stdout.write(rows.length === 0 ? '(no differences)\n' : formatTable(COLUMNS, plain, { width: io.stdout.isTTY ? (io.stdout.columns ?? 120) : 200 }))
  if (!o.quiet) {
    io.stderr.write(
      `${summary.calls} wire call(s), ${summary.facts} telemetry event(s): ${summary.joinedRequests} request(s) and ${summary.joinedTools} tool result(s) joined; ` +
        `${summary.differs} difference(s), ${summary.wireOnly} call(s) without telemetry, ${summary.telemetryOnly} event(s) without a wire call; agent cost estimate $${summary.costUsd.toFixed(4)}\n`,
    )
    if (summary.facts === 0) io.stderr.write('note: no telemetry in this capture; start the proxy with --otlp-receiver 4318 and point the agent\'s OTEL_EXPORTER_OTLP_ENDPOINT at it\n')
  }
  return EXIT.OK
}

/**
 * The OpenTelemetry commands: `otlp` (export) and `telemetry` (the capture vs the agents' own
 * telemetry). `logRootOf` resolves --log-dir the way every other command does.
 */
export function addOtelCommands(program: Command, io: CliIo, state: { code: number }, logRootOf: (o: { logDir?: string }) => string): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v]
  program
    .command('otlp')
    .description('export the captured model calls as OpenTelemetry GenAI spans and metrics (OTLP/HTTP protobuf); re-exports keep the same ids')
    .requiredOption('--endpoint <url>', 'OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318 (/v1/traces and /v1/metrics are appended)')
    .option('--log-dir <dir>', 'log root or capture dir (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .option('--since <when>', 'calls that started at/after (ISO date or age: 30m, 2h, 7d)')
    .option('--content', 'record prompts, answers, tool arguments and results on the spans (as redacted on disk)')
    .option('--include-aux', 'also export auxiliary (non-model) requests')
    .option('--header <name=value>', 'extra header for the endpoint (repeatable), e.g. an API key', collect)
    .addOption(new commander.Option('--no-metrics', 'spans only, no gen_ai.client.* metrics'))
    .option('-q, --quiet', 'no summary on stderr')
    .action(async (o: OtelOpts) => {
      state.code = await otlp(o, io, logRootOf(o))
    })
  program
    .command('telemetry')
    .description('where the capture and the agents\' own OpenTelemetry events (stored by agenttap-proxy --otlp-receiver) differ: tokens, model, tool outcomes, calls one side lacks')
    .option('--log-dir <dir>', 'log root or capture dir (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .option('--since <when>', 'calls that started at/after (ISO date or age)')
    .option('--session <id>', 'only this session id')
    .addOption(new commander.Option('-f, --format <format>', 'output format (default: table on a TTY, else ndjson)').choices(['ndjson', 'table']))
    .option('-q, --quiet', 'no summary on stderr')
    .action(async (o: OtelOpts) => {
      state.code = await telemetry(o, io, logRootOf(o))
    })
}
