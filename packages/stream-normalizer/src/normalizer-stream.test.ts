import { describe, expect, it } from 'vitest'
import { createNormalizerStream } from './normalizer-stream.js'
import type { AgentEvent } from './types.js'

describe('createNormalizerStream', () => {
  it('turns a byte stream into unified events and ends an unfinished stream incomplete', async () => {
    const enc = new TextEncoder()
    const wire = 'data: {"type":"message_start","message":{"id":"m1"}}\n\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\u00e9"}}\n\n'
    const bytes = enc.encode(wire)
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 5) c.enqueue(bytes.subarray(i, i + 5))
        c.close()
      },
    })
    const events: AgentEvent[] = []
    for await (const e of source.pipeThrough(createNormalizerStream({ flow_id: 's1' }))) events.push(e)
    expect(events.map((e) => e.type)).toEqual(['message_start', 'text_delta', 'message_end'])
    expect(events[1]).toMatchObject({ text: 'hé', provider: 'anthropic' })
    expect(events[2]).toMatchObject({ incomplete: true })
  })
})
