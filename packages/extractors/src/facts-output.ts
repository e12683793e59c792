import { closeSync, openSync, writeFileSync } from 'node:fs'
import { ExtractError } from './errors.js'
import { CALC, DICT, NUM, TEXT, factsCount, factsObjects } from './facts-answers.js'
import type { FactsAnswer } from './facts-answers.js'
import { NULL_I32 } from './facts-columns.js'
import type { Text } from './facts-columns.js'
import { NdjsonOut } from './ndjson-out.js'
import type { ModeName, ModeResult, RunOptions } from './types.js'

/**
 * A wire facts answer (facts-answers.ts) written out as a mode's result: NDJSON byte for byte
 * what `toNdjson` writes (the stored lines copied as runs where the facts keep them, else written
 * from the columns into a reused buffer) to a file, as bytes or lines, or the rows as objects.
 */

const NULL = Buffer.from('null')

/** The rows as NDJSON, as `toNdjson(columns, rows)` writes them, in pieces of whole lines. */
export function factsNdjson(a: FactsAnswer, flush: (b: Buffer) => void): number {
  if (a.lines !== undefined && a.refs !== undefined) {
    // Every row of the first part, in its order: its lines are one run of bytes.
    if (a.refs.whole) {
      const t = a.lines[0]!
      const n = a.refs.n
      if (t.off[n]! > t.off[0]!) flush(t.b.subarray(t.off[0]!, t.off[n]!))
      return n
    }
    // The stored lines, copied as runs: consecutive rows of a part are consecutive bytes.
    const { pi, ri, n } = a.refs
    let t: Text | undefined
    let from = 0
    let to = 0
    for (let r = 0; r < n; r++) {
      const line = a.lines[pi[r]!]!
      const i = ri[r]!
      const start = line.off[i]!
      if (line !== t || start !== to) {
        if (t !== undefined && to > from) flush(t.b.subarray(from, to))
        t = line
        from = start
      }
      to = line.off[i + 1]!
    }
    if (t !== undefined && to > from) flush(t.b.subarray(from, to))
    return n
  }
  const o = new NdjsonOut(flush)
  const keys = a.columns.map((c, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(c)}:`, 'utf8'))
  if (a.rows !== undefined) {
    for (const r of a.rows) {
      for (let k = 0; k < keys.length; k++) {
        o.room(256)
        o.bytes(keys[k]!)
        o.json(r[k] ?? null)
      }
      o.room(2)
      o.ascii('}\n')
      o.endLine()
    }
    o.end()
    return a.rows.length
  }
  const fields = a.fields!
  const { parts, pi, ri, n } = a.refs!
  const END = Buffer.from('}\n')
  // Per field a kind, and per part the columns it reads: one loop with no call per value for
  // the plain kinds (a closure only for computed values).
  const kinds = fields.map((f) => (f.col === undefined ? CALC : f.kind!))
  const cols = parts.map((p) => fields.map((f) => (f.col === undefined ? undefined : f.col.map((c) => p.cols[c]!))))
  const dicts = parts.map((p) => p.dict.map((s) => Buffer.from(JSON.stringify(s), 'utf8')))
  const nk = fields.length
  let buf = o.buf
  for (let r = 0; r < n; r++) {
    const pn = pi[r]!
    const p = parts[pn]!
    const pc = cols[pn]!
    const i = ri[r]!
    for (let k = 0; k < nk; k++) {
      if (o.pos + 512 > buf.length) {
        o.room(512)
        buf = o.buf
      }
      const key = keys[k]!
      let pos = o.pos
      for (let j = 0; j < key.length; j++) buf[pos++] = key[j]!
      o.pos = pos
      const kind = kinds[k]!
      if (kind === TEXT) {
        const t = pc[k]![0] as Text
        if (t.nul[i] === 1 || !t.plain) {
          o.json(t.get(i))
          buf = o.buf
        } else {
          const a0 = t.off[i]!
          const b0 = t.off[i + 1]!
          if (pos + b0 - a0 + 2 > buf.length) {
            o.room(b0 - a0 + 2)
            buf = o.buf
            pos = o.pos
          }
          const src = t.b
          buf[pos++] = 34
          for (let j = a0; j < b0; j++) buf[pos++] = src[j]!
          buf[pos++] = 34
          o.pos = pos
        }
      } else if (kind === DICT) {
        const x = (pc[k]![0] as Int32Array)[i]!
        const d = x === -1 ? NULL : dicts[pn]![x]!
        if (pos + d.length > buf.length) {
          o.room(d.length)
          buf = o.buf
          pos = o.pos
        }
        for (let j = 0; j < d.length; j++) buf[pos++] = d[j]!
        o.pos = pos
      } else if (kind === NUM) {
        const c = pc[k]!
        let v = 0
        for (let j = 0; j < c.length; j++) v += (c[j] as Float64Array | Int32Array)[i]!
        if (Number.isNaN(v) || (c.length === 1 && c[0] instanceof Int32Array && v === NULL_I32)) o.bytes(NULL)
        else o.num(v)
      } else {
        o.json(fields[k]!.value(p, i))
        buf = o.buf
      }
    }
    if (o.pos + 2 > buf.length) {
      o.room(2)
      buf = o.buf
    }
    o.bytes(END)
    o.endLine()
  }
  o.end()
  return n
}

/** A mode's result from its facts answer, in the form `run` asks for (NDJSON to a file, bytes or lines; else rows). */
export function factsResult(mode: ModeName, a: FactsAnswer, run: RunOptions, warnings: string[]): ModeResult {
  const r: ModeResult = { mode, engine: 'index', rows: [], columns: a.columns, warnings }
  if (run.ndjsonTo !== undefined) {
    let fd: number | undefined
    try {
      fd = openSync(run.ndjsonTo, 'w', 0o600)
      const out = fd
      factsNdjson(a, (b) => writeFileSync(out, b))
    } catch (e) {
      throw new ExtractError('OUTPUT_FAILED', `could not write ${run.ndjsonTo}: ${(e as Error).message}`, { cause: e })
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
    return { ...r, written: factsCount(a) }
  }
  if (run.ndjson === true && run.ndjsonBytes === true) {
    const chunks: Uint8Array[] = []
    const rows = factsNdjson(a, (b) => void chunks.push(Buffer.copyBytesFrom(b)))
    return { ...r, ndjsonBytes: { rows, chunks } }
  }
  if (run.ndjson === true) {
    const lines: string[] = []
    factsNdjson(a, (b) => {
      const text = b.toString('utf8')
      let from = 0
      for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
        lines.push(text.slice(from, at))
        from = at + 1
      }
    })
    return { ...r, ndjson: lines }
  }
  return { ...r, rows: factsObjects(a) }
}
