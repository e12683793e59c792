import { describe, expect, it } from 'vitest'
import { timelineSvg } from './timeline-svg.js'

describe('timelineSvg', () => {
  it('plots context and quota lines, the 80 % threshold, compactions and alerts with escaped titles', () => {
    const svg = timelineSvg([
      { t: Date.UTC(2026, 10, 20, 10, 0), context: 0.4, quota: { '5h': 0.1, '7d': 0.05 } },
      { t: Date.UTC(2026, 10, 20, 10, 5), context: 0.85, quota: { '5h': 0.2 }, alerts: ['context <80 %> & more'] },
      { t: Date.UTC(2026, 10, 20, 10, 10), context: 0.2, compaction: true },
    ])
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg).toContain('<path class="context" d="M44.0,')
    expect((svg.match(/ L/g) ?? []).length).toBeGreaterThanOrEqual(3)
    expect(svg).toContain('class="quota-5h"')
    expect(svg).toContain('class="quota-7d"')
    expect(svg).toContain('class="compaction"')
    expect(svg).toContain('<title>context &#60;80 %&#62; &#38; more</title>')
    expect(svg).not.toContain('<80')
    expect(svg).toContain('10:00 UTC')
    expect(timelineSvg([])).toContain('no model call with usage')
  })
})
