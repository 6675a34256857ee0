// Outgoing mail: sendMail records the message in the mail_outbox table and enqueues its delivery as a durable job,
// both in the caller's transaction, so a message exists exactly when the change that causes it does. The job sends
// it over SMTP (nodemailer) and retries with the jobs' backoff; without SMTP_URL the message is kept in the outbox,
// where the operator reads it (GET /api/admin/mail).
import type { Kysely } from 'kysely'
import nodemailer from 'nodemailer'
import type { Config } from '../platform/config.js'
import type { Database, Db, MailRow } from '../platform/db.js'
import { newId } from '../platform/ids.js'
import { enqueue, type JobHandler } from '../platform/jobs.js'
import type { Logger } from '../platform/logger.js'
import { decryptSecret, encryptSecret } from '../platform/secrets.js'
import { render, type TemplateData, type TemplateName } from './templates.js'

export const MAIL_JOB = 'mail.send'
/** With the default backoff (1 s doubling, capped at 5 min) about 40 minutes of an unreachable SMTP server. */
export const MAIL_ATTEMPTS = 12

export interface MailMessage<T extends TemplateName = TemplateName> {
  to: string
  template: T
  data: TemplateData[T]
  /** The license the message is about (the operator's filter). */
  licenseId?: string | null
  /** At most one message per key, ever (an event consumer's rerun sends nothing new). */
  dedupeKey?: string
}

const context = (id: string) => `mail:${id}`

/**
 * Renders the template and records the message and its delivery job in `db` (pass the caller's transaction).
 * Resolves to the message id, or null when a message with the same dedupe key exists.
 */
export async function sendMail<T extends TemplateName>(
  db: Kysely<Database>,
  config: Pick<Config, 'encryptionKeys'>,
  message: MailMessage<T>,
): Promise<string | null> {
  const id = newId('mail')
  const rendered = render(message.template, message.data)
  const inserted = await db
    .insertInto('mail_outbox')
    .values({
      id,
      license_id: message.licenseId ?? null,
      to_email: message.to.trim(),
      template: message.template,
      subject: rendered.subject,
      // Bodies carry license keys and single-use links: encrypted at rest like every other secret.
      body_text: encryptSecret(config.encryptionKeys, rendered.text, context(id)),
      body_html: encryptSecret(config.encryptionKeys, rendered.html, context(id)),
      dedupe_key: message.dedupeKey ?? null,
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst()
  if (!inserted) return null
  await enqueue(db, MAIL_JOB, { mailId: id }, { dedupeKey: `mail:${id}`, maxAttempts: MAIL_ATTEMPTS })
  return id
}

/** A stored message's bodies, decrypted. */
export function mailBodies(config: Pick<Config, 'encryptionKeys'>, row: Pick<MailRow, 'id' | 'body_text' | 'body_html'>): { text: string; html: string } {
  return {
    text: decryptSecret(config.encryptionKeys, row.body_text, context(row.id)),
    html: decryptSecret(config.encryptionKeys, row.body_html, context(row.id)),
  }
}

export interface Mailer {
  job: JobHandler<{ mailId: string }>
  close(): void
}

/** The delivery job of one instance and its SMTP connection pool (none without SMTP_URL). */
export function createMailer(deps: { db: Db; config: Config; logger: Logger; clock: { now(): number } }): Mailer {
  const { smtpUrl, from } = deps.config.mail
  const transport = smtpUrl ? nodemailer.createTransport(smtpUrl, { from }) : undefined
  if (!transport) {
    deps.logger.info('mail: SMTP_URL is not set, so messages are kept in the mail outbox instead of sent', {
      see: 'GET /api/admin/mail (operator) or the mail_outbox table',
    })
  }
  const hostname = new URL(deps.config.publicUrl).hostname
  const job: JobHandler<{ mailId: string }> = {
    async run({ mailId }) {
      const row = await deps.db.selectFrom('mail_outbox').selectAll().where('id', '=', mailId).executeTakeFirst()
      // Sent (or kept) by an earlier run whose worker died before finishing the job: nothing more to do.
      if (!row || row.status === 'sent' || row.status === 'kept') return
      const now = new Date(deps.clock.now())
      if (!transport) {
        await deps.db.updateTable('mail_outbox').set({ status: 'kept', updated_at: now }).where('id', '=', mailId).execute()
        deps.logger.info('mail kept in the outbox (SMTP_URL is not set)', { mailId, template: row.template, see: 'GET /api/admin/mail' })
        return
      }
      const { text, html } = mailBodies(deps.config, row)
      try {
        const info = await transport.sendMail({
          from,
          to: row.to_email,
          subject: row.subject,
          text,
          html,
          // The same id on every attempt: a receiving server or client can drop a duplicate of a retried send.
          messageId: `<${row.id}@${hostname}>`,
        })
        await deps.db
          .updateTable('mail_outbox')
          .set((eb) => ({
            status: 'sent',
            attempts: eb('attempts', '+', 1),
            provider_message_id: String(info.messageId ?? ''),
            last_error: null,
            sent_at: now,
            updated_at: now,
          }))
          .where('id', '=', mailId)
          .execute()
      } catch (err) {
        const error = String((err as Error)?.message ?? err).slice(0, 500)
        await deps.db
          .updateTable('mail_outbox')
          .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error, updated_at: now }))
          .where('id', '=', mailId)
          .execute()
        throw err
      }
    },
    async onDead(trx, { mailId }, error) {
      await trx
        .updateTable('mail_outbox')
        .set({ status: 'failed', last_error: error.slice(0, 500), updated_at: new Date(deps.clock.now()) })
        .where('id', '=', mailId)
        .execute()
      deps.logger.warn('mail could not be sent', { mailId, error })
    },
  }
  return { job, close: () => transport?.close() }
}
