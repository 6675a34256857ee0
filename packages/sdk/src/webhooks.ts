// The X-Intelagent-Signature scheme (`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`),
// used by n8n calls in both directions and by outbound webhooks. WebCrypto only, so it runs anywhere.
import { SignatureVerificationError } from './errors.js'
import type { WebhookEvent } from './types.js'

export const SIGNATURE_HEADER = 'X-Intelagent-Signature'
export const DEFAULT_TOLERANCE_SECONDS = 300

const encoder = new TextEncoder()

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle
  if (!s) throw new Error('Intelagent webhooks need WebCrypto (globalThis.crypto.subtle): Node 20+, Deno, Bun, workers or a browser')
  return s
}

async function hmacHex(secret: string, data: string): Promise<string> {
  const key = await subtle().importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await subtle().sign('HMAC', key, encoder.encode(data)))
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Compares without an early exit, so the time taken does not reveal how much of a forged signature matched. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** The header value for `rawBody`, signed at `timestamp` (unix seconds, default now). */
export async function sign(secret: string, rawBody: string, timestamp: number = Math.floor(Date.now() / 1000)): Promise<string> {
  return `t=${timestamp},v1=${await hmacHex(secret, `${timestamp}.${rawBody}`)}`
}

/**
 * Resolves when `header` is a valid signature of `rawBody` (the exact bytes received, before any JSON parsing)
 * made within `toleranceSec` of now; rejects with a SignatureVerificationError whose code is
 * `invalid_signature` or `stale_signature` otherwise. Several v1 values (secret rotation) are accepted.
 */
export async function verifySignature(
  secret: string,
  header: string | null | undefined,
  rawBody: string,
  toleranceSec: number = DEFAULT_TOLERANCE_SECONDS,
  nowSec: number = Date.now() / 1000,
): Promise<void> {
  if (!header) throw new SignatureVerificationError(`Missing ${SIGNATURE_HEADER} header`, { code: 'invalid_signature' })
  let t: number | undefined
  const v1: string[] = []
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2)
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v)
    if (k === 'v1' && v) v1.push(v.toLowerCase())
  }
  if (t === undefined || v1.length === 0)
    throw new SignatureVerificationError(`${SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex>`, { code: 'invalid_signature' })
  if (Math.abs(nowSec - t) > toleranceSec)
    throw new SignatureVerificationError(`Signature timestamp is more than ${toleranceSec} seconds from now`, { code: 'stale_signature' })
  const expected = await hmacHex(secret, `${t}.${rawBody}`)
  if (!v1.some((sig) => constantTimeEqual(sig, expected))) throw new SignatureVerificationError('Signature does not match', { code: 'invalid_signature' })
}

/**
 * Verifies a webhook POST from Intelagent and returns its parsed event. `body` must be the raw request body
 * (as text, before any JSON parsing), `header` the X-Intelagent-Signature header, `secret` the endpoint's
 * `whsec_…` secret. Rejects with a SignatureVerificationError (`invalid_signature` / `stale_signature`).
 * During a secret rotation the header carries two v1 values; either secret verifies. Narrow on `event.type` for
 * that event's `data` (the document's DomainEvent data).
 */
export async function constructEvent(
  body: string | Uint8Array,
  header: string | null | undefined,
  secret: string,
  toleranceS: number = DEFAULT_TOLERANCE_SECONDS,
  nowSec?: number,
): Promise<WebhookEvent> {
  const raw = typeof body === 'string' ? body : new TextDecoder().decode(body)
  await verifySignature(secret, header, raw, toleranceS, nowSec)
  let event: unknown
  try {
    event = JSON.parse(raw)
  } catch {
    throw new SignatureVerificationError('The signed body is not JSON', { code: 'invalid_signature' })
  }
  const e = event as Partial<WebhookEvent>
  if (typeof e?.id !== 'string' || typeof e.type !== 'string' || typeof e.created !== 'number')
    throw new SignatureVerificationError('The signed body is not an Intelagent event', { code: 'invalid_signature' })
  return event as WebhookEvent
}

/** The same functions as `client.webhooks`, usable without a client (e.g. inside a webhook handler). */
export const webhooks = { sign, verifySignature, constructEvent, SIGNATURE_HEADER } as const
export type Webhooks = typeof webhooks
