/**
 * `Date.parse` of the timestamps the agents write (`2026-11-20T10:00:00.000Z`), without parsing
 * each one: the day is parsed once (`Date.parse` of its midnight) and the time of day added.
 * Any other text, or digits out of range, goes to `Date.parse` itself.
 */

let lastDay = ''
let lastDayMs = Number.NaN

/** A two- or three-digit field at `i`, or -1. */
function digits(s: string, i: number, n: number): number {
  let v = 0
  for (let j = i; j < i + n; j++) {
    const c = s.charCodeAt(j) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

/**
 * The same number as `Date.parse(s)` (NaN included), fast for `YYYY-MM-DDTHH:MM:SS.mmmZ`.
 * @example
 * isoMs('2026-11-20T10:00:00.500Z') // 1795168800500, as Date.parse gives
 */
export function isoMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) return Date.parse(s)
  const h = digits(s, 11, 2)
  const m = digits(s, 14, 2)
  const sec = digits(s, 17, 2)
  const ms = digits(s, 20, 3)
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 || ms < 0 || digits(s, 0, 4) < 0 || digits(s, 5, 2) < 0 || digits(s, 8, 2) < 0) return Date.parse(s)
  if (!s.startsWith(lastDay) || lastDay === '') {
    lastDay = s.slice(0, 10)
    lastDayMs = Date.parse(`${lastDay}T00:00:00.000Z`)
  }
  return lastDayMs + ((h * 60 + m) * 60 + sec) * 1000 + ms
}
