import { createStreamNormalizer, type StreamNormalizerOptions } from './stream-normalizer.js'
import type { AgentEvent } from './types.js'

/**
 * A `TransformStream` of raw SSE bytes (or text) in and unified events out: the thin web-streams
 * adapter over {@link createStreamNormalizer}. The stream's end calls `end()`, so a response
 * cut short still yields `message_end { incomplete: true }`. Malformed input goes to `onError`;
 * it never errors the stream.
 *
 * @example
 * ```ts
 * const res = await fetch(url, { method: 'POST', body, headers })
 * const events = res.body!.pipeThrough(createNormalizerStream({ flow_id: 'f1', flow: { url } }))
 * for await (const e of events) if (e.type === 'text_delta') process.stdout.write(e.text)
 * ```
 */
export function createNormalizerStream(opts: Omit<StreamNormalizerOptions, 'onEvent'>): TransformStream<Uint8Array | string, AgentEvent> {
  let enqueue: ((e: AgentEvent) => void) | undefined
  const normalizer = createStreamNormalizer({ ...opts, onEvent: (e) => enqueue?.(e) })
  return new TransformStream<Uint8Array | string, AgentEvent>({
    start(controller) {
      enqueue = (e) => controller.enqueue(e)
    },
    transform(chunk) {
      normalizer.feedBytes(chunk)
    },
    flush() {
      normalizer.end()
    },
  })
}
