// Idempotency-Key on POSTs (the SDK sends one on every POST): the first answer is kept for 24 hours and replayed
// to retries, so a retried configure, key creation or registration does not act twice.
import { createHash } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv, Deps, Principal } from './context.js'
import { safeEqual } from './crypto.js'
import { AppError } from './errors.js'
import { decryptSecret, encryptSecret, SecretDecryptError } from './secrets.js'

const TTL_MS = 24 * 3600_000
const PENDING = 'pending'

/**
 * Answers here carry secrets (a new intl_sk_/data_/agnt_ key, a session token), so the cache never holds them in
 * the clear: the whole record, request fingerprint included, is sealed with ENCRYPTION_KEYS (AES-256-GCM), its
 * cache key bound as additional data so a record copied to another key does not open. Every answer is sealed,
 * not only the ones known to hold a secret, so a new route cannot forget to opt in.
 */
interface Stored {
  fingerprint: string
  status: number
  body: string
  contentType: string | null
  setCookie: string[]
}

export interface IdempotencyOptions {
  /**
   * For a route without a caller (registration): the answer is bound to the request alone, so only a request
   * with the same Idempotency-Key and the same body (which holds the password) gets it again. Idempotency keys
   * are random per call (the SDK uses a UUID), so a stranger can neither guess one nor replay without the body.
   */
  public?: boolean
}

/**
 * A cached answer belongs to one principal: the same user (any of their sessions) or the same key, never the
 * license as a whole, since one key must not read another's freshly minted secret. Another principal reusing an
 * Idempotency-Key gets its own fresh execution, as if the key were new: refusing it with 409 would tell a
 * stranger the key was in use, and keys are random, so a collision between honest callers does not happen.
 */
function principalScope(p: Principal): string {
  if (p.kind === 'session') return `user:${p.userId}`
  return `key:${p.kind}:${p.keyId}`
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

export function idempotency(deps: Deps, options: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  return async function idempotencyMiddleware(c, next) {
    const idemKey = c.req.header('idempotency-key')
    if (c.req.method !== 'POST' || !idemKey) return next()
    if (idemKey.length > 255) throw new AppError('validation_failed', 'Idempotency-Key must be at most 255 characters')
    let cacheKey: string
    if (options.public) cacheKey = `idem:public:${sha256(idemKey)}`
    else {
      const p = c.get('principal')
      cacheKey = `license:${p.licenseKey ?? '-'}:idem:${sha256(`${principalScope(p)}\n${idemKey}`)}`
    }
    const fingerprint = sha256(`${c.req.method} ${c.req.path}\n${await c.req.text()}`)
    const keys = deps.config.encryptionKeys

    if (!(await deps.cache.setIfAbsent(cacheKey, PENDING, TTL_MS))) {
      const seen = await deps.cache.get(cacheKey)
      if (seen === null || seen === PENDING)
        throw new AppError('idempotency_conflict', 'A request with this Idempotency-Key is still in progress', { retry: true })
      let stored: Stored
      try {
        stored = JSON.parse(decryptSecret(keys, seen, cacheKey)) as Stored
      } catch (err) {
        // Sealed with a key since removed from ENCRYPTION_KEYS, or tampered with: acting twice is worse than refusing.
        if (err instanceof SecretDecryptError || err instanceof SyntaxError)
          throw new AppError('idempotency_conflict', 'The answer to this Idempotency-Key cannot be replayed; send the request with a new key')
        throw err
      }
      if (!safeEqual(stored.fingerprint, fingerprint)) throw new AppError('idempotency_conflict', 'This Idempotency-Key was used with a different request')
      c.header('Idempotent-Replayed', 'true')
      if (stored.contentType) c.header('Content-Type', stored.contentType)
      for (const cookie of stored.setCookie) c.header('Set-Cookie', cookie, { append: true })
      return c.body(stored.body, stored.status as 200)
    }
    try {
      await next()
    } catch (err) {
      await deps.cache.del(cacheKey)
      throw err
    }
    // Errors and server failures are not remembered: the client may fix the request and retry with the same key.
    if (c.res.status >= 400) {
      await deps.cache.del(cacheKey)
      return
    }
    const body = await c.res.clone().text()
    const stored: Stored = {
      fingerprint,
      status: c.res.status,
      body,
      contentType: c.res.headers.get('content-type'),
      setCookie: c.res.headers.getSetCookie(),
    }
    await deps.cache.set(cacheKey, encryptSecret(keys, JSON.stringify(stored), cacheKey), TTL_MS)
  }
}
