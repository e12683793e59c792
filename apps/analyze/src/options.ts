import type { OptionSpec } from './fast-args.js'

/**
 * The options every mode command takes, in help order: commander is given them (addCommon), and
 * a plain command line is read from them without commander (fast-args.ts).
 */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { flags: '--log-dir <dir>', help: 'log root, capture dir, one capture file, or - for stdin (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)' },
  { flags: '--engine <engine>', help: 'auto, index (SQL over the index) or reverse (prompts -n N: read backwards)', default: 'auto' },
  { flags: '--no-index', help: 'build the index in memory for this run only (nothing written under the log dir)' },
  { flags: '--rebuild-index', help: 'empty the index and build it again from the capture' },
  { flags: '--include-aux', help: 'include auxiliary (non-model) requests in every mode' },
  { flags: '-f, --format <format>', help: 'output format (default: table on a TTY, else ndjson; ndjson files with --out-dir)', choices: ['ndjson', 'csv', 'parquet', 'table'] },
  { flags: '-o, --out-dir <dir>', help: 'write one file per mode (<mode>.<format>) instead of stdout' },
  { flags: '--since <when>', help: 'flows that started at/after (ISO date or age: 30m, 2h, 7d)' },
  { flags: '--until <when>', help: 'flows that started before (ISO date or age)' },
  { flags: '--session <id>', help: 'only this session id' },
  { flags: '--client <client>', help: 'only this client (claude-code, codex, unknown)' },
  { flags: '-n, --limit <n>', help: 'only the latest N rows' },
  { flags: '--prices <file>', help: 'price table JSON overriding the bundled one' },
  { flags: '-q, --quiet', help: 'no progress bar and no warnings on stderr' },
  { flags: '-v, --verbose', help: 'diagnostics (timings) on stderr' },
  { flags: '--redis <url>', help: 'index the Redis stream (agenttap-proxy --redis) instead of capture files' },
  { flags: '--stream <key>', help: 'Redis stream key', default: 'agenttap:events' },
  { flags: '--index-dir <dir>', help: 'Redis: where its index is kept (default: <log root>/redis-index/<host>-<port>-<stream>)' },
  { flags: '--from <id>', help: 'Redis: only entries after this stream id (an in-memory index for this range)' },
  { flags: '--to <id>', help: 'Redis: only entries up to this stream id, inclusive (an in-memory index for this range)' },
  { flags: '--source <source>', help: 'wire (the proxy\'s capture), transcripts (Claude Code transcripts and Codex rollouts on disk) or all', choices: ['wire', 'transcripts', 'all'], default: 'wire' },
  { flags: '--claude-dir <dir...>', help: 'transcripts: Claude Code projects dir(s) (default: $CLAUDE_CONFIG_DIR/projects, ~/.config/claude/projects, ~/.claude/projects)' },
  { flags: '--codex-dir <dir...>', help: 'transcripts: Codex sessions dir(s) (default: $CODEX_HOME/sessions, ~/.codex/sessions)' },
]
