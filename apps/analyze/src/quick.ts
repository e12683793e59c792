import { statSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { isatty } from 'node:tty'
import { CLIENT_DIRS, defaultLogRoot } from '@agenttap/jsonl-io'
import { USER_PROMPT_COLUMNS, latestUserPrompts, toNdjson } from '@agenttap/extractors/prompts'
import { fastOptions } from './fast-args.js'
import { COMMON_OPTIONS } from './options.js'

/** The command names of `user_prompts` (see cli.ts `fastModeLine`). */
export const PROMPTS_COMMANDS: ReadonlySet<string> = new Set(['prompts', 'user_prompts', 'user-prompts'])

/**
 * `prompts -n N` on a plain command line, answered before the rest of the CLI is loaded: with
 * `@agenttap/extractors/prompts` (the prompt cache of a current index, else the flows read
 * backwards — what the extractor's auto engine answers) instead of the whole extractors package,
 * cli-kit and the command table, which cost the question more than its answer (issue 14: < 0.2 s
 * for the whole process). Only the line the full CLI would answer the same way with no side
 * output: NDJSON on stdout, no progress bar or warnings to show, a capture read from files, the
 * default engine. Undefined for anything else, and for any error (the full CLI then reads the
 * line again and reports it as it always does); otherwise the exit code.
 */
export async function quickPrompts(argv: readonly string[], env: Record<string, string | undefined>): Promise<number | undefined> {
  if (!PROMPTS_COMMANDS.has(argv[0] ?? '')) return undefined
  const o = fastOptions(argv.slice(1), COMMON_OPTIONS) as Record<string, string | string[] | boolean | undefined> | undefined
  if (o === undefined || typeof o.limit !== 'string' || !/^\d+$/.test(o.limit.trim())) return undefined
  if (o.engine !== 'auto' || o.index === false || o.rebuildIndex || o.includeAux || o.verbose || o.source !== 'wire') return undefined
  for (const k of ['outDir', 'prices', 'redis', 'indexDir', 'from', 'to', 'claudeDir', 'codexDir'] as const) if (o[k] !== undefined) return undefined
  if (!(o.format === 'ndjson' || (o.format === undefined && !isatty(1))) || !(o.quiet || !isatty(2))) return undefined
  if (typeof o.client === 'string' && !Object.keys(CLIENT_DIRS).includes(o.client) && o.client !== 'unknown') return undefined
  const logDir = typeof o.logDir === 'string' ? o.logDir : undefined
  // One capture file or stdin: indexed in memory for the run (single-input.ts), not read backwards.
  if (logDir === '-' || (logDir !== undefined && statSync(logDir, { throwIfNoEntry: false })?.isFile())) return undefined
  let text: string
  try {
    const filters = Object.fromEntries((['since', 'until', 'session', 'client'] as const).filter((k) => typeof o[k] === 'string').map((k) => [k, o[k] as string]))
    const rows = await latestUserPrompts(resolve(logDir ?? defaultLogRoot(env)), Number(o.limit), filters)
    text = toNdjson([...USER_PROMPT_COLUMNS], rows)
  } catch {
    return undefined
  }
  await writeOut(text)
  return 0
}

/**
 * Writes to fd 1 directly: no stdout stream to set up (a pipe's is a socket, with node:net
 * behind it). A reader that went away ends the run quietly, as `main` does; a non-blocking
 * stdout that is full gets the rest through the stream.
 */
async function writeOut(text: string): Promise<void> {
  const buf = Buffer.from(text, 'utf8')
  let off = 0
  try {
    while (off < buf.length) off += writeSync(1, buf, off, buf.length - off)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EPIPE') return
    if (code !== 'EAGAIN') throw e
    process.stdout.on('error', () => undefined)
    await new Promise<void>((done) => process.stdout.write(buf.subarray(off), () => done()))
  }
}
