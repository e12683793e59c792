import { describe, expect, it } from 'vitest'
import { createScreenController } from '../src/screen-controller.js'
import type { RenderOp } from '../src/types.js'
import { createScreenController as createReference } from './reference-screen-controller.js'

const t = (text: string): RenderOp => ({ op: 'text', text, style: 'text' })
const nl: RenderOp = { op: 'newline' }

describe('screen controller: queues of waiting cards decide exactly as the linear scan did', () => {
  it('same ops as the reference for random writes, finishes, reopens, ticks and drains (300 seeds)', () => {
    let switches = 0
    for (let seed = 1; seed <= 300; seed++) {
      let a = seed * 2654435761
      const rand = () => ((a = (a * 1103515245 + 12345) >>> 0) / 2 ** 32)
      let clock = 0
      const guard = [0, 50, 400][seed % 3] as number
      const replayRows = seed % 4 !== 0
      const got = createScreenController({ now: () => clock, sessionGuardMs: guard, replayRows, maxBufferedChars: 200 })
      const ref = createReference({ now: () => clock, sessionGuardMs: guard, replayRows, maxBufferedChars: 200 })
      const ids = Array.from({ length: 2 + Math.floor(rand() * 8) }, (_, i) => `f${i}`)
      // few sessions, so "same session first" matters; some cards without a session
      const session = (id: string) => (id === 'f0' ? '' : `s${id.charCodeAt(1) % 3}`)
      const both = (f: (sc: ReturnType<typeof createScreenController>) => RenderOp[]) => {
        const x = f(got)
        const y = f(ref as never)
        expect(x, `seed ${seed}`).toEqual(y)
        switches += x.filter((o) => o.op === 'header').length
      }
      for (let step = 0; step < 250; step++) {
        clock += Math.floor(rand() * 80)
        const id = ids[Math.floor(rand() * ids.length)] as string
        const r = rand()
        if (r < 0.08) {
          got.open({ flow_id: id, session_id: session(id), client: 'c' })
          ref.open({ flow_id: id, session_id: session(id), client: 'c' })
        } else if (r < 0.5) both((sc) => sc.write(id, [t(`${id}w${step} `)]))
        else if (r < 0.62) both((sc) => sc.write(id, [nl]))
        else if (r < 0.7) both((sc) => sc.write(id, [t('preview'), { op: 'backtrack' }, t('$ cmd')]))
        else if (r < 0.72) both((sc) => sc.write(id, [t('x'.repeat(150))]))
        else if (r < 0.88) both((sc) => sc.tick())
        else if (r < 0.96) both((sc) => sc.finish(id, rand() < 0.5 ? 'DONE' : 'DEAD'))
        else both((sc) => sc.drain())
        expect(got.current, `seed ${seed} step ${step}`).toBe(ref.current)
      }
      both((sc) => sc.drain())
    }
    expect(switches).toBeGreaterThan(3000)
  }, 60_000)
})
