// A self-signed HTTPS server on loopback, for tests of the TLS step: nobody vouches for its certificate, unless a
// test trusts `cert` itself. The certificate names 127.0.0.1 (CN and subjectAltName), so trusting it is enough.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface SelfSignedHttps {
  port: number
  /** The certificate (PEM), for a client that should trust it. */
  cert: Buffer
  close(): Promise<void>
}

export async function selfSignedHttps(subject = '/CN=127.0.0.1'): Promise<SelfSignedHttps> {
  const dir = mkdtempSync(join(tmpdir(), 'self-signed-'))
  const [key, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')]
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2']
  execFileSync('openssl', [...args, '-keyout', key, '-out', certFile], { stdio: 'ignore' })
  const cert = readFileSync(certFile)
  const server = createServer({ key: readFileSync(key), cert }, (_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    cert,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
