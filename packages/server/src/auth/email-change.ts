// Email change with confirmation: a signed-in person asks with their password (POST /api/auth/email); the link goes
// to the NEW address, and only opening it (POST /api/auth/email/confirm) changes the account's email — and the
// license's buyer email with it, so a later purchase under the new address joins the same license. The old address
// is told once the change is done.
import { z } from '@hono/zod-openapi'
import { verifyPassword } from '../account/password.js'
import { dropCachedSessions } from '../account/sessions.js'
import { sendMail } from '../mail/mailer.js'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { isUniqueViolation } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { enforce } from '../platform/ratelimit.js'
import { access, declareRoute, json } from '../platform/route.js'
import { ACCOUNT_TOKEN_TTL_MS, issueAccountToken, spendAccountToken } from './account-tokens.js'

const requestChange = declareRoute({
  method: 'post',
  path: '/api/auth/email',
  operationId: 'changeEmail',
  summary: 'Change the account’s email: a confirmation link goes to the new address',
  tag: 'auth',
  access: access.session,
  errors: ['wrong_password', 'email_taken'],
  request: { body: jsonBody(z.strictObject({ newEmail: z.email().max(320), password: z.string().min(1).max(200) })) },
  responses: { 202: json(z.object({ pending: z.literal(true), newEmail: z.string() }), 'Confirmation link sent to the new address') },
})

const confirmChange = declareRoute({
  method: 'post',
  path: '/api/auth/email/confirm',
  operationId: 'confirmEmail',
  summary: 'Confirm a new email address with the emailed token',
  tag: 'auth',
  access: access.public,
  errors: ['link_invalid', 'email_taken', 'rate_limited'],
  request: { body: jsonBody(z.strictObject({ token: z.string().min(20).max(200) })) },
  responses: { 200: json(z.object({ email: z.string() }), 'The account’s email is now the new address') },
})

export function emailChangeRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(requestChange, async (c) => {
    const p = c.get('principal')
    if (!p.userId || p.kind !== 'session') throw new AppError('forbidden', 'Only a signed-in person can change their email')
    const body = c.req.valid('json')
    const newEmail = body.newEmail.trim()
    const user = await deps.db.selectFrom('users').selectAll().where('id', '=', p.userId).executeTakeFirstOrThrow()
    if (!(await verifyPassword(body.password, user.password_hash))) throw new AppError('wrong_password', 'The current password is wrong')
    const taken = await deps.db
      .selectFrom('users')
      .select('id')
      .where((eb) => eb(eb.fn('lower', ['email']), '=', newEmail.toLowerCase()))
      .where('id', '!=', user.id)
      .executeTakeFirst()
    if (taken) throw new AppError('email_taken', 'An account with this email already exists')
    await deps.db.transaction().execute(async (trx) => {
      const now = new Date(deps.clock.now())
      const secret = await issueAccountToken(trx, deps.config.keyPepper, { userId: user.id, kind: 'email_change', newEmail, now })
      await sendMail(trx, deps.config, {
        to: newEmail,
        template: 'email-change',
        licenseId: user.license_id,
        data: { confirmUrl: `${deps.config.publicUrl}/dashboard/confirm-email?token=${secret}`, newEmail, expiresMinutes: ACCOUNT_TOKEN_TTL_MS / 60_000 },
      })
      await audit(trx, {
        licenseId: user.license_id,
        ...actorOf(p),
        action: 'auth.email_change_requested',
        target: user.id,
        ip: clientIp(c),
        meta: { newEmail },
      })
    })
    return c.json({ pending: true as const, newEmail }, 202)
  })

  app.openapi(confirmChange, async (c) => {
    const ip = clientIp(c)
    await enforce(deps, c, [{ policy: 'email-confirm-ip', key: `email-confirm:ip:${ip}`, limit: 20, windowMs: 15 * 60_000 }])
    const { token } = c.req.valid('json')
    const changed = await deps.db
      .transaction()
      .execute(async (trx) => {
        const now = new Date(deps.clock.now())
        const spent = await spendAccountToken(trx, deps.config.keyPepper, { token, kind: 'email_change', now })
        if (!spent?.new_email) return undefined
        const before = await trx.selectFrom('users').select(['email', 'license_id']).where('id', '=', spent.user_id).executeTakeFirstOrThrow()
        await trx.updateTable('users').set({ email: spent.new_email }).where('id', '=', spent.user_id).execute()
        if (before.license_id) {
          // The buyer email follows the account that owns the license.
          await trx
            .updateTable('licenses')
            .set({ email: spent.new_email, updated_at: now })
            .where('id', '=', before.license_id)
            .where((eb) => eb(eb.fn('lower', ['email']), '=', before.email.toLowerCase()))
            .execute()
        }
        await sendMail(trx, deps.config, { to: before.email, template: 'email-changed', licenseId: before.license_id, data: { newEmail: spent.new_email } })
        await audit(trx, {
          licenseId: before.license_id,
          actor: spent.new_email,
          action: 'auth.email_changed',
          target: spent.user_id,
          ip,
          meta: { from: before.email, to: spent.new_email },
        })
        return { userId: spent.user_id, licenseId: before.license_id, email: spent.new_email }
      })
      .catch((err) => {
        if (isUniqueViolation(err)) throw new AppError('email_taken', 'An account with this email already exists')
        throw err
      })
    if (!changed) throw new AppError('link_invalid', 'This confirmation link is invalid, already used or expired; ask for a new one')
    // Sessions carry the email in their cache: drop them so every request sees the new address.
    const sessions = await deps.db.selectFrom('sessions').select('id').where('user_id', '=', changed.userId).where('revoked_at', 'is', null).execute()
    const license = changed.licenseId ? await deps.db.selectFrom('licenses').select('key').where('id', '=', changed.licenseId).executeTakeFirst() : undefined
    await dropCachedSessions(
      deps,
      license?.key ?? null,
      sessions.map((s) => s.id),
    )
    return c.json({ email: changed.email }, 200)
  })

  return app
}
