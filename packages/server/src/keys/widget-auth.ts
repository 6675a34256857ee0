// Widget calls: publishable key (header, or ?key= for EventSource), Origin against the key's allow-list,
// CORS answered for that origin only, the visitor token, and the visitor-IP, key and license widget limits.
import type { Context, MiddlewareHandler } from 'hono'
import { sharedBlock } from '../platform/cache.js'
import type { AppEnv, Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { clientIp, presetHeader } from '../platform/http.js'
import { enforce, type LimitSpec, widgetLimit } from '../platform/ratelimit.js'
import type { KeyResolver } from './resolver.js'
import { originAllowed } from './resolver.js'
import { verifyVisitorToken } from './visitors.js'

const ALLOW_HEADERS = 'X-Product-Key, Authorization, Content-Type, Last-Event-ID, Idempotency-Key'
export const KEY_LIMIT_PER_MINUTE = 1200
export const VISITOR_IP_LIMIT_PER_MINUTE = 120

export function widgetAuth(deps: Deps, keys: KeyResolver): MiddlewareHandler<AppEnv> {
  return async function widgetAuthMiddleware(c, next) {
    const origin = c.req.header('origin')
    if (c.req.method === 'OPTIONS') {
      // Preflights carry no key; the real request is checked against the key's allowed origins.
      if (origin) {
        c.header('Access-Control-Allow-Origin', origin)
        c.header('Vary', 'Origin')
      }
      c.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
      c.header('Access-Control-Allow-Headers', ALLOW_HEADERS)
      c.header('Access-Control-Max-Age', '600')
      return c.body(null, 204)
    }
    presetHeader(c, 'Vary', 'Origin')
    // A page may read the answer (including a refusal, so the widget can say why); whether the key serves
    // that origin is decided below.
    if (origin) presetHeader(c, 'Access-Control-Allow-Origin', origin)
    // Browsers send no Origin on same-origin GETs and EventSource; Sec-Fetch-Site (not settable by page
    // scripts) says the page is this server's own, e.g. /demo.
    const pageOrigin = origin ?? (c.req.header('sec-fetch-site') === 'same-origin' ? new URL(deps.config.publicUrl).origin : undefined)
    const key = await keys.resolve(c.req.header('x-product-key') ?? c.req.query('key'))
    if (key.kind !== 'publishable') throw new AppError('invalid_key', 'Secret keys must never be used in a web page; use a chat_ or sale_ key')
    if (!originAllowed(key.allowedOrigins, pageOrigin)) throw new AppError('origin_not_allowed', `Origin ${pageOrigin ?? '(none)'} is not allowed for this key`)
    // The caller's own address pays for every attempt past this point, failed ones included (chargeAddress); the
    // license pays too once the visitor is authenticated, both in one step (chargeWidget). The address and key
    // limits go in reserved blocks (platform/cache.ts sharedBlock): an instance takes a tenth of the limit split
    // between the instances at once and admits from it in memory, so a widget call seldom waits on Redis. One
    // instance admits exactly the limit; several never more, and at most a tenth of it too few.
    const limit = VISITOR_IP_LIMIT_PER_MINUTE * deps.config.rateLimitScale
    const addressLimit: LimitSpec = {
      policy: 'visitor-ip',
      key: `ip:${key.id}:${clientIp(c)}`,
      limit,
      windowMs: 60_000,
      share: 'granted',
      block: sharedBlock(limit, deps.config.instanceCount),
      undescribed: true,
    }
    c.set('widget', { keyId: key.id, licenseId: key.licenseId, licenseKey: key.licenseKey, product: key.product, tier: key.tier, addressLimit })
    await next()
  }
}

export interface VisitorAuthOptions {
  /** EventSource cannot send headers: accept `?token=` as well (the stream route only, so tokens stay out of logs elsewhere). */
  queryToken?: boolean
  /** Check a token only when one is sent (leads may name a conversation, or not). */
  optional?: boolean
}

/** The visitor token, checked before chargeWidget so a forged or expired one charges the license nothing. */
export function visitorAuth(deps: Deps, options: VisitorAuthOptions = {}): MiddlewareHandler<AppEnv> {
  return async function visitorAuthMiddleware(c, next) {
    const header = c.req.header('authorization')
    const token = (options.queryToken ? c.req.query('token') : undefined) ?? (header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined)
    if (token !== undefined || !options.optional) c.set('visitorId', await verifyVisitorToken(deps, c.get('widget').licenseId, token))
    await next()
  }
}

/**
 * The caller's address, the license's widget budget, the key's and (routes that declare one) the visitor's own limit,
 * charged in one step for a caller that passed every check above (from this instance's reserved blocks when they
 * cover it, else one Redis call); a caller refused on the way pays its address alone (chargeAddress).
 */
export async function chargeWidget(deps: Deps, c: Context<AppEnv>, visitorLimit?: { policy: string; perMinute: number }): Promise<void> {
  const scale = deps.config.rateLimitScale
  const w = c.get('widget')
  const visitorId = c.get('visitorId')
  const keyLimit = KEY_LIMIT_PER_MINUTE * scale
  const specs: LimitSpec[] = [
    w.addressLimit,
    widgetLimit(w.licenseKey, w.tier, scale, deps.config.plans),
    { policy: 'key', key: `key:${w.keyId}`, limit: keyLimit, windowMs: 60_000, share: 'granted', block: sharedBlock(keyLimit, deps.config.instanceCount) },
  ]
  if (visitorLimit && visitorId) {
    const limit = Math.max(1, Math.floor(visitorLimit.perMinute * scale))
    // In blocks as well (3 units of a visitor's 30 messages a minute on one instance; exact from two instances on).
    specs.push({
      policy: visitorLimit.policy,
      key: `${visitorLimit.policy}:${visitorId}`,
      limit,
      windowMs: 60_000,
      share: 'granted',
      block: sharedBlock(limit, deps.config.instanceCount),
    })
  }
  await enforce(deps, c, specs)
}

/** Charges the caller's address alone: an attempt refused after the key checked out (a bad visitor token). */
export async function chargeAddress(deps: Deps, c: Context<AppEnv>): Promise<void> {
  const w = c.get('widget')
  if (w) await enforce(deps, c, [w.addressLimit])
}
