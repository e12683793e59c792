import { existsSync, statSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fastOptions } from './fast-args.js'
import { COMMON_OPTIONS } from './options.js'
import { problemLine } from './problem-line.js'
import { missingDir, transcriptDirsFrom } from './transcript-dirs.js'
import type { TranscriptUsageNdjsonResult } from '@agenttap/extractors/transcript-usage'

/**
 * The warm transcripts path bundled (src/transcript-usage-bundle.ts, built as its own file by
 * tsup.config.ts): a specifier in a variable, for this build to leave it to the runtime.
 */
const TRANSCRIPT_USAGE_BUNDLE: string = './quick/transcript-usage.js'

/**
 * Whether `fd` is a terminal: node:tty only when asked — loading it loads node:net and the stream
 * machinery behind it, a few ms of a line that says `-f ndjson -q` and never asks.
 */
const isatty = (fd: number): boolean => process.getBuiltinModule('node:tty').isatty(fd)

/**
 * jsonl-io when a line needs it (the default log root, the client names): a warm transcripts line
 * with `--index-dir` does not, and its bundle has its own copy of what it uses (two module files
 * fewer to resolve, read and compile).
 */
const jsonlIo = (): Promise<typeof import('@agenttap/jsonl-io')> => import('@agenttap/jsonl-io')

/** The log root: `--log-dir`, else the default one. */
const logRootOf = async (o: Opts, env: Record<string, string | undefined>): Promise<string> => resolve(typeof o.logDir === 'string' ? o.logDir : (await jsonlIo()).defaultLogRoot(env))

/** The command names of `user_prompts` (see cli.ts `fastModeLine`). */
export const PROMPTS_COMMANDS: ReadonlySet<string> = new Set(['prompts', 'user_prompts', 'user-prompts'])
/** The command names of the modes the wire facts answer, and their modes. */
export const FACTS_COMMANDS: ReadonlyMap<string, 'usage' | 'cost' | 'sessions' | 'tool_calls'> = new Map([['usage', 'usage'], ['cost', 'cost'], ['sessions', 'sessions'], ['tool_calls', 'tool_calls'], ['tool-calls', 'tool_calls']] as const)

/** The command names answered from the transcripts' usage summary (`--source transcripts`). */
export const TRANSCRIPT_USAGE_COMMANDS: ReadonlySet<string> = new Set(['daily', 'usage', 'cost'])

type Opts = Record<string, string | string[] | boolean | undefined>

/**
 * A plain mode line answered before the rest of the CLI is loaded, when the full CLI would answer
 * it the same way with no side effect: `prompts -n N` with `@agenttap/extractors/prompts` (the
 * prompt cache of a current index, else the flows read backwards), and `usage`, `cost`,
 * `sessions`, `tool_calls` with `@agenttap/extractors/facts` (the wire facts of a current index).
 * The whole extractors package, cli-kit and the command table cost these questions more than
 * their answers (issue 14: < 0.2 s and < 0.3 s for the whole process). Only NDJSON on stdout, no
 * progress bar to show, a capture read from files, the default engine and prices. Undefined for
 * anything else — an index to build or update, a filter, another format — and for any error:
 * the full CLI then reads the line again and answers or reports it as it always does.
 */
export async function quickLine(argv: readonly string[], env: Record<string, string | undefined>): Promise<number | undefined> {
  const name = argv[0] ?? ''
  if (TRANSCRIPT_USAGE_COMMANDS.has(name) && argv.includes('transcripts')) return transcriptUsage(name as 'daily' | 'usage' | 'cost', argv, env)
  const facts = FACTS_COMMANDS.get(name)
  if (facts === undefined && !PROMPTS_COMMANDS.has(name)) return undefined
  const o = plainOptions(argv)
  if (o === undefined || o.source !== 'wire') return undefined
  for (const k of ['indexDir', 'claudeDir', 'codexDir'] as const) if (o[k] !== undefined) return undefined
  const root = await logRootOf(o, env)
  return facts === undefined ? prompts(root, o) : factsMode(root, facts, o)
}

/**
 * The options of a line a quick path may answer: the default engine and prices, the index used as
 * it is, NDJSON on stdout with no progress bar to show, no Redis or range, a log root that is not
 * one capture file or stdin (those are indexed in memory for the run, single-input.ts).
 * Undefined for any other line.
 */
