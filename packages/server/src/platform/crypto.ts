// Key material: random base62, CRC32 tails, Crockford base32 with a check symbol, HMAC and constant-time compare.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { crc32 } from 'node:zlib'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Uniform random base62 string (rejection sampling keeps every symbol equally likely). */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

export function base62Fixed(value: number, width: number): string {
  let out = ''
  let v = value
  for (let i = 0; i < width; i++) {
    out = BASE62[v % 62] + out
    v = Math.floor(v / 62)
  }
  return out
}

/** 6-char base62 CRC32 of the prefix and body: lets a typo be rejected without touching storage. */
export const crcTail = (text: string): string => base62Fixed(crc32(text), 6)

export function randomCrockford(length: number): string {
  let out = ''
  for (const byte of randomBytes(length)) out += CROCKFORD[byte & 31]
  return out
}

/** Luhn mod 32 over Crockford symbols: catches every single-symbol error and every adjacent swap except 0↔Z. */
export function crockfordCheck(symbols: string): string {
  let factor = 2
  let sum = 0
  for (let i = symbols.length - 1; i >= 0; i--) {
    let addend = factor * CROCKFORD.indexOf(symbols[i] as string)
    factor = factor === 2 ? 1 : 2
    addend = Math.floor(addend / 32) + (addend % 32)
    sum += addend
  }
  return CROCKFORD[(32 - (sum % 32)) % 32] as string
}

/** Crockford decoding rules: case-insensitive, O→0, I/L→1. */
export const normalizeCrockford = (s: string): string => s.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1')

export const isCrockford = (s: string): boolean => /^[0-9A-HJKMNP-TV-Z]*$/.test(s)

export const hmacHex = (key: Buffer | Uint8Array | string, data: string | Buffer): string => createHmac('sha256', key).update(data).digest('hex')

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  // Compare against itself on length mismatch so the time taken does not tell the length.
  return timingSafeEqual(ab, ab.length === bb.length ? bb : ab) && ab.length === bb.length
}

export const randomToken = (bytes = 24): string => randomBytes(bytes).toString('base64url')
