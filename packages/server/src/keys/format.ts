// Product key format: prefix_ + 22 base62 (≥128 bits) + 6-char base62 CRC32 tail; checked before any I/O.
import { crcTail, hmacHex, randomBase62 } from '../platform/crypto.js'
import { AppError } from '../platform/errors.js'
import { isPublishable, KEY_PREFIX, type KeyPrefix, PRODUCT_BY_PREFIX, type Product } from '../platform/products.js'

const KEY_RE = /^(chat|sale|data|agnt)_([0-9A-Za-z]{22})([0-9A-Za-z]{6})$/

export function generateProductKey(product: Product): string {
  const prefix = KEY_PREFIX[product]
  const body = randomBase62(22)
  return `${prefix}_${body}${crcTail(`${prefix}_${body}`)}`
}

export interface ParsedKey {
  prefix: KeyPrefix
  product: Product
  publishable: boolean
}

export function parseProductKey(raw: string): ParsedKey | null {
  const m = KEY_RE.exec(raw)
  if (!m) return null
  const prefix = m[1] as KeyPrefix
  if (crcTail(`${prefix}_${m[2]}`) !== m[3]) return null
  const product = PRODUCT_BY_PREFIX[prefix]
  return { prefix, product, publishable: isPublishable(product) }
}

/** Throws malformed_key for anything that is not a well-formed product or API key (no I/O happens before). */
export function requireWellFormedKey(raw: string | undefined): void {
  if (raw?.startsWith('intl_sk_')) {
    if (!isWellFormedApiKey(raw)) throw new AppError('malformed_key', 'API key is malformed or its checksum does not match')
    return
  }
  requireProductKey(raw)
}

export function requireProductKey(raw: string | undefined): ParsedKey {
  if (!raw) throw new AppError('invalid_key', 'A product key is required')
  const parsed = parseProductKey(raw)
  if (!parsed) throw new AppError('malformed_key', 'Product key is malformed or its checksum does not match')
  return parsed
}

const API_KEY_RE = /^intl_sk_([0-9A-Za-z]{22})([0-9A-Za-z]{6})$/

/** Secret API keys: intl_sk_ + the same body and CRC32 tail as product keys. */
export function generateApiKey(): string {
  const body = randomBase62(22)
  return `intl_sk_${body}${crcTail(`intl_sk_${body}`)}`
}

export function isWellFormedApiKey(raw: string): boolean {
  const m = API_KEY_RE.exec(raw)
  return m !== null && crcTail(`intl_sk_${m[1]}`) === m[2]
}

/** Every key is found by its peppered HMAC; secret keys are stored only as that. */
export const keyLookup = (pepper: Buffer, key: string): string => hmacHex(pepper, key)

/** What the dashboard shows for a secret key after creation. */
export const keyStart = (key: string): string => `${key.slice(0, 9)}…${key.slice(-4)}`
