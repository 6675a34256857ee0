// /api/admin/mail: operators read the mail outbox (what was sent, kept or failed, per license or address) and send
// a buyer their license email again.
import { z } from '@hono/zod-openapi'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import type { MailRow } from '../platform/db.js'
import { notFound } from '../platform/errors.js'
import { clientIp, createRouter } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'
import { sendLicenseMail } from './consumers.js'
import { mailBodies } from './mailer.js'
import { TEMPLATES } from './templates.js'

const MAIL_STATUSES = ['queued', 'sent', 'failed', 'kept'] as const

const MailSchema = z
  .object({
    id: z.string().openapi({ example: 'mail_3f1c2b7a9d8e4f60a1b2c3d4' }),
    licenseId: z.uuid().nullable(),
    to: z.string(),
    template: z.enum(TEMPLATES),
    subject: z.string(),
    status: z.enum(MAIL_STATUSES).openapi({ description: 'queued (being sent, retried on failure), sent, failed (gave up), kept (no SMTP_URL: kept here)' }),
    attempts: z.number().int(),
    providerMessageId: z.string().nullable().openapi({ description: 'The Message-ID the SMTP server accepted' }),
    lastError: z.string().nullable(),
    createdAt: z.iso.datetime(),
    sentAt: z.iso.datetime().nullable(),
    text: z.string().nullable().openapi({ description: 'The plain-text body, for messages kept in the outbox (no SMTP_URL) only' }),
  })
  .openapi('Mail')

const listMail = declareRoute({
  method: 'get',
  path: '/api/admin/mail',
  operationId: 'listMail',
  summary: 'The mail outbox: every message, newest first',
  tag: 'admin',
  access: access.operator,
  request: {
    query: z.object({
      license: z.uuid().optional().openapi({ description: 'Only messages about this license' }),
      email: z.string().trim().min(1).max(320).optional().openapi({ description: 'Only messages to this address (case-insensitive)' }),
      status: z.enum(MAIL_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: { 200: json(z.object({ mail: z.array(MailSchema) }), 'Messages, newest first') },
})

const resendLicense = declareRoute({
  method: 'post',
  path: '/api/admin/licenses/{id}/resend-license',
  operationId: 'resendLicenseMail',
  summary: 'Send the buyer their license email again',
  tag: 'admin',
  access: access.operator,
  request: { params: z.object({ id: z.uuid() }) },
  errors: ['not_found'],
  responses: { 202: json(z.object({ mail: MailSchema }), 'Queued for delivery') },
})

export function mailRoutes(deps: Deps) {
  const app = createRouter()

  const publicMail = (m: MailRow) => ({
    id: m.id,
    licenseId: m.license_id,
    to: m.to_email,
    template: m.template as (typeof TEMPLATES)[number],
    subject: m.subject,
    status: m.status,
    attempts: m.attempts,
    providerMessageId: m.provider_message_id,
    lastError: m.last_error,
    createdAt: m.created_at.toISOString(),
    sentAt: m.sent_at?.toISOString() ?? null,
    // Without SMTP the outbox is the only place a developer reads a message; a sent body stays encrypted here.
    text: m.status === 'kept' ? mailBodies(deps.config, m).text : null,
  })

  app.openapi(listMail, async (c) => {
    const { license, email, status, limit } = c.req.valid('query')
    let q = deps.db.selectFrom('mail_outbox').selectAll()
    if (license) q = q.where('license_id', '=', license)
    if (email) q = q.where((eb) => eb(eb.fn('lower', ['to_email']), '=', email.toLowerCase()))
    if (status) q = q.where('status', '=', status)
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return c.json({ mail: rows.map(publicMail) }, 200)
  })

  app.openapi(resendLicense, async (c) => {
    const { id } = c.req.valid('param')
    const row = await deps.db.transaction().execute(async (trx) => {
      const license = await trx.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirst()
      if (!license) return undefined
      const mailId = await sendLicenseMail(deps, trx, license)
      await audit(trx, {
        licenseId: id,
        ...actorOf(c.get('principal')),
        action: 'license.mail_resent',
        target: license.key,
        ip: clientIp(c),
        meta: { mailId },
      })
      return trx
        .selectFrom('mail_outbox')
        .selectAll()
        .where('id', '=', mailId as string)
        .executeTakeFirstOrThrow()
    })
    if (!row) throw notFound('License')
    return c.json({ mail: publicMail(row) }, 202)
  })

  return app
}
