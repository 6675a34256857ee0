// License keys: INTL-XXXX-XXXX-XXXX, Crockford base32, the last symbol a Luhn mod 32 check symbol.

import { crockfordCheck, isCrockford, normalizeCrockford, randomCrockford } from '../platform/crypto.js'
import { AppError } from '../platform/errors.js'

export function generateLicenseKey(): string {
  const body = randomCrockford(11)
  const s = body + crockfordCheck(body)
  return `INTL-${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}`
}

/** Canonical form of a typed-in key, or null when it cannot be one (checked before any I/O). */
export function normalizeLicenseKey(input: string): string | null {
  const m = /^\s*INTL-?([0-9A-Za-z]{4})-?([0-9A-Za-z]{4})-?([0-9A-Za-z]{4})\s*$/i.exec(input)
  if (!m) return null
  const s = normalizeCrockford(`${m[1]}${m[2]}${m[3]}`)
  if (!isCrockford(s) || crockfordCheck(s.slice(0, 11)) !== s[11]) return null
  return `INTL-${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}`
}

export function parseLicenseKey(input: string): string {
  const key = normalizeLicenseKey(input)
  if (!key) throw new AppError('malformed_key', 'License key must look like INTL-XXXX-XXXX-XXXX and its check symbol must match')
  return key
}
