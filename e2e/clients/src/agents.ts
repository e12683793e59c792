/**
 * The real clients, installed for this suite only: `agents/package.json` pins them and
 * `agents/package-lock.json` locks them; `ensureAgents()` runs `npm ci` into
 * `~/.cache/agenttap-e2e/<hash of the lockfile>` the first time (npm's own cache keeps the
 * tarballs), so the workspace's `pnpm install` never downloads the agent CLIs. `runClaude` /
 * `runCodex` / `runNodeScript` start them with a temporary HOME and config, for this suite and for
 * any other suite that wants to aim a real agent at its own server.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

const AGENTS_DIR = join(import.meta.dirname, '..', 'agents')

/** Paths and versions of the installed clients. */
export interface Agents {
  /** The install directory (`…/<hash>`, holding `node_modules`). */
  dir: string
  /** The Claude Code executable (native binary). */
  claude: string
  /** The Codex CLI launcher (`bin/codex.js`, run with node). */
  codex: string
  /** Installed versions, by package name. */
  versions: Record<string, string>
  /** Absolute path of a package's directory in the install (`@anthropic-ai/sdk`, `openai`, `undici`). */
  packageDir(name: string): string
  /** Whether this call installed them (a cold cache). */
  installed: boolean
  /** Seconds the install took (0 when cached). */
  installSeconds: number
}

/** The cache root: `AGENTTAP_E2E_CACHE`, or `~/.cache/agenttap-e2e`. */
export function agentsCacheRoot(): string {
  return process.env['AGENTTAP_E2E_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'agenttap-e2e')
}

/** The hash naming an install: the lockfile, the manifest, the platform and Node's major version. */
export function agentsHash(): string {
  const h = createHash('sha256')
  h.update(readFileSync(join(AGENTS_DIR, 'package.json')))
  h.update(readFileSync(join(AGENTS_DIR, 'package-lock.json')))
  h.update(`${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}`)
  return h.digest('hex').slice(0, 16)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function describe(dir: string, installed: boolean, installSeconds: number): Agents {
  const nm = join(dir, 'node_modules')
  const manifest = JSON.parse(readFileSync(join(AGENTS_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const versions: Record<string, string> = {}
  for (const name of Object.keys(manifest.dependencies)) versions[name] = (JSON.parse(readFileSync(join(nm, name, 'package.json'), 'utf8')) as { version: string }).version
  return { dir, claude: join(nm, '@anthropic-ai', 'claude-code', 'bin', 'claude.exe'), codex: join(nm, '@openai', 'codex', 'bin', 'codex.js'), versions, packageDir: (name) => join(nm, name), installed, installSeconds }
}

/**
 * Installs the pinned clients into the cache (once per lockfile) and returns their paths.
 * Concurrent callers wait for one install (a lock directory; a lock older than 15 minutes is
 * taken over). Throws with npm's output when the install fails.
 */
export async function ensureAgents(): Promise<Agents> {
  const root = agentsCacheRoot()
  const dir = join(root, agentsHash())
  if (existsSync(join(dir, '.complete'))) return describe(dir, false, 0)
  mkdirSync(root, { recursive: true })
  const lock = `${dir}.lock`
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (existsSync(join(dir, '.complete'))) return describe(dir, false, 0)
      try {
        if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true })
      } catch {
        /* gone meanwhile */
      }
      await sleep(500)
    }
  }
  const started = Date.now()
  try {
    if (existsSync(join(dir, '.complete'))) return describe(dir, false, 0)
    const work = `${dir}.tmp-${process.pid}`
    rmSync(work, { recursive: true, force: true })
    mkdirSync(work, { recursive: true })
    copyFileSync(join(AGENTS_DIR, 'package.json'), join(work, 'package.json'))
    copyFileSync(join(AGENTS_DIR, 'package-lock.json'), join(work, 'package-lock.json'))
    const npm = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error', '--foreground-scripts=false'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_engine_strict: 'false', npm_config_update_notifier: 'false' } })
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (out += d.toString()))
      child.on('close', (code) => resolve({ code, out }))
    })
    if (npm.code !== 0) {
      rmSync(work, { recursive: true, force: true })
      throw new Error(`npm ci of the e2e clients failed (exit ${npm.code}) in ${work}:\n${npm.out}`)
    }
    // Claude Code's postinstall copies its native binary over a placeholder; check it ran.
    const claude = join(work, 'node_modules', '@anthropic-ai', 'claude-code', 'bin', 'claude.exe')
    if (statSync(claude).size < 1_000_000) throw new Error(`Claude Code's native binary is missing (${claude} is the placeholder): its postinstall did not run`)
    writeFileSync(join(work, '.complete'), new Date().toISOString())
    rmSync(dir, { recursive: true, force: true })
    renameSync(work, dir)
    return describe(dir, true, (Date.now() - started) / 1000)
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Result of running a client. */
export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** The HOME the client ran with (its config and transcripts are under it). */
  home: string
}

export interface RunOptions {
  /** Extra environment (proxy variables, base URLs). API keys go here too. */
  env?: Record<string, string>
  /** The HOME to use. @defaultValue a new temporary directory */
  home?: string
  /** Working directory. @defaultValue `home` */
  cwd?: string
  /** Kill the client after this long. @defaultValue 120000 */
  timeoutMs?: number
}

