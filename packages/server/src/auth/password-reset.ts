// Password reset by email: POST /api/auth/password-reset always answers 202 (whether an account has that email is
// never told, and the work is the same either way), throttled per IP and per address; the emailed link's token sets
// a new password once, within an hour, and every session of the account ends.
import { z } from '@hono/zod-openapi'
import { hashPassword } from '../account/password.js'
import { dropCachedSessions } from '../account/sessions.js'
import { sendMail } from '../mail/mailer.js'
import { audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { enforce, type LimitSpec } from '../platform/ratelimit.js'
import { access, declareRoute, json } from '../platform/route.js'
import { closeStreams, streamTag } from '../platform/streams.js'
import { ACCOUNT_TOKEN_TTL_MS, issueAccountToken, spendAccountToken } from './account-tokens.js'

const password = z.string().min(10, 'must be at least 10 characters').max(200)
const token = z.string().min(20).max(200)

/** Per IP: answered 429. Per address: silently not sent past the limit (the answer stays 202, so no one learns more). */
const ipLimit = (ip: string): LimitSpec => ({ policy: 'password-reset-ip', key: `password-reset:ip:${ip}`, limit: 10, windowMs: 15 * 60_000 })
const emailLimit = (mail: string): LimitSpec => ({ policy: 'password-reset-email', key: `password-reset:email:${mail}`, limit: 3, windowMs: 60 * 60_000 })

const requestReset = declareRoute({
  method: 'post',
  path: '/api/auth/password-reset',
  operationId: 'requestPasswordReset',
  summary: 'Email a password-reset link (always 202: whether an account exists is never told)',
  tag: 'auth',
  access: access.public,
  errors: ['rate_limited'],
  request: { body: jsonBody(z.strictObject({ email: z.email().max(320) })) },
  responses: { 202: json(z.object({ accepted: z.literal(true) }), 'If an account has this email, a link is on its way') },
})

const confirmReset = declareRoute({
  method: 'post',
  path: '/api/auth/password-reset/confirm',
  operationId: 'resetPassword',
  summary: 'Set a new password with the emailed token; every session of the account ends',
  tag: 'auth',
  access: access.public,
  errors: ['link_invalid', 'rate_limited'],
  request: { body: jsonBody(z.strictObject({ token, password })) },
  responses: { 200: json(z.object({ reset: z.literal(true) }), 'Password changed; sign in with it') },
})

/** Ends every session of a user at once (Postgres, the session caches and open event streams). */
export async function endUserSessions(deps: Deps, userId: string): Promise<number> {
  const now = new Date(deps.clock.now())
  const ended = await deps.db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning(['id', 'license_id'])
    .execute()
  const byLicense = new Map<string | null, string[]>()
  for (const s of ended) byLicense.set(s.license_id, [...(byLicense.get(s.license_id) ?? []), s.id])
  for (const [licenseId, sids] of byLicense) {
    const license = licenseId ? await deps.db.selectFrom('licenses').select('key').where('id', '=', licenseId).executeTakeFirst() : undefined
    await dropCachedSessions(deps, license?.key ?? null, sids)
  }
  if (ended.length > 0)
    await closeStreams(
      deps.cache,
      ended.map((s) => streamTag.session(s.id)),
      'session_revoked',
    )
  return ended.length
}

export function passwordResetRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(requestReset, async (c) => {
    const ip = clientIp(c)
    await enforce(deps, c, [ipLimit(ip)])
    const address = c.req.valid('json').email.trim().toLowerCase()
    const [perAddress] = await deps.cache.rateLimitAll([emailLimit(address)])
    const user = await deps.db
      .selectFrom('users')
      .select(['id', 'email', 'license_id'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', address))
      .executeTakeFirst()
    if (user && perAddress?.allowed) {
      await deps.db.transaction().execute(async (trx) => {
        const now = new Date(deps.clock.now())
        const secret = await issueAccountToken(trx, deps.config.keyPepper, { userId: user.id, kind: 'password_reset', now })
        await sendMail(trx, deps.config, {
          to: user.email,
          template: 'password-reset',
          licenseId: user.license_id,
          data: { resetUrl: `${deps.config.publicUrl}/dashboard/reset-password?token=${secret}`, expiresMinutes: ACCOUNT_TOKEN_TTL_MS / 60_000 },
        })
        await audit(trx, { licenseId: user.license_id, actor: user.email, action: 'auth.password_reset_requested', target: user.id, ip })
      })
    }
    return c.json({ accepted: true as const }, 202)
  })

  app.openapi(confirmReset, async (c) => {
    const ip = clientIp(c)
    await enforce(deps, c, [ipLimit(ip)])
    const body = c.req.valid('json')
    // Hashed before the token is spent: a slow hash must not hold the token's row.
    const passwordHash = await hashPassword(body.password, deps.config.scryptLogN)
    const user = await deps.db.transaction().execute(async (trx) => {
      const spent = await spendAccountToken(trx, deps.config.keyPepper, { token: body.token, kind: 'password_reset', now: new Date(deps.clock.now()) })
      if (!spent) return undefined
      const u = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash })
        .where('id', '=', spent.user_id)
        .returning(['id', 'email', 'license_id'])
        .executeTakeFirstOrThrow()
      await audit(trx, { licenseId: u.license_id, actor: u.email, action: 'auth.password_reset', target: u.id, ip })
      return u
    })
    if (!user) throw new AppError('link_invalid', 'This reset link is invalid, already used or expired; ask for a new one')
    await endUserSessions(deps, user.id)
    return c.json({ reset: true as const }, 200)
  })

  return app
}
