import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { keepWarm } from './keep-warm.js'
import { createStreamNormalizer } from './stream-normalizer.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Makes objects through `make`, drops them, collects, and tells which are still reachable. */
async function survivors(make: (i: number) => object, n: number): Promise<boolean[]> {
  const refs: WeakRef<object>[] = []
  for (let i = 0; i < n; i++) refs.push(new WeakRef(make(i)))
  // A WeakRef keeps its target until the current job ends.
  await new Promise((r) => setImmediate(r))
  gc()
  return refs.map((r) => r.deref() !== undefined)
}

describe('keepWarm', () => {
  it('returns what it is given and holds exactly the last `max` of them', async () => {
    const warm = keepWarm<{ i: number }>(3)
    const o = { i: 0 }
    expect(warm(o)).toBe(o)
    const alive = await survivors((i) => warm({ i }), 10)
    expect(alive).toEqual([false, false, false, false, false, false, false, true, true, true])
  })

  it('a normalizer stays reachable after its flow, up to the last 8 made: memory stays bounded', async () => {
    const alive = await survivors(() => {
      const n = createStreamNormalizer({ flow_id: 'f', flow: { provider: 'anthropic' }, onEvent: () => {} })
      n.feedRecord({ data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}' })
      return n
    }, 20)
    expect(alive.filter(Boolean)).toHaveLength(8)
    expect(alive.slice(-8).every(Boolean)).toBe(true)
  })
})
