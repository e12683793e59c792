import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { rootCertificates, createSecureContext, type SecureContext } from 'node:tls'
import { ProxyCaptureError } from './errors.js'

// node-forge comes with http-mitm-proxy (its CA code is built on it); load that copy rather
// than adding a second dependency. Only the handful of calls below are used.
interface ForgeCert {
  publicKey: unknown
  serialNumber: string
  validity: { notBefore: Date; notAfter: Date }
  subject: { attributes: unknown[] }
  setSubject(a: unknown[]): void
  setIssuer(a: unknown[]): void
  setExtensions(e: unknown[]): void
  sign(key: unknown, md: unknown): void
}
interface Forge {
  pki: {
    createCertificate(): ForgeCert
    certificateToPem(c: ForgeCert): string
    certificateFromPem(p: string): ForgeCert
    privateKeyFromPem(p: string): unknown
    publicKeyFromPem(p: string): unknown
  }
  md: { sha256: { create(): unknown } }
}
let forgeCache: Forge | undefined
function forge(): Forge {
  if (!forgeCache) {
    const req = createRequire(import.meta.url)
    const fromProxy = createRequire(req.resolve('http-mitm-proxy'))
    forgeCache = fromProxy('node-forge') as Forge
  }
  return forgeCache
}

/** Where agenttap keeps its CA: `~/.agenttap/ca` (or `$AGENTTAP_HOME/ca`). */
export function defaultCaDir(): string {
  const home = process.env['AGENTTAP_HOME'] ?? join(homedir(), '.agenttap')
  return join(home, 'ca')
}

/** Paths and PEMs of an agenttap CA directory (laid out the way http-mitm-proxy reads it). */
export interface CaFiles {
  dir: string
  /** The CA certificate clients must trust (`certs/ca.pem`). */
  certPath: string
  /** The CA private key (`keys/ca.private.key`, mode 0600). */
  keyPath: string
  /** System roots + agenttap CA, for `SSL_CERT_FILE`-style variables that replace the trust store. */
  bundlePath: string
  certPem: string
  keyPem: string
  /** Whether this call created the CA. */
  created: boolean
}

const CA_SUBJECT = [
  { name: 'commonName', value: 'agenttap local capture CA' },
  { name: 'organizationName', value: 'agenttap' },
  { shortName: 'OU', value: 'local MITM capture (do not share this key)' },
]

/**
 * A random 16-byte certificate serial, DER-minimal and positive: the first byte is 0x01-0x7f.
 * (Only clearing the top bit left a 0x00 first byte 1 time in 128, and when the next byte was
 * below 0x80 the INTEGER was non-minimal: OpenSSL rejects that certificate, "illegal padding".)
 */
export function certSerial(): string {
  const b = randomBytes(16)
  b[0] = ((b[0] ?? 0) & 0x7f) || 0x01
  return b.toString('hex')
}

function rsaPems(): { privatePem: string; publicPem: string } {
  // Native key generation: forge's pure-JS RSA blocks the event loop for seconds.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

function writePrivate(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600 })
  chmodSync(path, 0o600)
}

/**
 * Loads the CA in `dir`, creating it on first use (dir 0700, private key 0600, 10-year
 * validity). Also (re)writes `bundle.pem`: the system roots plus this CA.
 *
 * @param dir - CA directory. @defaultValue {@link defaultCaDir}()
 */
