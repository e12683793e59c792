// Finds a real Redis for tests: REDIS_URL if set, else 127.0.0.1:6379 if it answers, else a
// redis-server started on a free port (when the binary exists). Never a mock.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, Socket } from 'node:net'

export interface TestRedis {
  url: string
  /** Stops the server if this helper started it. */
  stop(): Promise<void>
}

function ping(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket()
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('error', () => done(false))
    s.connect(port, host, () => s.write('PING\r\n'))
    s.once('data', (d) => done(d.toString().startsWith('+PONG')))
  })
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Starts a private redis-server on a free port (for tests that stop and restart it). */
export async function startRedisServer(port?: number): Promise<TestRedis & { port: number; process: ChildProcess; restart(): Promise<void>; kill(): Promise<void> }> {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed (apt-get install redis-server)')
  const p = port ?? (await freePort())
  let proc: ChildProcess
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      if (await ping('127.0.0.1', p)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`redis-server did not start on port ${p}`)
  }
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    await new Promise<void>((r) => {
      proc.once('exit', () => r())
      proc.kill('SIGKILL')
    })
  }
  await start()
  // A test that fails before stop() must not leave a server behind: kill it when the worker exits.
  process.once('exit', () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  })
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    get process() {
      return proc
    },
    kill,
    async restart() {
      await kill()
      await start()
    },
    stop: kill,
  }
}

/** The Redis the tests use (see the file comment). */
export async function getTestRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => undefined }
  if (await ping('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => undefined }
  return startRedisServer()
}
