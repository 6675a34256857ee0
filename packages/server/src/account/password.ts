// Password hashing with scrypt at OWASP's recommended cost (N=2^17, r=8, p=1), self-describing so cost can rise later.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'
import type { Deps } from '../platform/context.js'

const R = 8
const P = 1
const KEYLEN = 32

function scrypt(password: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFKC'), salt, KEYLEN, { N, r: R, p: P, maxmem: 128 * N * R * 2 }, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, logN)
  return `scrypt$${logN}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !logN || !salt || !key || Number(r) !== R || Number(p) !== P) return false
  const expected = Buffer.from(key, 'base64')
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), Number(logN))
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** Spent on unknown emails so a login's timing does not reveal whether the account exists. */
export function dummyHash(deps: Pick<Deps, 'config' | 'memo'>): Promise<string> {
  return deps.memo.slot('dummy-password-hash', () => hashPassword('not-a-real-password', deps.config.scryptLogN))
}
