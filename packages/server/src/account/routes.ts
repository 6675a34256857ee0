// /api/account: the signed-in person's own settings: change password, see their sessions, sign one or all others out.
import { z } from '@hono/zod-openapi'
import Bowser from 'bowser'
import { deleteCookie } from 'hono/cookie'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps, Principal } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { enforce } from '../platform/ratelimit.js'
import { access, declareRoute, empty, json } from '../platform/route.js'
import { hashPassword, verifyPassword } from './password.js'
import { findOwnSession, findPasswordHash, listLiveSessions, setPasswordHash } from './queries.js'
import { revokeSession, revokeUserSessions, SESSION_COOKIE } from './sessions.js'

const TAG = 'account'

const Session = z
  .object({
    id: z.string(),
    current: z.boolean().openapi({ description: 'The session making this request' }),
    device: z.string().openapi({ description: 'Browser and system read from the user agent, e.g. "Chrome 126 on Windows"', example: 'Chrome 126 on Windows' }),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime().nullable().openapi({ description: 'Last request, to within ten minutes' }),
    expiresAt: z.iso.datetime(),
  })
  .openapi('AccountSession')

const changePassword = declareRoute({
  method: 'post',
  path: '/api/account/password',
  operationId: 'changePassword',
  summary: 'Change your password (the current one is required); every other session of yours ends',
  tag: TAG,
  access: access.session,
  errors: ['password_incorrect'],
  request: {
    body: jsonBody(
      z.strictObject({
        currentPassword: z.string().min(1).max(200),
        newPassword: z.string().min(10, 'must be at least 10 characters').max(200),
      }),
    ),
  },
  responses: { 200: json(z.object({ changed: z.literal(true), sessionsEnded: z.number().int() }), 'Changed') },
})

const listSessions = declareRoute({
  method: 'get',
  path: '/api/account/sessions',
  operationId: 'listSessions',
  summary: 'Your live sessions (signed in and not expired), the current one first',
  tag: TAG,
  access: access.session,
  responses: { 200: json(z.object({ sessions: z.array(Session) }), 'Sessions') },
})

const endSession = declareRoute({
  method: 'delete',
  path: '/api/account/sessions/{id}',
  operationId: 'revokeSession',
  summary: 'Sign one of your sessions out (the current one too: that is logging out)',
  tag: TAG,
  access: access.session,
  errors: ['not_found'],
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: { 204: empty('Signed out') },
})

const endOthers = declareRoute({
  method: 'post',
  path: '/api/account/sessions/revoke-others',
  operationId: 'revokeOtherSessions',
  summary: 'Sign out every session of yours except this one',
  tag: TAG,
  access: access.session,
  responses: { 200: json(z.object({ sessionsEnded: z.number().int() }), 'Signed out') },
})

function sessionPrincipal(p: Principal): Principal & { userId: string; sessionId: string } {
  if (p.kind !== 'session' || !p.userId || !p.sessionId) throw new AppError('forbidden', 'This route needs a logged-in session, not a key')
  return p as Principal & { userId: string; sessionId: string }
}

export function deviceLabel(ua: string | null): string {
  if (!ua) return 'Unknown device'
  const parsed = Bowser.parse(ua)
  const browser = parsed.browser.name ? `${parsed.browser.name}${parsed.browser.version ? ` ${parsed.browser.version.split('.')[0]}` : ''}` : null
  const os = parsed.os.name ?? null
  if (browser && os) return `${browser} on ${os}`
  return browser ?? os ?? ua.slice(0, 60)
}

export function accountRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(changePassword, async (c) => {
    const p = sessionPrincipal(c.get('principal'))
    const body = c.req.valid('json')
    // Guessing the current password through a stolen session is throttled like a login.
    await enforce(deps, c, [{ policy: 'password-change', key: `password-change:user:${p.userId}`, limit: 5, windowMs: 15 * 60_000 }])
    const user = await findPasswordHash(deps.db, p.userId)
    if (!user || !(await verifyPassword(body.currentPassword, user.password_hash))) throw new AppError('password_incorrect', 'The current password is wrong')
    const hash = await hashPassword(body.newPassword, deps.config.scryptLogN)
    await deps.db.transaction().execute(async (trx) => {
      await setPasswordHash(trx, p.userId, hash)
      await audit(trx, { licenseId: p.licenseId, ...actorOf(p), action: 'account.password_changed', target: p.userId, ip: clientIp(c) })
    })
    const ended = await revokeUserSessions(deps, p.licenseKey, p.userId, p.sessionId)
    return c.json({ changed: true as const, sessionsEnded: ended.length }, 200)
  })

  app.openapi(listSessions, async (c) => {
    const p = sessionPrincipal(c.get('principal'))
    const rows = await listLiveSessions(deps.db, p.userId, new Date(deps.clock.now()))
    const sessions = rows
      .map((r) => ({
        id: r.id,
        current: r.id === p.sessionId,
        device: deviceLabel(r.user_agent),
        userAgent: r.user_agent,
        ip: r.ip,
        createdAt: r.created_at.toISOString(),
        lastSeenAt: (r.id === p.sessionId ? new Date(deps.clock.now()) : r.last_seen_at)?.toISOString() ?? null,
        expiresAt: r.expires_at.toISOString(),
      }))
      .sort((a, b) => Number(b.current) - Number(a.current))
    return c.json({ sessions }, 200)
  })

  app.openapi(endSession, async (c) => {
    const p = sessionPrincipal(c.get('principal'))
    const { id } = c.req.valid('param')
    // Only the caller's own sessions: another user's session id answers like one that does not exist.
    const row = await findOwnSession(deps.db, p.userId, id)
    if (!row) throw notFound('Session')
    await revokeSession(deps, p.licenseKey, id)
    await audit(deps.db, {
      licenseId: p.licenseId,
      ...actorOf(p),
      action: 'account.session_revoked',
      target: p.userId,
      ip: clientIp(c),
      meta: { current: id === p.sessionId },
    })
    if (id === p.sessionId) deleteCookie(c, SESSION_COOKIE, { path: '/' })
    return c.body(null, 204)
  })

  app.openapi(endOthers, async (c) => {
    const p = sessionPrincipal(c.get('principal'))
    const ended = await revokeUserSessions(deps, p.licenseKey, p.userId, p.sessionId)
    await audit(deps.db, {
      licenseId: p.licenseId,
      ...actorOf(p),
      action: 'account.other_sessions_revoked',
      target: p.userId,
      ip: clientIp(c),
      meta: { sessionsEnded: ended.length },
    })
    return c.json({ sessionsEnded: ended.length }, 200)
  })

  return app
}
