// authenticate: a session JWT (Bearer or the dashboard cookie) or a secret product key, resolved to a Principal.
import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { loadSession, SESSION_COOKIE } from '../account/sessions.js'
import { verifySession } from '../account/tokens.js'
import type { KeyResolver } from '../keys/resolver.js'
import { keyKindOf, keyScopes } from '../keys/scopes.js'
import type { AppEnv, Deps, Principal } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { type LimitSpec, licenseLimit } from '../platform/ratelimit.js'

function csrfCheck(c: Context, publicUrl: string): void {
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return
  const site = c.req.header('sec-fetch-site')
  if (site === 'same-origin' || site === 'none') return
  const origin = c.req.header('origin')
  if (origin && origin === new URL(publicUrl).origin) return
  throw new AppError('csrf_rejected', 'Cookie-authenticated writes must come from the dashboard origin')
}

/**
 * Who is calling: a session JWT (Bearer or the dashboard cookie, whose writes must come from the dashboard origin)
 * or a secret key (intl_sk_, data_, agnt_), resolved to a Principal. Refuses an absent, malformed, expired or
 * revoked credential; roles, scopes and budgets are the caller's business (the guard, access.ts).
 */
export async function authenticate(deps: Deps, keys: KeyResolver, c: Context<AppEnv>): Promise<Principal> {
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
    return {
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
    }
  }
  if (viaCookie) csrfCheck(c, deps.config.publicUrl)
  const claims = await verifySession(deps, token)
  return loadSession(deps, claims.licenseKey, claims.sid, claims.sst)
}

/** The owner's API budget for a caller bound to a license (operators without a license are not limited). */
export const apiBudget = (deps: Deps, p: Principal): LimitSpec[] =>
  p.licenseKey && p.tier ? [licenseLimit(p.licenseKey, p.tier, deps.config.rateLimitScale, deps.config.plans)] : []
