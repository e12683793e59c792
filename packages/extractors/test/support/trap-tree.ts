import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect } from 'vitest'
import { writeTrapTree } from '@agenttap/transcripts/generate'
import { createTranscriptExtractor } from '../../src/index.js'
import type { ExtractorOptions } from '../../src/index.js'

/** A fresh temporary dir holding the transcripts' trap tree for each test, and the options of a transcript extractor over it. */
export interface TrapTree {
  /** The test's temporary dir (removed after it). */
  dir: string
  /** The trap tree's Claude Code and Codex dirs, under `dir/tree`. */
  dirs: { claudeDir: string; codexDir: string }
  /** Transcripts only (no wire), the index in `dir/summary-idx`, one thread. */
  opts: (extra?: Partial<ExtractorOptions>) => ExtractorOptions
}

/** Registers the hooks that make and remove the tree around every test of the file. */
export function useTrapTree(prefix: string): TrapTree {
  const t: TrapTree = {
    dir: '',
    dirs: { claudeDir: '', codexDir: '' },
    opts: (extra = {}) => ({ logDir: '', wire: false, transcripts: { claude: [t.dirs.claudeDir], codex: [t.dirs.codexDir] }, indexDir: join(t.dir, 'summary-idx'), threads: 1, ...extra }),
  }
  beforeEach(() => {
    t.dir = mkdtempSync(join(tmpdir(), prefix))
    t.dirs = writeTrapTree(join(t.dir, 'tree'))
  })
  afterEach(() => rmSync(t.dir, { recursive: true, force: true }))
  return t
}

/** Two transcript extractors opened and run (`usage`) at once over the same index dir: both answer the same rows. */
export async function usageTwiceAtOnce(o: ExtractorOptions): Promise<void> {
  const [a, b] = await Promise.all([createTranscriptExtractor(o), createTranscriptExtractor(o)])
  try {
    const [ra, rb] = await Promise.all([a.run('usage'), b.run('usage')])
    expect(ra.rows).toEqual(rb.rows)
  } finally {
    a.close()
    b.close()
  }
}