function plainOptions(argv: readonly string[]): Opts | undefined {
  const o = fastOptions(argv.slice(1), COMMON_OPTIONS) as Opts | undefined
  if (o === undefined || o.engine !== 'auto' || o.index === false || o.rebuildIndex || o.includeAux || o.verbose) return undefined
  for (const k of ['outDir', 'prices', 'redis', 'from', 'to'] as const) if (o[k] !== undefined) return undefined
  if (!(o.format === 'ndjson' || (o.format === undefined && !isatty(1))) || !(o.quiet || !isatty(2))) return undefined
  const logDir = o.logDir
  if (logDir === '-' || (typeof logDir === 'string' && statSync(logDir, { throwIfNoEntry: false })?.isFile())) return undefined
  return o
}

/**
 * `daily`, `usage`, `cost --source transcripts`, NDJSON, no filter or limit, bundled prices:
 * from the transcripts' usage summary with `@agenttap/extractors/transcript-usage` (the summary
 * brought up to date first, as the full CLI's transcript extractor does), without cli-kit, the
 * command table and the rest of the extractors (issue 19: a warm `daily` is mostly the start
 * of the process). A warm run reads through the bundle of that entry (dist/quick, see
 * transcript-usage-bundle.ts) when it is the installed packages' code. Undefined before anything
 * is written for any other line or any error: the full CLI then reads the line again and answers
 * or reports it as always.
 */
async function transcriptUsage(mode: 'daily' | 'usage' | 'cost', argv: readonly string[], env: Record<string, string | undefined>): Promise<number | undefined> {
  const o = plainOptions(argv)
  if (o === undefined || o.source !== 'transcripts') return undefined
  for (const k of ['limit', 'since', 'until', 'session', 'client'] as const) if (o[k] !== undefined) return undefined
  const out = stdoutWriter()
  let r: TranscriptUsageNdjsonResult | undefined
  try {
    // The dirs as the full CLI resolves them (cli.ts transcriptDirsOf); its errors are its own.
    const dirs = transcriptDirsFrom(o.claudeDir as string[] | undefined, o.codexDir as string[] | undefined, env)
    if (dirs.claude.length + dirs.codex.length === 0 || missingDir(dirs) !== undefined) return undefined
    const indexDir = resolve(typeof o.indexDir === 'string' ? o.indexDir : join(await logRootOf(o, env), 'transcripts-index'))
    // A summary to bring up to date: the bundle (one file, dist/quick), when it is the installed
    // packages' code; it hands an update that needs worker threads to the package (undefined).
    const bundle = (await import(TRANSCRIPT_USAGE_BUNDLE)) as typeof import('./transcript-usage-bundle.js')
    const warm = existsSync(join(indexDir, bundle.USAGE_SUMMARY_FILE))
    if (warm) warmCompilerBudget()
    // Written as made, once the summary is up to date (nothing is written when it cannot answer):
    // no copy of the lines — a copy of a `usage` answer (18 MB) was a fifth of its warm run, most
    // of it faulting in fresh pages.
    if (warm && bundle.bundleCurrent()) r = await bundle.transcriptUsageNdjson(dirs, indexDir, mode, out.write, { maxProblems: 1, onThisThread: true })
    r ??= await (await import('@agenttap/extractors/transcript-usage')).transcriptUsageNdjson(dirs, indexDir, mode, out.write, { maxProblems: 1 })
  } catch (e) {
    // Before any line is out, the full CLI reads the line again; after, the error is the run's.
    if (!out.started()) return undefined
    writeSync(2, `agenttap-analyze: could not write stdout: ${e instanceof Error ? e.message : String(e)}\n`)
    return 1
  }
  if (!(await out.end())) return 0
  // As the full CLI after a mode that read the index: the rebuild note, the input it skipped.
  if (!o.quiet && r.rebuilt !== undefined) writeSync(2, `note: the index was rebuilt (${r.rebuilt})\n`)
  const line = o.quiet ? undefined : problemLine(r.problems)
  if (line !== undefined) writeSync(2, `warning: ${line}\n`)
  return 0
}

/**
 * V8's interrupt budget (bytecodes run between tier-up checks) for a warm run: 4 × the default of
 * Node 20's V8 (67,584). Measured on a warm `daily` after one new session (callgrind,
 * --single-threaded, instructions): default 640 M, 2 × 536 M, 3–4 × 514 M, 6 × 534 M, 8 × 543 M
 * — a larger budget leaves more in the interpreter.
 */
const WARM_INTERRUPT_BUDGET = 4 * 67584

