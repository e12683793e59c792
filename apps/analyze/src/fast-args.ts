/**
 * The options of a mode command read without commander. Loading commander and building its
 * command costs ~25 CPU ms at every start, a tenth of a warm `daily --source transcripts`; the
 * command lines people and scripts type are plain: known options, each value its own word. Such
 * a line is read here, from the same option table commander is given (options.ts `COMMON_OPTIONS`),
 * to the same options object commander's parse makes (defaults included; a variadic option
 * repeated collects every value; another option repeated keeps the last). Anything else — help,
 * `--version`, an unknown option, `--opt=value`, `-qv`, a value starting with `-`, a value
 * outside an option's choices, an extra argument, a missing value — is left to commander
 * (undefined), which reads it as before or prints its error.
 */

/** One option as commander is given it: `-f, --format <format>`, `--claude-dir <dir...>`, `--no-index`, `-q, --quiet`. */
export interface OptionSpec {
  flags: string
  help: string
  default?: string
  choices?: readonly string[]
}

interface Spec {
  key: string
  value: boolean
  variadic: boolean
  negate: boolean
  choices: readonly string[] | undefined
}

const FLAGS = /^(?:(-[A-Za-z]), )?--([a-z][a-z0-9-]*)(?: <[a-z]+(\.\.\.)?>)?$/

const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The option words of a table and their defaults (memoized per table). */
function specsOf(options: readonly OptionSpec[]): { byWord: Map<string, Spec>; defaults: Record<string, unknown> } {
  let s = memo.get(options)
  if (s !== undefined) return s
  const byWord = new Map<string, Spec>()
  const defaults: Record<string, unknown> = {}
  for (const o of options) {
    const m = FLAGS.exec(o.flags)
    if (m === null) throw new Error(`fast-args: cannot read the flags ${JSON.stringify(o.flags)}`)
    const negate = m[2]!.startsWith('no-')
    const spec: Spec = { key: camel(negate ? m[2]!.slice(3) : m[2]!), value: o.flags.includes('<'), variadic: m[3] !== undefined, negate, choices: o.choices }
    if (m[1] !== undefined) byWord.set(m[1], spec)
    byWord.set(`--${m[2]!}`, spec)
    if (negate) defaults[spec.key] = true
    else if (o.default !== undefined) defaults[spec.key] = o.default
  }
  s = { byWord, defaults }
  memo.set(options, s)
  return s
}
const memo = new WeakMap<readonly OptionSpec[], { byWord: Map<string, Spec>; defaults: Record<string, unknown> }>()

/**
 * The options object of `args` (the words after the command name), as commander's parse with
 * `options` makes it; undefined when the line is not a plain one (see the module comment).
 */
export function fastOptions(args: readonly string[], options: readonly OptionSpec[]): Record<string, unknown> | undefined {
  const { byWord, defaults } = specsOf(options)
  const out: Record<string, unknown> = { ...defaults }
  const given = new Set<string>()
  for (let i = 0; i < args.length; i++) {
    const spec = byWord.get(args[i]!)
    if (spec === undefined) return undefined
    if (!spec.value) {
      out[spec.key] = !spec.negate
      continue
    }
    const plain = (w: string | undefined): w is string => w !== undefined && !w.startsWith('-')
    if (!plain(args[i + 1])) return undefined
    const values = [args[++i]!]
    if (spec.variadic) while (plain(args[i + 1])) values.push(args[++i]!)
    if (spec.choices !== undefined && !values.every((v) => spec.choices!.includes(v))) return undefined
    if (spec.variadic) out[spec.key] = given.has(spec.key) ? [...(out[spec.key] as string[]), ...values] : values
    else out[spec.key] = values[0]
    given.add(spec.key)
  }
  return out
}
