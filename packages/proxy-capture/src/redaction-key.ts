import { randomBytes } from 'node:crypto'
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultCaDir } from './ca.js'
import { ProxyCaptureError } from './errors.js'

/** The per-install redaction key, as {@link ensureRedactionKey} found or made it. */
export interface RedactionKey {
  /** The HMAC key (64 hex chars); pass it as session-extractor's `hashKey`. */
  key: string
  /** Where it is kept: `<caDir>/keys/redaction.key`, mode 0600. */
  path: string
  /** Whether this call created it. */
  created: boolean
}

const KEY_RE = /^[0-9a-f]{64}$/

/**
 * Loads the per-install secret that keys redaction markers, creating it on first use beside
 * the CA's private key (`<caDir>/keys/redaction.key`, directory 0700, file 0600).
 *
 * A marker is `[REDACTED:<first 12 hex of HMAC-SHA-256(key, secret)>]`: the same secret gives
 * the same marker everywhere this install captured it (so flows can be correlated by key), while
 * someone holding only a capture cannot test guesses against it (an unkeyed hash lets a
 * dictionary recover weak passwords). Deleting the file makes new markers that no longer match
 * older captures.
 *
 * @param caDir - CA directory. @defaultValue `~/.agenttap/ca` (see {@link defaultCaDir})
 * @throws ProxyCaptureError `CA_INVALID` when the file exists but does not hold a key.
 * @example
 * const { key } = ensureRedactionKey()
 * const redactor = createRedactor({ hashKey: key })
 */
export function ensureRedactionKey(caDir: string = defaultCaDir()): RedactionKey {
  const keysDir = join(caDir, 'keys')
  mkdirSync(keysDir, { recursive: true, mode: 0o700 })
  const path = join(keysDir, 'redaction.key')
  let created = false
  // Written aside, then linked into place: link() fails if the key exists, so of two processes
  // starting at once one creates it and the other reads that one, never a half-written file.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 })
    linkSync(tmp, path)
    created = true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ProxyCaptureError('CA_INVALID', `could not create the redaction key ${path}: ${(err as Error).message}`, { cause: err })
  } finally {
    try {
      unlinkSync(tmp)
    } catch {
      // never written
    }
  }
  // A copy restored with looser permissions is tightened: the key is what keeps markers opaque.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  const key = readFileSync(path, 'utf8').trim()
  if (!KEY_RE.test(key)) {
    throw new ProxyCaptureError('CA_INVALID', `the redaction key ${path} does not hold 64 hex characters. Delete it to have a new one made (markers of new captures will then differ from older ones).`)
  }
  return { key, path, created }
}