/**
 * A warm run over the usage summary (the summary is there) is short: most of its code runs a few
 * thousand times at most (2,000 stats, the new calls, 700 daily rows), and at V8's default
 * budget the optimizing compiler compiles dozens of those functions (the stat wrappers, the JSON
 * scanners, the importer's) for a run that ends before they pay off — ~15 % of the instructions
 * of a warm `daily`. A larger budget for this process leaves them to the baseline tiers; it holds
 * for the rest of the process (a large update's worker threads too: 46 MB of new sessions read
 * with less CPU, not more). Not for a first read (no summary): its importer runs for seconds, and
 * a later tier-up cost it ~7 % CPU. A V8 flag set after start (Node's docs warn that some may
 * misbehave): this one only tunes when functions are compiled, not what they do.
 */
function warmCompilerBudget(): void {
  process.getBuiltinModule('node:v8').setFlagsFromString(`--interrupt-budget=${WARM_INTERRUPT_BUDGET}`)
}

async function prompts(root: string, o: Opts): Promise<number | undefined> {
  if (typeof o.limit !== 'string' || !/^\d+$/.test(o.limit.trim())) return undefined
  if (typeof o.client === 'string' && !Object.keys((await jsonlIo()).CLIENT_DIRS).includes(o.client) && o.client !== 'unknown') return undefined
  let text: string
  try {
    const { USER_PROMPT_COLUMNS, latestUserPrompts, toNdjson } = await import('@agenttap/extractors/prompts')
    const filters = Object.fromEntries((['since', 'until', 'session', 'client'] as const).filter((k) => typeof o[k] === 'string').map((k) => [k, o[k] as string]))
    text = toNdjson([...USER_PROMPT_COLUMNS], await latestUserPrompts(root, Number(o.limit), filters))
  } catch {
    return undefined
  }
  await writeOut([Buffer.from(text, 'utf8')])
  return 0
}

async function factsMode(root: string, mode: 'usage' | 'cost' | 'sessions' | 'tool_calls', o: Opts): Promise<number | undefined> {
  if ((['limit', 'since', 'until', 'session', 'client'] as const).some((k) => o[k] !== undefined)) return undefined
  const out = stdoutWriter()
  let r: Awaited<ReturnType<typeof import('@agenttap/extractors/facts').currentFactsNdjson>>
  try {
    const { currentFactsNdjson } = await import('@agenttap/extractors/facts')
    // Written as made (nothing is written when the facts cannot answer): no copy of the lines.
    r = currentFactsNdjson(root, mode, out.write, { maxProblems: 1 })
  } catch (e) {
    // Before any line is out, the full CLI reads the line again; after, the error is the run's.
    if (!out.started()) return undefined
    writeSync(2, `agenttap-analyze: could not write stdout: ${e instanceof Error ? e.message : String(e)}\n`)
    return 1
  }
  if (r === undefined) return undefined
  if (!(await out.end())) return 0
  // As the full CLI after a mode that read the index: one line about the input it skipped.
  const line = o.quiet || r.problems === undefined ? undefined : problemLine(r.problems)
  if (line !== undefined) writeSync(2, `warning: ${line}\n`)
  return 0
}

/**
 * Writes to fd 1 directly: no stdout stream to set up (a pipe's is a socket, with node:net
 * behind it), and a buffer `write` is given may be reused once it returns. A reader that went
 * away ends the output quietly (`end` → false), as `main` does; a non-blocking stdout that is
 * full gets the rest through the stream (copied), flushed by `end`.
 */
function stdoutWriter(): { write: (b: Uint8Array) => void; started: () => boolean; end: () => Promise<boolean> } {
  let wrote = false
  let closed = false
  const rest: Buffer[] = []
  const write = (b: Uint8Array): void => {
    if (closed || b.length === 0) return
    wrote = true
    if (rest.length > 0) {
      rest.push(Buffer.copyBytesFrom(b))
      return
    }
    let off = 0
    try {
      while (off < b.length) off += writeSync(1, b, off, b.length - off)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EPIPE') closed = true
      else if (code === 'EAGAIN') rest.push(Buffer.copyBytesFrom(b, off))
      else throw e
    }
  }
  const end = async (): Promise<boolean> => {
    if (rest.length > 0) {
      process.stdout.on('error', () => undefined)
      for (const b of rest) await new Promise<void>((done) => process.stdout.write(b, () => done()))
    }
    return !closed
  }
  return { write, started: () => wrote, end }
}

async function writeOut(chunks: Buffer[]): Promise<void> {
  const out = stdoutWriter()
  for (const b of chunks) out.write(b)
  await out.end()
}