/** A minimal environment: PATH and locale from this process, nothing else (no real keys or proxies leak in). */
function baseEnv(home: string): Record<string, string> {
  const keep = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'SHELL', 'USER', 'LOGNAME', 'TMPDIR']
  const env: Record<string, string> = { HOME: home, NO_COLOR: '1' }
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k] as string
  return env
}

/** Runs `command args` with `env` and a timeout, collecting its output. */
export function runProcess(command: string, args: readonly string[], opts: RunOptions & { env: Record<string, string>; home: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? opts.home, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, home: opts.home })
    })
  })
}

export interface ClaudeOptions extends RunOptions {
  /** The prompt (`claude -p <prompt>`). */
  prompt: string
  /** Extra CLI arguments. @defaultValue `['--allowedTools', 'Bash', '--model', 'claude-opus-4-5']` */
  args?: string[]
  /** Run it as `<wrapper…> <claude> -p …` (e.g. `node agenttap-proxy run --`). */
  wrapper?: string[]
}

/**
 * Runs `claude -p <prompt>` with a temporary HOME and CLAUDE_CONFIG_DIR, telemetry, error
 * reporting and the auto-updater off, and `env` on top (HTTPS_PROXY + NODE_EXTRA_CA_CERTS, or
 * ANTHROPIC_BASE_URL, and ANTHROPIC_API_KEY).
 */
export async function runClaude(opts: ClaudeOptions): Promise<RunResult> {
  const agents = await ensureAgents()
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'agenttap-e2e-claude-'))
  const env = { ...baseEnv(home), CLAUDE_CONFIG_DIR: join(home, '.claude'), DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1', ...opts.env }
  const args = ['-p', opts.prompt, ...(opts.args ?? ['--allowedTools', 'Bash', '--model', 'claude-opus-4-5'])]
  const [cmd, ...pre] = opts.wrapper ? [...opts.wrapper, agents.claude] : [agents.claude]
  return runProcess(cmd as string, [...pre, ...args], { ...opts, env, home })
}

export interface CodexOptions extends RunOptions {
  /** The prompt (`codex exec <prompt>`). */
  prompt: string
  /** `base_url` of the custom model provider. @defaultValue `https://api.openai.com/v1` */
  baseUrl?: string
  /** Speak WebSocket to the provider (`supports_websockets = true`). @defaultValue false */
  websocket?: boolean
  /** Model name. @defaultValue `gpt-5.1-codex` */
  model?: string
  /** The API key the provider gets (through `env_key`). */
  apiKey: string
  /** Extra CLI arguments before the prompt. */
  args?: string[]
  /** More config.toml lines, after the provider's table (e.g. an `[otel]` table). */
  config?: string[]
}

/**
 * Runs `codex exec <prompt>` with a temporary CODEX_HOME whose config.toml defines a custom model
 * provider (`fake`, Responses API, optionally over WebSocket), the sandbox off (the container has
 * none to offer) and `env` on top (HTTPS_PROXY + SSL_CERT_FILE / CODEX_CA_CERTIFICATE).
 */
export async function runCodex(opts: CodexOptions): Promise<RunResult> {
  const agents = await ensureAgents()
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'agenttap-e2e-codex-'))
  const codexHome = join(home, '.codex')
  mkdirSync(codexHome, { recursive: true })
  const toml = [
    `model = "${opts.model ?? 'gpt-5.1-codex'}"`,
    'model_provider = "fake"',
    'model_reasoning_effort = "low"',
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    '',
    '[model_providers.fake]',
    'name = "Fake provider (agenttap e2e)"',
    `base_url = "${opts.baseUrl ?? 'https://api.openai.com/v1'}"`,
    'env_key = "AGENTTAP_E2E_OPENAI_KEY"',
    'wire_api = "responses"',
    `supports_websockets = ${opts.websocket === true}`,
    'request_max_retries = 4',
    'stream_max_retries = 2',
    '',
    ...(opts.config ?? []),
    '',
  ].join('\n')
  writeFileSync(join(codexHome, 'config.toml'), toml)
  const env = { ...baseEnv(home), CODEX_HOME: codexHome, AGENTTAP_E2E_OPENAI_KEY: opts.apiKey, RUST_LOG: 'error', ...opts.env }
  const args = [agents.codex, 'exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', ...(opts.args ?? []), opts.prompt]
  return runProcess(process.execPath, args, { ...opts, env, home })
}

/**
 * Runs a Node script (ESM) that imports the pinned SDKs: the script gets the install's
 * `node_modules` as `AGENTTAP_E2E_NODE_MODULES` and resolves packages from it
 * (`createRequire(join(dir, 'x.js')).resolve('openai')`).
 */
export async function runNodeScript(script: string, opts: RunOptions & { args?: string[] } = {}): Promise<RunResult> {
  const agents = await ensureAgents()
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'agenttap-e2e-sdk-'))
  const env = { ...baseEnv(home), AGENTTAP_E2E_NODE_MODULES: join(agents.dir, 'node_modules'), ...opts.env }
  return runProcess(process.execPath, [script, ...(opts.args ?? [])], { ...opts, env, home })
}

/** Whether the agent binaries can run here (they are x64/arm64 Linux / macOS / Windows builds). */
export function agentsSupported(): boolean {
  return ['linux', 'darwin', 'win32'].includes(process.platform) && ['x64', 'arm64'].includes(process.arch) && spawnSync('npm', ['--version']).status === 0
}
