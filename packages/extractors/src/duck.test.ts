import { afterEach, describe, expect, it } from 'vitest'
import { openDuck } from './duck.js'
import type { Duck } from './duck.js'

describe('Duck.append', () => {
  let d: Duck | undefined
  afterEach(() => d?.close())

  it('appends rows as typed values, NULLs included, inside the open transaction', async () => {
    d = await openDuck(':memory:')
    await d.run('create table t (s varchar, i integer, b bigint, x double, f boolean)')
    await d.run('begin transaction')
    d.append('t', [
      ["it's", 2147483647, 2 ** 40, 1.5, true],
      [null, null, 3.7, 2, false],
      ['', -1, -5, undefined, null],
    ])
    await d.run('commit')
    // A fractional number in an integer column is cast as SQL casts it (3.7::bigint = 4).
    expect((await d.select('select * from t order by i nulls last')).rows).toEqual([
      { s: '', i: -1, b: -5, x: null, f: null },
      { s: "it's", i: 2147483647, b: 2 ** 40, x: 1.5, f: true },
      { s: null, i: null, b: 4, x: 2, f: false },
    ])
    await d.run('begin transaction')
    d.append('t', [['gone', 1, 1, 1, true]])
    await d.run('rollback')
    expect((await d.select('select count(*) as n from t')).rows[0]?.n).toBe(3)
  })

  it('refuses a row of the wrong width and leaves the table as it was', async () => {
    d = await openDuck(':memory:')
    await d.run('create table t (s varchar, i integer)')
    expect(() => d!.append('t', [['a', 1], ['b']])).toThrow()
    expect((await d.select('select count(*) as n from t')).rows[0]?.n).toBe(0)
  })
})
