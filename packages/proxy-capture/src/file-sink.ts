import { createWriteStream, mkdirSync, writeFile } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CAPTURE_FILES, createJsonlWriter, type CaptureRecord } from '@agenttap/jsonl-io'
import type { CaptureSink, RawWriter } from './types.js'

/** The default log root: `$AGENTTAP_LOG_DIR` or `~/centralized-logs`. */
export function defaultLogDir(): string {
  return process.env['AGENTTAP_LOG_DIR'] ?? join(homedir(), 'centralized-logs')
}

/** Raw bodies up to this size are buffered and written in one call when the flow ends. */
const RAW_BUFFER_BYTES = 256 * 1024

/** Where a client's per-agent view of `sse_lines.jsonl` lives, by detected client. */
const CLIENT_DIRS: Record<string, string> = { 'claude-code': 'claude', codex: 'codex' }

/** Options of {@link createFileSink}. */
export interface FileSinkOptions {
  /** Log root. @defaultValue {@link defaultLogDir}() */
  logDir?: string
  /** jsonl-io fsync policy. @defaultValue `'never'` (one write per line; at most the last line tears on a crash) */
  fsync?: 'never' | 'close' | 'always'
  /** I/O failures of raw files (records go through jsonl-io's writer). */
  onError?(err: Error): void
}

/**
 * The file sink: `<logDir>/all-mitm-sse/{sse_flows,sse_lines,sse_flow_ends}.jsonl`, raw bodies
 * in `all-mitm-sse/sse_logs/`, and each `sse` record also in `<logDir>/claude/sse_lines.jsonl`
 * or `<logDir>/codex/sse_lines.jsonl` by the flow's detected client. Directories are created
 * 0700: captures hold prompts.
 */
export function createFileSink(opts: FileSinkOptions = {}): CaptureSink & { readonly captureDir: string } {
  const logDir = opts.logDir ?? defaultLogDir()
  const captureDir = join(logDir, 'all-mitm-sse')
  const rawDir = join(captureDir, CAPTURE_FILES.rawDir)
  mkdirSync(rawDir, { recursive: true, mode: 0o700 })
  const wopts = { fsync: opts.fsync ?? 'never', mkdir: true } as const
  const flows = createJsonlWriter(join(captureDir, CAPTURE_FILES.flows), wopts)
  const lines = createJsonlWriter(join(captureDir, CAPTURE_FILES.lines), wopts)
  const ends = createJsonlWriter(join(captureDir, CAPTURE_FILES.flowEnds), wopts)
  const perClient = new Map<string, ReturnType<typeof createJsonlWriter>>()
  const flowClient = new Map<string, string>()
  const rawOpen = new Set<Promise<void>>()
  const liveStreams = new Set<() => void>()

  function clientWriter(dir: string): ReturnType<typeof createJsonlWriter> {
    let w = perClient.get(dir)
    if (!w) {
      mkdirSync(join(logDir, dir), { recursive: true, mode: 0o700 })
      w = createJsonlWriter(join(logDir, dir, CAPTURE_FILES.lines), wopts)
      perClient.set(dir, w)
    }
    return w
  }

  return {
    captureDir,
    write(record: CaptureRecord) {
      switch (record.type) {
        case 'flow': {
          flows.write(record)
          const dir = typeof record.client === 'string' ? CLIENT_DIRS[record.client] : undefined
          if (dir) flowClient.set(record.flow_id, dir)
          break
        }
        case 'sse': {
          lines.write(record)
          const dir = flowClient.get(record.flow_id)
          if (dir) clientWriter(dir).write(record)
          break
        }
        case 'flow_end':
          ends.write(record)
          flowClient.delete(record.flow_id)
          break
        default:
          lines.write(record)
      }
    },
    raw(name: string): RawWriter {
      const ref = `${CAPTURE_FILES.rawDir}/${name}`
      const path = join(rawDir, name)
      // Opened lazily: a body written in one piece (request bodies) costs one writeFile
      // instead of open + write + close round trips through the thread pool.
      let ws: ReturnType<typeof createWriteStream> | undefined
      let pending: (Uint8Array | string)[] = []
      let pendingBytes = 0
      let ended = false
      const track = (p: Promise<void>): void => {
        rawOpen.add(p)
        void p.then(() => rawOpen.delete(p))
      }
      let closed: Promise<void> | undefined
      const open = (): ReturnType<typeof createWriteStream> => {
        const s = createWriteStream(path, { flags: 'a', mode: 0o600 })
        closed = new Promise<void>((resolve) => {
          s.on('close', resolve)
          s.on('error', (err) => {
            opts.onError?.(err)
            resolve()
          })
        })
        const stop = (): void => {
          if (closed) track(closed)
          if (!s.destroyed && !s.writableEnded) s.end()
        }
        liveStreams.add(stop)
        void closed.then(() => liveStreams.delete(stop))
        return s
      }
      return {
        ref,
        write(chunk) {
          if (ended) return
          if (ws) {
            if (!ws.destroyed) ws.write(chunk)
            return
          }
          pending.push(chunk)
          pendingBytes += chunk.length
          // Small bodies (most LLM responses) are kept and written in one writeFile at the end:
          // a write stream per flow costs an open + close round trip each.
          if (pendingBytes > RAW_BUFFER_BYTES) {
            ws = open()
            for (const c of pending) ws.write(c)
            pending = []
          }
        },
        end() {
          if (ended) return
          ended = true
          if (ws) {
            // Tracked from its end on: flush() waits for finished bodies, never for live ones.
            if (closed) track(closed)
            if (!ws.destroyed && !ws.writableEnded) ws.end()
            return
          }
          const data =
            pending.length === 1
              ? (pending[0] as Uint8Array | string)
              : Buffer.concat(pending.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))
          pending = []
          track(
            new Promise<void>((resolve) =>
              writeFile(path, data, { flag: 'a', mode: 0o600 }, (err) => {
                if (err) opts.onError?.(err)
                resolve()
              }),
            ),
          )
        },
      }
    },
    async flush() {
      // Raw bodies of ended flows too: a reader told "flushed" may open sse_logs/ right away.
      await Promise.all([...rawOpen])
      await Promise.all([flows.flush(), lines.flush(), ends.flush(), ...[...perClient.values()].map((w) => w.flush())])
    },
    async close() {
      for (const stop of [...liveStreams]) stop()
      await Promise.all([...rawOpen])
      await Promise.all([flows.close(), lines.close(), ends.close(), ...[...perClient.values()].map((w) => w.close())])
    },
  }
}
