import { watch, type FSWatcher } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { JsonlError } from './errors.js'
import { createJsonlParser } from './parser.js'
import type { JsonlEntry, JsonlItem } from './read.js'

/** Options of {@link follow}. */
export interface FollowOptions {
  /** Start at the beginning of the file instead of its end. @defaultValue false */
  fromStart?: boolean
  /** Stops the iteration cleanly (the iterator returns; no error). */
  signal?: AbortSignal
  /** How often to look at the file when no change event came, in ms. @defaultValue 250 */
  pollMs?: number
  /** Malformed lines, truncation and rotation notices. */
  onError?(error: JsonlError): void
  /** @defaultValue 16 MiB */
  maxLineBytes?: number
  /** Read size. @defaultValue 1 MiB */
  chunkBytes?: number
  /** Wait for the file to appear instead of failing when it does not exist yet. @defaultValue true */
  waitForFile?: boolean
  /**
   * Called each time everything the file holds has been yielded and follow starts waiting for
   * more (also while the file does not exist yet). A signal for "caught up": the end of the
   * initial replay, or a point after which an append is sure to be read as new.
   */
  onCaughtUp?(): void
}

/** Bytes at the head of the file kept to recognise it: a file truncated and regrown differs here. */
const HEAD_BYTES = 256

/**
 * `tail -f` as an async iterator of parsed lines. It starts at the end (or the start), yields
 * only complete lines (a half-written line waits for its newline), survives the file being
 * truncated (reads again from the start) and rotated (drains the old file, then follows the new
 * one at the same path), and stops cleanly when `signal` aborts.
 *
 * Truncation is recognised by the file's first bytes, not by its size alone: a file truncated
 * and written again past its old size between two looks is read again from its start.
 *
 * @example
 * ```ts
 * const ac = new AbortController()
 * for await (const { value } of follow('sse_lines.jsonl', { signal: ac.signal })) console.log(value)
 * ```
 */
