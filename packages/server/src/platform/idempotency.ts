// Idempotency-Key on authenticated POSTs (the SDK sends one on every POST): the first answer is kept for
// 24 hours and replayed to retries, so a retried configure or key creation does not act twice.
import { createHash } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv, Deps } from './context.js'
import { AppError } from './errors.js'

const TTL_MS = 24 * 3600_000
const PENDING = 'pending'

interface Stored {
  fingerprint: string
  status: number
  body: string
  contentType: string | null
}

export function idempotency(deps: Deps): MiddlewareHandler<AppEnv> {
  return async function idempotencyMiddleware(c, next) {
    const idemKey = c.req.header('idempotency-key')
    if (c.req.method !== 'POST' || !idemKey) return next()
    if (idemKey.length > 255) throw new AppError('validation_failed', 'Idempotency-Key must be at most 255 characters')
    const p = c.get('principal')
    const scope = `${p.licenseKey ?? '-'}:${p.userId ?? p.kind}`
    const cacheKey = `license:${p.licenseKey ?? '-'}:idem:${createHash('sha256').update(`${scope}:${idemKey}`).digest('hex')}`
    const fingerprint = createHash('sha256')
      .update(`${c.req.method} ${c.req.path}\n${await c.req.text()}`)
      .digest('hex')

    if (!(await deps.cache.setIfAbsent(cacheKey, PENDING, TTL_MS))) {
      const seen = await deps.cache.get(cacheKey)
      if (seen === null || seen === PENDING) throw new AppError('idempotency_conflict', 'A request with this Idempotency-Key is still in progress')
      const stored = JSON.parse(seen) as Stored
      if (stored.fingerprint !== fingerprint) throw new AppError('idempotency_conflict', 'This Idempotency-Key was used with a different request')
      c.header('Idempotent-Replayed', 'true')
      if (stored.contentType) c.header('Content-Type', stored.contentType)
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
    const stored: Stored = { fingerprint, status: c.res.status, body, contentType: c.res.headers.get('content-type') }
    await deps.cache.set(cacheKey, JSON.stringify(stored), TTL_MS)
  }
}
