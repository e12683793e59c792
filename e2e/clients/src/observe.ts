/**
 * What the suite reads back after a run, the way a user reads it: the capture files, the built
 * `agenttap-analyze` / `agenttap-monitor` bins, the monitor on a real terminal (tmux), the web
 * view's API, and the Redis stream.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { BINS } from './proxy.js'

export type Rec = Record<string, unknown> & { type: string; flow_id: string }

export interface Capture {
  flows: Rec[]
  lines: Rec[]
  ends: Rec[]
}

function jsonl(path: string): Rec[] {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Rec)
}

/** The three capture files under `<logDir>/all-mitm-sse/`. */
export function readCapture(logDir: string): Capture {
  const dir = join(logDir, 'all-mitm-sse')
  return { flows: jsonl(join(dir, 'sse_flows.jsonl')), lines: jsonl(join(dir, 'sse_lines.jsonl')), ends: jsonl(join(dir, 'sse_flow_ends.jsonl')) }
}

function run(bin: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(t)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `agenttap-analyze <mode> --format ndjson` rows (throws on a non-zero exit, with stderr). */
export async function analyze(logDir: string, mode: string, args: string[] = []): Promise<Array<Record<string, unknown>>> {
  const r = await run(BINS.analyze, [...mode.split(' '), '--log-dir', logDir, '--format', 'ndjson', '--quiet', ...args])
  if (r.code !== 0) throw new Error(`agenttap-analyze ${mode} exited ${r.code}:\n${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** `agenttap-monitor --json --delay-ms 0` over the capture: its NDJSON events. */
export async function monitorJson(logDir: string): Promise<Array<Record<string, unknown>>> {
  const r = await run(BINS.monitor, ['--json', '--log-dir', logDir, '--delay-ms', '0'])
  if (r.code !== 0) throw new Error(`agenttap-monitor --json exited ${r.code}:\n${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

export const hasTmux = spawnSync('tmux', ['-V']).status === 0

/**
 * The monitor's screen: `agenttap-monitor --delay-ms 0` in a 200×60 tmux pane (a real terminal),
 * read with `capture-pane` (scrollback included) once `until` matches or the monitor has exited.
 */
export async function monitorScreen(logDir: string, until: RegExp, timeoutMs = 20_000): Promise<string> {
  const session = `agenttap-e2e-${process.pid}-${Date.now()}`
  const tmux = (...a: string[]): string => execFileSync('tmux', a, { encoding: 'utf8' })
  tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '60', `${process.execPath} ${BINS.monitor} --log-dir ${logDir} --delay-ms 0 --color never; sleep 60`)
  tmux('set-option', '-t', session, 'history-limit', '20000')
  try {
    const deadline = Date.now() + timeoutMs
    let screen = ''
    while (Date.now() < deadline) {
      screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)
      if (until.test(screen)) return screen
      await new Promise((r) => setTimeout(r, 100))
    }
    return screen
  } finally {
    spawnSync('tmux', ['kill-session', '-t', session])
  }
}

/** GET a web view API path (the token from the URL the proxy printed). */
export async function webApi(webUrl: string, path: string): Promise<unknown> {
  const u = new URL(webUrl)
  const token = u.searchParams.get('token') ?? ''
  const res = await fetch(new URL(path, u.origin), { headers: { authorization: `Bearer ${token}`, 'x-agenttap-token': token } })
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

/** Every file under `dir` (recursive) as text, with its path. */
export function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const s = statSync(p)
      if (s.isDirectory()) walk(p)
      else out.push({ path: p, text: readFileSync(p).toString('latin1') })
    }
  }
  walk(dir)
  return out
}

/** Where any 10-character piece of any secret occurs in `haystacks`. */
export function findSecrets(secrets: readonly string[], haystacks: ReadonlyArray<{ path: string; text: string }>): string[] {
  const found: string[] = []
  for (const s of secrets)
    for (let i = 0; i + 10 <= s.length; i += 5) {
      const piece = s.slice(i, i + 10)
      for (const h of haystacks) if (h.text.includes(piece)) found.push(`${h.path}: …${piece}… of a secret`)
    }
  return [...new Set(found)]
}
