/**
 * Replay, with the real clients: Claude Code (`claude -p`) and Codex (`codex exec`, SSE and
 * WebSocket) each run twice through the built proxy with a capture of their own — first against the
 * fake provider, then against `agenttap-proxy replay` (the built bin, `--as-fast`) of the first
 * capture, reached through the proxy's `--connect-to` with the agenttap CA as `--upstream-ca`. The
 * second run's client output and the second capture's calls must equal the first's, event for
 * event and byte for byte on the redacted bodies. Then a run with a changed prompt must diverge:
 * the client reports the provider-shaped error and `replay-divergences.jsonl` names the closest
 * call and shows the changed words of the first differing message, and none of the run's
 * auxiliary requests (asked again, more often than captured) is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureAgents, runClaude, runCodex, type RunResult } from '../src/agents.js'
import { PROVIDER_HOSTS } from '../src/certs.js'
import { analyze, readCapture, type Capture, type Rec } from '../src/observe.js'
import { BINS, startProxy, type RunningProxy } from '../src/proxy.js'
import { startFakeUpstream, type FakeUpstream } from '../src/upstream.js'

await ensureAgents()

interface ReplayCase {
  name: string
  tag: string
  /** Runs the client through `proxy` with the given HOME and working directory. */
  run(proxy: RunningProxy, prompt: string, home: string, cwd: string): Promise<RunResult>
  /** The part of the client's output a user reads (compared between the runs). */
  output(r: RunResult): string
}

interface Replay {
  port: number
  stdout(): string
  stderr(): string
  stop(): Promise<number | null>
  process: ChildProcess
}

/** `agenttap-proxy replay <logDir> --as-fast --ca-dir <caDir>`, ready once it printed its port. */
function startReplay(logDir: string, caDir: string, report: string): Promise<Replay> {
  const child = spawn(process.execPath, [BINS.proxy, 'replay', logDir, '--as-fast', '--ca-dir', caDir, '--report', report], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`agenttap-proxy replay exited with ${code}:\n${out}\n${err}`))
    child.once('exit', onExit)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (!m) return
      child.off('exit', onExit)
      const stop = async (): Promise<number | null> => {
        if (child.exitCode !== null) return child.exitCode
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
        child.kill('SIGTERM')
        return exited
      }
      resolve({ port: Number(m[1]), stdout: () => out, stderr: () => err, stop, process: child })
    })
  })
}

/**
 * What must be equal between the original capture and the replayed one, per flow in the order
 * the flows started. Left out, because they must differ between two runs: `flow_id`, `ts` and
 * every time (`t_ms`, `ttfb_ms`, `duration_ms`): another run, another clock; `session_id` and the
 * request headers: the clients make a new session id per run (Claude Code's
 * `x-claude-code-session-id`, Codex's `session-id`) and send it in headers and metadata; response
 * headers: the replay drops hop-by-hop / length / encoding headers and adds its own `date`;
 * `bytes` and `encoding`: the fake provider gzips the final answer, the replay serves it decoded.
 * The request bodies are compared with what the client makes anew each run masked: uuids
 * (`metadata.user_id`'s session part, `prompt_cache_key`, Codex's message ids, Claude Code's
 * `cc_prompt_id`), the `cch` checksum of Claude Code's billing line, and the random chunk id and
 * measured wall time of Codex's `exec_command` results, and Codex's `client_metadata` (turn,
 * thread and window ids, a request start time in ms, in hash-map order that changes from run to
 * run); the replay's fingerprint ignores them too.
 * Flows are in the order they started per method and URL: a client's concurrent requests to
 * different endpoints (Codex's plugin list beside its first model request) start in either order.
 */
function flowsOf(cap: Capture): Array<Record<string, unknown>> {
  const lines = new Map<string, Rec[]>()
  for (const l of cap.lines) {
    const a = lines.get(l.flow_id) ?? []
    a.push(l)
    lines.set(l.flow_id, a)
  }
  const order = (f: Rec): string => `${String(f['method'])} ${String(f['url'])}`
  const flows = cap.flows.map((f, i) => ({ f, i })).sort((a, b) => order(a.f).localeCompare(order(b.f)) || a.i - b.i).map((x) => x.f)
  return flows.map((f) => {
    const end = cap.ends.find((e) => e.type === 'flow_end' && e.flow_id === f.flow_id)
    return {
      client: f['client'],
      provider: f['provider'],
      method: f['method'],
      url: f['url'],
      status: f['status'],
      request_body: maskIds(f['request_body']),
      records: (lines.get(f.flow_id) ?? []).map((l) => ({ type: l.type, seq: l['seq'], event: l['event'], transport: l['transport'], data: l.type === 'client_frame' ? maskIds(l['data']) : l['data'] })),
      outcome: end?.['outcome'],
      end_status: end?.['status'],
      events: end?.['events'],
      body: end?.['body'],
      truncated: end?.['truncated'],
    }
  })
}

