// requireAuth: a session JWT (Bearer or the dashboard cookie) or a secret product key, resolved to a Principal.
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import type { KeyResolver } from '../keys/resolver.js'
import { checkScope, keyKindOf, keyScopes } from '../keys/scopes.js'
import type { AppEnv, Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { enforce, type LimitSpec, licenseLimit } from '../ratelimit/index.js'
import { chargeApiCall, type Usage } from '../usage/meter.js'
import { loadSession } from './sessions.js'
import { verifySession } from './tokens.js'

export const SESSION_COOKIE = 'intl_session'

function csrfCheck(c: Context, publicUrl: string): void {
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return
  const site = c.req.header('sec-fetch-site')
  if (site === 'same-origin' || site === 'none') return
  const origin = c.req.header('origin')
  if (origin && origin === new URL(publicUrl).origin) return
  throw new AppError('csrf_rejected', 'Cookie-authenticated writes must come from the dashboard origin')
}

export interface RequireAuthOptions {
  role?: 'admin'
  /** Apply the caller's per-license rate limit (operators without a license are not limited). */
  limit?: boolean
  /** Count secret-key requests against the plan's apiCalls quota (src/usage/), charged with the budget. */
  usage?: Usage
}

export function requireAuth(deps: Deps, keys: KeyResolver, options: RequireAuthOptions = {}): MiddlewareHandler<AppEnv> {
  const scale = deps.config.rateLimitScale
  const limitFor = (licenseKey: string | null, tier: string | undefined): LimitSpec[] =>
    options.limit && licenseKey && tier ? [licenseLimit(licenseKey, tier, scale, deps.config.plans)] : []
  return async function requireAuthMiddleware(c, next) {
    const header = c.req.header('authorization')
    let token: string | undefined
    let viaCookie = false
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header)
      if (!m?.[1]) throw new AppError('unauthorized', 'Authorization header must be "Bearer <token>"')
      token = m[1]
    } else {
      token = getCookie(c, SESSION_COOKIE)
      viaCookie = token !== undefined
    }
    if (!token) throw new AppError('unauthorized', 'Log in or send a secret key as a Bearer token')

    if (/^(data|agnt|intl_sk)_/.test(token)) {
      const key = await keys.resolve(token)
      c.set('principal', {
        kind: key.kind === 'api' ? 'api_key' : 'product_key',
        keyId: key.id,
        keyKind: keyKindOf(key),
        scopes: keyScopes(key),
        userId: null,
        sessionId: null,
        role: 'customer',
        email: null,
        licenseId: key.licenseId,
        licenseKey: key.licenseKey,
        tier: key.tier,
        products: key.licenseProducts,
      })
    } else {
      if (viaCookie) csrfCheck(c, deps.config.publicUrl)
      const claims = await verifySession(deps.config.jwtSecret, token, deps.clock.now())
      c.set('principal', await loadSession(deps, claims.licenseKey, claims.sid, claims.sst))
    }
    if (options.role === 'admin' && c.get('principal').role !== 'admin') throw new AppError('forbidden', 'Operators only')
    const principal = c.get('principal')
    checkScope(principal, c.req.method, c.req.path)
    // Charged last: a request refused above (bad token, revoked session or key, suspended license, wrong role or
    // scope) spends no license's budget, so nobody can drain an owner's budget with requests that fail.
    await enforce(deps, c, limitFor(principal.licenseKey, principal.tier))
    if (options.usage) await chargeApiCall(options.usage, principal, c.req.header('idempotency-key'), () => deps.clock.now())
    // A use is a call the key was allowed to make.
    if (principal.kind === 'api_key' && principal.keyId) keys.recordUse(principal.keyId)
    await next()
  }
}

/** The caller's license id; operators acting without a license have no tenant routes. */
export function tenantOf(c: Context<AppEnv>): string {
  const id = c.get('principal').licenseId
  if (!id) throw new AppError('forbidden', 'This route needs a customer account bound to a license')
  return id
}
