// /api/auth: register with a license key, log in (JWT + HttpOnly cookie), who am I, log out everywhere.
import type { Context } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { dummyHash, hashPassword, verifyPassword } from '../account/password.js'
import { createSession, revokeSession, SESSION_COOKIE } from '../account/sessions.js'
import { publicUser } from '../account/users.js'
import { parseLicenseKey } from '../licenses/license-key.js'
import { findLicenseById, findLicenseByKey } from '../licenses/queries.js'
import { actorOf, audit } from '../platform/audit.js'
import type { Tier } from '../platform/config.js'
import type { AppEnv, Deps } from '../platform/context.js'
import { isUniqueViolation, type License, type User } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import type { Product } from '../platform/products.js'
import { enforce, type LimitSpec } from '../platform/ratelimit.js'
import { access, declareRoute, json } from '../platform/route.js'
import { admitLogin, loginIpLimit } from './login-throttle.js'
import { claimLicense, findUserByEmail, insertOwner } from './queries.js'
import { LoggedOut, LoginInput, Me, RegisterInput, Session } from './schemas.js'

/** Registration attempts per IP and per email; login has its own throttle (login-throttle.ts), never per email alone. */
const attemptLimits = (ip: string, mail: string, kind: 'register'): LimitSpec[] => [
  { policy: `${kind}-ip`, key: `${kind}:ip:${ip}`, limit: 10, windowMs: 15 * 60_000 },
  { policy: `${kind}-email`, key: `${kind}:email:${mail.toLowerCase()}`, limit: 5, windowMs: 15 * 60_000 },
]

const register = declareRoute({
  method: 'post',
  path: '/api/auth/register',
  operationId: 'register',
  summary: 'Create the account of a license (its purchase email and key) and log in',
  tag: 'auth',
  access: access.public,
  // A retry whose first answer was lost gets that answer (same user, same token) instead of 409: the license is
  // claimed by then. The answer holds a session token, so it is kept sealed and bound to the request body.
  idempotent: true,
  errors: ['malformed_key', 'license_not_found', 'license_inactive', 'email_mismatch', 'license_already_claimed', 'email_taken', 'rate_limited'],
  request: { body: jsonBody(RegisterInput) },
  responses: { 201: json(Session, 'Account created and logged in: the JWT in the body and an HttpOnly cookie') },
})

const login = declareRoute({
  method: 'post',
  path: '/api/auth/login',
  operationId: 'login',
  summary: 'Log in with email and password',
  tag: 'auth',
  access: access.public,
  errors: ['invalid_credentials', 'license_inactive', 'rate_limited'],
  request: { body: jsonBody(LoginInput) },
  responses: { 200: json(Session, 'Logged in: the JWT in the body and an HttpOnly cookie') },
})

const me = declareRoute({
  method: 'get',
  path: '/api/auth/me',
  operationId: 'getMe',
  summary: 'Who is calling: the logged-in person, or the license behind a secret key',
  tag: 'auth',
  access: access.caller,
  responses: { 200: json(Me, 'The caller') },
})

const logout = declareRoute({
  method: 'post',
  path: '/api/auth/logout',
  operationId: 'logout',
  summary: 'Log out: the session is revoked everywhere and the cookie cleared',
  tag: 'auth',
  access: access.session,
  idempotent: false,
  responses: { 200: json(LoggedOut, 'Session revoked everywhere') },
})