/** The per-run ids a client puts into its request bodies, masked (see `flowsOf`). */
function maskIds(v: unknown): unknown {
  let s = typeof v === 'string' ? v : JSON.stringify(v)
  if (s === undefined) return v
  if (s.includes('"client_metadata"')) {
    const o = JSON.parse(s) as Record<string, unknown>
    delete o['client_metadata']
    s = JSON.stringify(o)
  }
  return s
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/cch=[0-9a-f]+;/g, 'cch=<checksum>;')
    .replace(/Chunk ID: [0-9a-f]+(\\n|\n)Wall time: [0-9.]+ seconds/g, 'Chunk ID: <random>$1Wall time: <measured> seconds')
}

/** analyze rows (the ledger's calls) without what differs between runs (see `flowsOf`; `bytes`: the fake provider gzips the final answer, the replay serves it decoded). */
const VOLATILE = new Set(['bytes', 'flow_id', 'session_id', 'ts', 'time', 'first_seen', 'last_seen', 'started', 'ended', 'ttfb_ms', 'duration_ms', 'ttft_ms', 'start', 'end', 'flows_ids', 'request_id'])
function stable(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => [k, typeof v === 'string' ? maskIds(v) : v])))
}

/** The command the replayed conversations run: its output is the same in every run. */
const REPLAY_COMMAND = 'echo /replay/fixed-output'

const MODES = ['flows', 'usage', 'tool_calls', 'tool_results', 'assistant_text', 'prompts']

