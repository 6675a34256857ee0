// Webhook signature schemes: Intelagent's own (t=…,v1=…, used with n8n, both ways) and Squarespace's.

import { hmacHex, safeEqual } from './crypto.js'
import { AppError } from './errors.js'

export const SIGNATURE_HEADER = 'X-Intelagent-Signature'
export const TOLERANCE_SECONDS = 300

export function signIntelagent(secret: string, rawBody: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacHex(secret, `${unixSeconds}.${rawBody}`)}`
}

/** A header that is well formed and fresh, before any secret is involved. */
export interface IntelagentSignature {
  t: number
  v1: string[]
}

/** Parses the header and checks its timestamp: invalid_signature or stale_signature, whoever the secret belongs to. */
export function parseIntelagentHeader(header: string | undefined, nowMs: number): IntelagentSignature {
  if (!header) throw new AppError('invalid_signature', `Missing ${SIGNATURE_HEADER} header`)
  let t: number | undefined
  const v1: string[] = []
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2)
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v)
    if (k === 'v1' && v) v1.push(v.toLowerCase())
  }
  if (t === undefined || v1.length === 0) throw new AppError('invalid_signature', `${SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex>`)
  if (Math.abs(nowMs / 1000 - t) > TOLERANCE_SECONDS)
    throw new AppError('stale_signature', `Signature timestamp is more than ${TOLERANCE_SECONDS} seconds away from server time`)
  return { t, v1 }
}

/** Constant-time check of a parsed header against one secret. */
export function signatureMatches(secret: string, sig: IntelagentSignature, rawBody: string): boolean {
  const expected = hmacHex(secret, `${sig.t}.${rawBody}`)
  // Several v1 values let a sender sign with an old and a new secret during rotation; every one is compared.
  let ok = false
  for (const candidate of sig.v1) ok = safeEqual(candidate, expected) || ok
  return ok
}

export function verifyIntelagent(secret: string, header: string | undefined, rawBody: string, nowMs: number): void {
  if (!signatureMatches(secret, parseIntelagentHeader(header, nowMs), rawBody)) throw new AppError('invalid_signature', 'Signature does not match')
}

/** Squarespace-Signature: hex HMAC-SHA256 of the raw body, keyed by the hex-decoded subscription secret. */
export function verifySquarespace(secret: Buffer, header: string | undefined, rawBody: string): void {
  if (!header) throw new AppError('invalid_signature', 'Missing Squarespace-Signature header')
  if (!safeEqual(header.trim().toLowerCase(), hmacHex(secret, rawBody))) throw new AppError('invalid_signature', 'Signature does not match')
}