export function authRoutes(deps: Deps) {
  const app = createRouter()

  async function startSession<S extends 200 | 201>(c: Context<AppEnv>, user: User, license: License | undefined, status: S) {
    const session = await createSession(deps, user, license, { ip: clientIp(c), userAgent: c.req.header('user-agent') ?? null })
    setCookie(c, SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: deps.config.publicUrl.startsWith('https:'),
      path: '/',
      expires: new Date(session.expiresAt),
    })
    return c.json({ token: session.token, expiresAt: new Date(session.expiresAt).toISOString(), user: publicUser(user, license) }, status)
  }

  app.openapi(register, async (c) => {
    const body = c.req.valid('json')
    const key = parseLicenseKey(body.license_key)
    const ip = clientIp(c)
    await enforce(deps, c, attemptLimits(ip, body.email, 'register'))
    const license = await findLicenseByKey(deps.db, key)
    if (!license) throw new AppError('license_not_found', 'No license with this key')
    if (license.status !== 'active') throw new AppError('license_inactive', `This license is ${license.status}`)
    if (license.email.toLowerCase() !== body.email.trim().toLowerCase())
      throw new AppError('email_mismatch', 'Register with the email address used for the purchase')
    if (license.claimed_at) throw new AppError('license_already_claimed', 'This license already has an account; log in instead')
    const passwordHash = await hashPassword(body.password, deps.config.scryptLogN)
    const user = await deps.db
      .transaction()
      .execute(async (trx) => {
        // The claim is a conditional update: of two racing registrations exactly one sees a row.
        if (!(await claimLicense(trx, license.id, new Date(deps.clock.now()))))
          throw new AppError('license_already_claimed', 'This license already has an account; log in instead')
        const u = await insertOwner(trx, license.id, body.email.trim(), passwordHash)
        await audit(trx, { licenseId: license.id, actor: u.email, action: 'account.registered', target: u.id, ip })
        await emit(trx, {
          type: 'license.updated',
          licenseId: license.id,
          data: { licenseId: license.id, changes: ['claimed'], status: license.status, claimed: true },
        })
        return u
      })
      .catch((err) => {
        if (isUniqueViolation(err)) throw new AppError('email_taken', 'An account with this email already exists')
        throw err
      })
    return startSession(c, user, license, 201)
  })

  app.openapi(login, async (c) => {
    const body = c.req.valid('json')
    const ip = clientIp(c)
    await enforce(deps, c, [loginIpLimit(ip)])
    const attempt = await admitLogin(deps, ip, body.email)
    const user = await findUserByEmail(deps.db, body.email.trim())
    const valid = await verifyPassword(body.password, user?.password_hash ?? (await dummyHash(deps)))
    if (!user || !valid) {
      await attempt.failed()
      await audit(deps.db, { licenseId: user?.license_id ?? null, actor: body.email.slice(0, 320), action: 'auth.login_failed', ip })
      throw new AppError('invalid_credentials', 'Email or password is wrong')
    }
    await attempt.succeeded()
    // A customer removed from their team keeps the account (an invitation can bring it back) but nothing to open.
    if (user.role === 'customer' && !user.license_id) throw new AppError('not_a_member', 'This account is no longer part of a team; ask for a new invitation')
    const license = user.license_id ? await findLicenseById(deps.db, user.license_id) : undefined
    if (license && license.status !== 'active') throw new AppError('license_inactive', `This license is ${license.status}`)
    await audit(deps.db, { licenseId: user.license_id, actor: user.email, action: 'auth.login', target: user.id, ip })
    return startSession(c, user, license, 200)
  })

  return app
}

export function sessionRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(me, (c) => {
    const p = c.get('principal')
    return c.json(
      {
        user: {
          id: p.userId,
          email: p.email,
          role: p.role,
          teamRole: p.teamRole ?? null,
          licenseKey: p.licenseKey,
          products: p.products as Product[],
          tier: (p.licenseId ? p.tier : null) as Tier | null,
        },
        via: p.kind,
      },
      200,
    )
  })

  app.openapi(logout, async (c) => {
    const p = c.get('principal')
    if (!p.sessionId) throw new AppError('bad_request', 'Only a session can log out; revoke a key instead')
    await revokeSession(deps, p.licenseKey, p.sessionId)
    await audit(deps.db, { licenseId: p.licenseId, ...actorOf(p), action: 'auth.logout', target: p.userId, ip: clientIp(c) })
    deleteCookie(c, SESSION_COOKIE, { path: '/' })
    return c.json({ loggedOut: true }, 200)
  })

  return app
}