export function ensureCa(dir: string = defaultCaDir()): CaFiles {
  const certsDir = join(dir, 'certs')
  const keysDir = join(dir, 'keys')
  for (const d of [dir, certsDir, keysDir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 })
    chmodSync(d, 0o700)
  }
  const certPath = join(certsDir, 'ca.pem')
  const keyPath = join(keysDir, 'ca.private.key')
  const pubPath = join(keysDir, 'ca.public.key')
  const bundlePath = join(dir, 'bundle.pem')
  let created = false
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const f = forge()
    const { privatePem, publicPem } = rsaPems()
    const cert = f.pki.createCertificate()
    cert.publicKey = f.pki.publicKeyFromPem(publicPem)
    cert.serialNumber = certSerial()
    const now = Date.now()
    cert.validity.notBefore = new Date(now - 24 * 3600_000)
    cert.validity.notAfter = new Date(now + 10 * 365 * 24 * 3600_000)
    cert.setSubject(CA_SUBJECT)
    cert.setIssuer(CA_SUBJECT)
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ])
    cert.sign(f.pki.privateKeyFromPem(privatePem), f.md.sha256.create())
    writePrivate(keyPath, privatePem)
    writeFileSync(pubPath, publicPem, { mode: 0o644 })
    writeFileSync(certPath, f.pki.certificateToPem(cert), { mode: 0o644 })
    created = true
  }
  const certPem = readFileSync(certPath, 'utf8')
  const keyPem = readFileSync(keyPath, 'utf8')
  let x: X509Certificate
  try {
    x = new X509Certificate(certPem)
    if (!x.ca) throw new Error('certificate is not a CA (basicConstraints cA=false)')
  } catch (err) {
    throw new ProxyCaptureError('CA_INVALID', `CA certificate ${certPath} is unusable: ${(err as Error).message}. Delete ${dir} to have a new CA generated (clients then need to trust the new one).`, { cause: err, file: certPath })
  }
  let key: KeyObject
  try {
    key = createPrivateKey(keyPem)
  } catch (err) {
    throw new ProxyCaptureError('CA_INVALID', `CA private key ${keyPath} is unusable (${(err as Error).message}): expected a PEM private key. Delete ${dir} to have a new CA generated (clients then need to trust the new one).`, { cause: err, file: keyPath })
  }
  // A key from another CA would sign leaf certificates no client can verify: every TLS
  // handshake would fail with a certificate error that names nothing useful.
  if (!x.checkPrivateKey(key)) {
    throw new ProxyCaptureError(
      'CA_INVALID',
      `CA private key ${keyPath} does not belong to the CA certificate ${certPath}: they must be a pair (was one of them replaced?). Restore the matching file, or delete ${dir} to have a new CA generated (clients then need to trust the new one).`,
      { file: keyPath },
    )
  }
  if (!existsSync(pubPath)) writeFileSync(pubPath, new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString())
  const bundle = `${rootCertificates.join('\n')}\n${certPem}`
  if (!existsSync(bundlePath) || readFileSync(bundlePath, 'utf8') !== bundle) writeFileSync(bundlePath, bundle, { mode: 0o644 })
  return { dir, certPath, keyPath, bundlePath, certPem, keyPem, created }
}

/** Mints per-host leaf certificates signed by the CA, all sharing one RSA key. */
export interface LeafMinter {
  /** A TLS context for `host` (cached; minted at most once per host and process). */
  contextFor(host: string): SecureContext
  /** How many certificates have been minted. */
  readonly minted: number
}

/**
 * Creates the leaf minter. One RSA key (`keys/leaf.key`, 0600, generated natively once) is
 * reused for every host: http-mitm-proxy's default generates a fresh 2048-bit key per host in
 * pure JS on the event loop, which stalls every open stream for about a second.
 */
export function createLeafMinter(ca: CaFiles): LeafMinter {
  const f = forge()
  const leafKeyPath = join(ca.dir, 'keys', 'leaf.key')
  let leafPriv: string
  if (existsSync(leafKeyPath)) {
    leafPriv = readFileSync(leafKeyPath, 'utf8')
  } else {
    leafPriv = rsaPems().privatePem
    writePrivate(leafKeyPath, leafPriv)
  }
  const leafPub = createPublicKey(leafPriv).export({ type: 'spki', format: 'pem' }).toString()
  const caCert = f.pki.certificateFromPem(ca.certPem)
  const caKey = f.pki.privateKeyFromPem(ca.keyPem)
  const leafPublic = f.pki.publicKeyFromPem(leafPub)
  const cache = new Map<string, SecureContext>()
  let minted = 0
  return {
    get minted() {
      return minted
    },
    contextFor(host) {
      const key = host.toLowerCase()
      const hit = cache.get(key)
      if (hit) return hit
      const cert = f.pki.createCertificate()
      cert.publicKey = leafPublic
      cert.serialNumber = certSerial()
      const now = Date.now()
      cert.validity.notBefore = new Date(now - 24 * 3600_000)
      // Under 398 days: Apple and Chrome reject longer-lived leaves.
      cert.validity.notAfter = new Date(now + 390 * 24 * 3600_000)
      cert.setSubject([{ name: 'commonName', value: key.slice(0, 64) }, { name: 'organizationName', value: 'agenttap' }])
      cert.setIssuer(caCert.subject.attributes)
      // An address by net.isIP: `2130706433` or `127.1` are names to a client's certificate check.
      const isIp = isIP(key) !== 0
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [isIp ? { type: 7, ip: key } : { type: 2, value: key }] },
      ])
      cert.sign(caKey, f.md.sha256.create())
      const ctx = createSecureContext({ key: leafPriv, cert: f.pki.certificateToPem(cert) })
      cache.set(key, ctx)
      minted++
      return ctx
    },
  }
}

