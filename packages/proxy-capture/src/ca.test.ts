import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { certSerial, createLeafMinter, ensureCa } from './ca.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-ca-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('ensureCa', () => {
  it('creates a CA with private permissions once and reuses it', () => {
    const caDir = join(dir, 'ca')
    const a = ensureCa(caDir)
    expect(a.created).toBe(true)
    expect(statSync(caDir).mode & 0o777).toBe(0o700)
    expect(statSync(a.keyPath).mode & 0o777).toBe(0o600)
    const x = new X509Certificate(a.certPem)
    expect(x.ca).toBe(true)
    const b = ensureCa(caDir)
    expect(b.created).toBe(false)
    expect(b.certPem).toBe(a.certPem)
  })

  it('mints leaf certificates for names and IPs that verify against the CA, reusing one key', () => {
    const ca = ensureCa(join(dir, 'ca2'))
    const m = createLeafMinter(ca)
    const c1 = m.contextFor('api.anthropic.com')
    expect(m.contextFor('API.anthropic.com')).toBe(c1)
    m.contextFor('127.0.0.1')
    expect(m.minted).toBe(2)
    expect(statSync(join(ca.dir, 'keys', 'leaf.key')).mode & 0o777).toBe(0o600)
  })
})

describe('ensureCa with a damaged CA', () => {
  it('names the file when the key is corrupt or belongs to another CA, or the certificate is corrupt', () => {
    const a = ensureCa(join(dir, 'ca-a'))
    const b = ensureCa(join(dir, 'ca-b'))
    // b's key beside a's certificate.
    copyFileSync(b.keyPath, a.keyPath)
    expect(() => ensureCa(a.dir)).toThrow(expect.objectContaining({ code: 'CA_INVALID', file: a.keyPath, message: expect.stringMatching(/does not belong to the CA certificate .*ca\.pem.*must be a pair/) }))
    writeFileSync(a.keyPath, '-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----\n')
    expect(() => ensureCa(a.dir)).toThrow(expect.objectContaining({ code: 'CA_INVALID', file: a.keyPath, message: expect.stringMatching(/CA private key .*ca\.private\.key is unusable/) }))
    writeFileSync(b.certPath, 'garbage')
    expect(() => ensureCa(b.dir)).toThrow(expect.objectContaining({ code: 'CA_INVALID', file: b.certPath, message: expect.stringMatching(/CA certificate .*ca\.pem is unusable/) }))
  })
})

describe('certSerial', () => {
  it('is always a minimal positive DER INTEGER (first byte 0x01-0x7f), so OpenSSL accepts every certificate', () => {
    for (let i = 0; i < 20_000; i++) {
      const first = parseInt(certSerial().slice(0, 2), 16)
      expect(first >= 0x01 && first <= 0x7f, `serial starting with ${first.toString(16)}`).toBe(true)
    }
  })
})
