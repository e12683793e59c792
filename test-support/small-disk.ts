// A small filesystem for disk-full tests: a tmpfs of `kib` KiB mounted on a fresh directory,
// when this process may mount (root on Linux). Never a mock: writes really fail with ENOSPC.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface SmallDisk {
  dir: string
  /** Unmounts and removes the directory. */
  cleanup(): void
}

/** Mounts a `kib` KiB tmpfs, or returns undefined (with the reason) where the machine does not allow it. */
export function mountSmallDisk(kib: number): SmallDisk | { unavailable: string } {
  if (process.platform !== 'linux') return { unavailable: `tmpfs mounts need Linux (this is ${process.platform})` }
  if (process.getuid?.() !== 0) return { unavailable: 'mounting a tmpfs needs root' }
  const dir = mkdtempSync(join(tmpdir(), 'agenttap-small-disk-'))
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0700`, 'tmpfs', dir], { encoding: 'utf8' })
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    return { unavailable: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}` }
  }
  return {
    dir,
    cleanup() {
      spawnSync('umount', ['-l', dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
