import type { IncomingMessage, ServerResponse } from 'node:http'

/** Live pages (SSE connections) and what is pushed to them. See {@link createPush}. */
export interface Push {
  /** Opens a page's stream: `retry`, then the snapshot frame; `false` when the page limit is reached. */
  open(req: IncomingMessage, res: ServerResponse, snapshot: unknown): boolean
  /** One frame to every open page. */
  broadcast(event: string, data: unknown): void
  /** A comment line to every page, so proxies and browsers keep the connection. */
  ping(): void
  /** Ends every page's stream. */
  close(): void
  readonly size: number
}

/** Pages a server holds open at most (an `EventSource` reconnects when dropped). */
export const MAX_PAGE_CLIENTS = 32
/** A page that stopped reading is dropped once this much waits for it. */
const MAX_CLIENT_BACKLOG = 8 * 1024 * 1024

/** One SSE frame. JSON has no raw newlines, so one data line is enough. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * The live push of the web view: server-sent events to at most {@link MAX_PAGE_CLIENTS} pages. A
 * page that stops reading is dropped past 8 MiB of backlog; it reconnects and gets a fresh
 * snapshot.
 *
 * @example
 * ```ts
 * const push = createPush(SECURITY_HEADERS)
 * if (!push.open(req, res, snapshot())) res.writeHead(503).end()
 * push.broadcast('flows', { flows: changed, removed })
 * ```
 */
export function createPush(headers: Readonly<Record<string, string>>): Push {
  const clients = new Set<ServerResponse>()

  function send(res: ServerResponse, frame: string): void {
    if (res.writableLength > MAX_CLIENT_BACKLOG) {
      clients.delete(res)
      res.destroy()
      return
    }
    res.write(frame)
  }

  return {
    open(req, res, snapshot) {
      if (clients.size >= MAX_PAGE_CLIENTS) return false
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
      res.write('retry: 2000\n\n')
      res.write(sseFrame('snapshot', snapshot))
      clients.add(res)
      req.on('close', () => clients.delete(res))
      return true
    },
    broadcast(event, data) {
      if (clients.size === 0) return
      const frame = sseFrame(event, data)
      for (const c of clients) send(c, frame)
    },
    ping() {
      for (const c of clients) c.write(': ping\n\n')
    },
    close() {
      for (const c of clients) c.end()
      clients.clear()
    },
    get size() {
      return clients.size
    },
  }
}
