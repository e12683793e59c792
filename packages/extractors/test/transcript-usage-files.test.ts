import { describe, expect, it } from 'vitest'
import { BaseFiles } from '../src/transcript-usage-files.ts'
import type { SummaryFile } from '../src/transcript-usage.ts'

const file = (path: string, i: number): SummaryFile => ({
  kind: i % 2 === 0 ? 'claude' : 'codex', path, dev: '2049', ino: String(1000 + i), size: 100 * i, mtime: `17000000000000${i}`, head: 'abc', head_len: 4096, offset: 100 * i, line: i,
  ...(i % 2 === 1 ? { codex: { session_id: `s${i}`, last: { input_tokens: i, cached_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0, total_tokens: i + 1 } } } : {}),
})

describe('the file cursors of a usage summary', () => {
  it('are each cursor’s JSON back to back, at their byte offsets, and read back as written (ASCII or not)', () => {
    for (const paths of [['/a/x.jsonl', '/a/y.jsonl', '/b/z.jsonl'], ['/a/x.jsonl', '/ü/café.jsonl', '/🎉/p.jsonl', '/a/\ud800.jsonl', '/b/z.jsonl'], []]) {
      const files = paths.map(file)
      const { header, extra } = BaseFiles.write(files)
      const each = files.map((f) => Buffer.from(JSON.stringify(f), 'utf8'))
      expect(extra.equals(Buffer.concat(each))).toBe(true)
      let at = 0
      expect(header.at).toEqual([0, ...each.map((b) => (at += b.length))])
      const back = BaseFiles.from({ files: header }, extra)
      expect(files.map((_, i) => back.file(i))).toEqual(files)
    }
  })
})