function replaySuite(c: ReplayCase): void {
  const root = mkdtempSync(join(tmpdir(), `agenttap-e2e-replay-${c.tag}-`))
  const caDir = join(root, 'ca')
  const home = join(root, 'home')
  const cwd = join(root, 'work')
  mkdirSync(home)
  mkdirSync(cwd)
  const prompt = `${c.tag}: list the files in /tmp, then tell me what you found.`
  const changed = `${c.tag}: list the files in /var, then tell me what you found.`
  const report = join(root, 'replay-divergences.jsonl')
  let upstream: FakeUpstream
  let replay: Replay | undefined
  let first: RunResult
  let second: RunResult
  let diverged: RunResult
  let divergedBefore: Array<Record<string, unknown>> = []
  const readReport = (): Array<Record<string, unknown>> => {
    let text = ''
    try {
      text = readFileSync(report, 'utf8')
    } catch {
      return []
    }
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  }
  let cap1: Capture
  let cap2: Capture
  const rows1: Record<string, unknown> = {}
  const rows2: Record<string, unknown> = {}

  const through = async (logDir: string, connectTo: string[], upstreamCa: string, p: string): Promise<RunResult> => {
    const proxy = await startProxy({ logDir, caDir, upstreamCa, connectTo })
    try {
      return await c.run(proxy, p, home, cwd)
    } finally {
      await proxy.stop()
    }
  }

  describe(c.name, () => {
    beforeAll(async () => {
      // No HTTP errors first (the replay would serve them again, and the client would wait out its
      // retry back-off twice), and a shell command whose output is the same in both runs: the tool
      // result is part of the next request's history, so `ls -la /tmp` (whose listing changes
      // from run to run) would rightly be a divergence.
      upstream = await startFakeUpstream({ dir: root, errors: () => [], command: REPLAY_COMMAND })
      first = await through(join(root, 'logs-1'), upstream.connectTo, upstream.caPath, prompt)
      await upstream.close()
      replay = await startReplay(join(root, 'logs-1'), caDir, report)
      const toReplay = PROVIDER_HOSTS.map((h) => `${h}:443:127.0.0.1:${replay?.port}`)
      const ca = join(caDir, 'certs', 'ca.pem')
      second = await through(join(root, 'logs-2'), toReplay, ca, prompt)
      divergedBefore = readReport().filter((l) => l['type'] === 'divergence')
      diverged = await through(join(root, 'logs-3'), toReplay, ca, changed)
      cap1 = readCapture(join(root, 'logs-1'))
      cap2 = readCapture(join(root, 'logs-2'))
      // The first mode builds each capture's index (the two captures side by side); the other
      // modes then only read it, all at once.
      const read = async (m: string): Promise<void> => {
        const [a, b] = await Promise.all([analyze(join(root, 'logs-1'), m), analyze(join(root, 'logs-2'), m)])
        rows1[m] = stable(a)
        rows2[m] = stable(b)
      }
      await read(MODES[0] as string)
      await Promise.all(MODES.slice(1).map(read))
    })
    afterAll(async () => {
      await replay?.stop()
    })

    it('the first run ran the conversation against the fake provider', () => {
      expect(first.code, first.stderr.slice(-2000)).toBe(0)
      expect(cap1.flows.length).toBeGreaterThan(1)
    })

    it('the replayed run prints what the first run printed', () => {
      expect(second.code, second.stderr.slice(-2000)).toBe(0)
      expect(c.output(second)).toBe(c.output(first))
      expect(c.output(first)).toContain('Done for')
      expect(divergedBefore).toEqual([])
    })

    it('the second capture has the same flows, events and redacted bodies', () => {
      expect(flowsOf(cap2)).toEqual(flowsOf(cap1))
    })

    it("the ledger's calls of the second capture equal the first's", () => {
      for (const m of MODES) expect(rows2[m], m).toEqual(rows1[m])
    })

    it('a changed prompt gets the provider-shaped error and a divergence line showing the changed words', async () => {
      expect(diverged.code).not.toBe(0)
      expect(diverged.stdout + diverged.stderr).toMatch(/replay/i)
      const lines = readReport()
      const divergences = lines.filter((l) => l['type'] === 'divergence')
      // The run's auxiliary requests (policy limits, settings, plugin lists, Codex's WebSocket
      // prewarm frame, Claude Code's quota and title calls) are asked again, more often than
      // captured: answered from the capture, they are no divergence.
      expect(divergences.filter((l) => l['api'] === 'aux' || (l['difference'] as Record<string, unknown>)['field'] === 'used'), JSON.stringify(divergences)).toEqual([])
      const d = divergences.find((l) => (l['difference'] as Record<string, unknown>)['field'] === 'history')
      expect(d, JSON.stringify(lines)).toBeDefined()
      const diff = d?.['difference'] as Record<string, unknown>
      // The first differing message is named by its index, and both excerpts show the changed
      // words (Claude Code puts its environment reminders before the prompt in the same message:
      // the excerpt is a window around the first differing character, not the message's start).
      expect(diff['index']).toEqual(expect.any(Number))
      expect(diff['at']).toEqual(expect.any(Number))
      expect(String(diff['expected'])).toContain('files in /tmp')
      expect(String(diff['received'])).toContain('files in /var')
      expect(diverged.stdout + diverged.stderr).toContain(String((d?.['closest'] as Record<string, unknown>)['key']).split('#')[0])
      expect((d?.['closest'] as Record<string, unknown>)['key']).toEqual(expect.any(String))
    })
  })
}

replaySuite({
  name: 'Claude Code (claude -p) replayed',
  tag: 'e2etag_replay_claude',
  run: (proxy, prompt, home, cwd) => runClaude({ prompt, home, cwd, env: { ...proxy.env, ANTHROPIC_API_KEY: 'sk-ant-api03-replayfakekey000000000000000000' } }),
  output: (r) => r.stdout,
})

replaySuite({
  name: 'Codex (codex exec, SSE) replayed',
  tag: 'e2etag_replay_codex_sse',
  run: (proxy, prompt, home, cwd) => runCodex({ prompt, home, cwd, apiKey: 'sk-proj-replayfakekey0000000000000', env: proxy.env }),
  output: (r) => r.stdout,
})

replaySuite({
  name: 'Codex (codex exec, WebSocket) replayed',
  tag: 'e2etag_replay_codex_ws',
  run: (proxy, prompt, home, cwd) => runCodex({ prompt, home, cwd, apiKey: 'sk-proj-replayfakekey0000000000000', env: proxy.env, websocket: true }),
  output: (r) => r.stdout,
})