export async function* follow(path: string, options: FollowOptions = {}): AsyncGenerator<JsonlItem> {
  const { signal } = options
  const pollMs = options.pollMs ?? 250
  const chunkBytes = options.chunkBytes ?? 1024 * 1024
  // Errors travel in the batch so onError is called in order with the records around them.
  let batch: JsonlEntry[] = []
  const parser = createJsonlParser({
    onRecord: (value, info) => batch.push({ value, line: info.line, offset: info.offset }),
    onError: (error) => batch.push({ error, line: error.line, offset: error.offset }),
    file: path,
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
  })

  let wake: (() => void) | undefined
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const t = setTimeout(done, ms)
      function done() {
        clearTimeout(t)
        signal?.removeEventListener('abort', done)
        wake = undefined
        resolve()
      }
      wake = done
      signal?.addEventListener('abort', done, { once: true })
    })

  let fh: FileHandle | undefined
  let ino = -1
  let pos = 0
  /** The first bytes of the file as read so far (up to HEAD_BYTES): its identity. */
  let head: Buffer = Buffer.alloc(0)
  const headBuf = Buffer.allocUnsafe(HEAD_BYTES)
  let watcher: FSWatcher | undefined
  const buf = Buffer.allocUnsafe(chunkBytes)

  const openCurrent = async (fromStart: boolean): Promise<boolean> => {
    try {
      fh = await open(path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && options.waitForFile !== false) return false
      throw err
    }
    const st = await fh.stat()
    ino = st.ino
    pos = fromStart ? 0 : await afterLastNewline(fh, st.size)
    head = await readHead(fh, Math.min(pos, HEAD_BYTES))
    // Starting at the end: begin after the last newline so no half line is parsed as a record.
    parser.reset(fromStart ? undefined : { line: 0, offset: pos })
    try {
      watcher?.close()
      watcher = watch(path, { persistent: false }, () => wake?.())
      watcher.on('error', () => undefined)
    } catch {
      watcher = undefined // polling still works
    }
    return true
  }

  /** Reads what is there; returns the bytes read. */
  const drain = async (): Promise<number> => {
    let total = 0
    for (;;) {
      if (!fh || signal?.aborted) return total
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
      if (bytesRead === 0) return total
      // Extend the head fingerprint with the first bytes read from the start of the file.
      if (pos < HEAD_BYTES && head.length === pos) head = Buffer.concat([head, buf.subarray(0, Math.min(bytesRead, HEAD_BYTES - pos))])
      pos += bytesRead
      total += bytesRead
      parser.feed(buf.subarray(0, bytesRead))
      if (batch.length > 0) return total
    }
  }

  /** Whether the open file still starts with the bytes it started with (not truncated and rewritten). */
  const sameHead = async (): Promise<boolean> => {
    if (!fh || head.length === 0) return true
    const { bytesRead } = await fh.read(headBuf, 0, head.length, 0)
    return bytesRead === head.length && headBuf.subarray(0, bytesRead).equals(head)
  }

  const truncated = (size: number): void => {
    options.onError?.(new JsonlError('FILE_TRUNCATED', `file was truncated (it held ${pos} bytes, now ${size}, starting with other bytes); reading again from the start`, { file: path, offset: pos }))
    parser.reset()
    pos = 0
    head = Buffer.alloc(0)
  }

  try {
    let first = true
    let waited = false
    while (!signal?.aborted) {
      if (!fh) {
        const ok = await openCurrent(first ? options.fromStart === true : true)
        first = false
        if (!ok) {
          options.onCaughtUp?.()
          await sleep(pollMs)
          continue
        }
      }
      if (waited) {
        waited = false
        // After a wait: the same file (inode, checked below) may have been truncated and
        // written again past where we were; its first bytes tell.
        if (!(await sameHead())) {
          truncated((await fh!.stat()).size)
          continue
        }
      }
      const n = await drain()
      if (batch.length > 0) {
        const out = batch
        batch = []
        for (const item of out) {
          if (signal?.aborted) return
          if (item.error) options.onError?.(item.error)
          else yield item
        }
        continue
      }
      if (n > 0) continue
      // At the end of what is there: check for truncation and rotation before waiting.
      let st: Awaited<ReturnType<typeof stat>> | undefined
      try {
        st = await stat(path)
      } catch {
        st = undefined // removed: a rotation in progress; the old file is drained already
      }
      if (st && st.ino !== ino) {
        options.onError?.(new JsonlError('FILE_ROTATED', 'file was replaced (rotated); following the new file from its start', { file: path, offset: pos }))
        parser.end() // a final line without newline in the old file is complete now: nobody appends to it
        await fh?.close()
        fh = undefined
        continue
      }
      if (st && st.size < pos) {
        truncated(st.size)
        continue
      }
      // (Deleted and not yet recreated: the old handle stays until a new file appears.)
      options.onCaughtUp?.()
      await sleep(pollMs)
      waited = true
    }
  } finally {
    watcher?.close()
    await fh?.close()
  }
}

/** The first `n` bytes of a file. */
async function readHead(fh: FileHandle, n: number): Promise<Buffer> {
  if (n === 0) return Buffer.alloc(0)
  const b = Buffer.allocUnsafe(n)
  const { bytesRead } = await fh.read(b, 0, n, 0)
  return b.subarray(0, bytesRead)
}

/** Offset just after the last newline before `size`, so a half-written last line is read whole once finished. */
async function afterLastNewline(fh: FileHandle, size: number): Promise<number> {
  const block = Buffer.allocUnsafe(64 * 1024)
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - block.length)
    const { bytesRead } = await fh.read(block, 0, end - start, start)
    const nl = block.subarray(0, bytesRead).lastIndexOf(0x0a)
    if (nl !== -1) return start + nl + 1
    end = start
  }
  return 0
}
