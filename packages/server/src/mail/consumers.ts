// License delivery: the buyer hears of a license by email whichever channel issued it (Squarespace, n8n, the CLI,
// Stripe), because the mail hangs on the license events, not on the issuers.
import type { Kysely } from 'kysely'
import type { Deps } from '../platform/context.js'
import type { Database, License } from '../platform/db.js'
import type { DomainEvent, Events } from '../platform/events.js'
import { sendMail } from './mailer.js'
import type { TemplateData, TemplateName } from './templates.js'

export const registerUrl = (publicUrl: string, key: string) => `${publicUrl}/dashboard/register?license=${encodeURIComponent(key)}`

/** Queues the license email (key, products, register link) to the license's buyer. */
export function sendLicenseMail(deps: Pick<Deps, 'config'>, db: Kysely<Database>, license: License, dedupeKey?: string) {
  return sendMail(db, deps.config, {
    to: license.email,
    template: 'license-issued',
    licenseId: license.id,
    data: { key: license.key, products: license.products, tier: license.tier, registerUrl: registerUrl(deps.config.publicUrl, license.key) },
    ...(dedupeKey ? { dedupeKey } : {}),
  })
}

export function registerMailConsumers(deps: Deps, events: Events): void {
  /**
   * Mails the owner of the event's license (never the demo license's nobody), once per event: the template's name and
   * the event id make the outbox's dedupe key.
   */
  const mailOwner = async <T extends TemplateName>(event: DomainEvent, template: T, data: TemplateData[T] | (() => Promise<TemplateData[T]>)) => {
    const license = event.licenseId
      ? await deps.db.selectFrom('licenses').select(['id', 'email', 'source']).where('id', '=', event.licenseId).executeTakeFirst()
      : undefined
    if (!license || license.source === 'demo') return
    await sendMail(deps.db, deps.config, {
      to: license.email,
      template,
      licenseId: license.id,
      dedupeKey: `${template}:${event.id}`,
      data: typeof data === 'function' ? await data() : data,
    })
  }

  events.onEvent('license.created', 'mail.license-issued', async (event) => {
    const license = await deps.db.selectFrom('licenses').selectAll().where('id', '=', event.data.licenseId).executeTakeFirst()
    // The demo license belongs to nobody.
    if (!license || license.source === 'demo') return
    await sendLicenseMail(deps, deps.db, license, `license-issued:${event.id}`)
  })

  // Usage warnings (80 %, 100 %, runs out before the period ends): already once per period per quota at the source.
  events.onEvent('usage.warning', 'mail.usage-warning', (event) =>
    mailOwner(event, 'usage-warning', {
      message: event.data.message,
      used: event.data.used,
      limit: event.data.limit,
      periodEnd: event.data.periodEnd.slice(0, 10),
      upgradeUrl: `${deps.config.publicUrl}/dashboard/billing`,
    }),
  )

  // Dunning: every failed renewal attempt tells the buyer, with the invoice to pay and when the grace ends.
  events.onEvent('billing.payment_failed', 'mail.payment-failed', async (event) => {
    await sendMail(deps.db, deps.config, {
      to: event.data.email,
      template: 'payment-failed',
      licenseId: event.data.licenseId,
      dedupeKey: `payment-failed:${event.id}`,
      data: {
        amountDue: `${(event.data.amountDue / 100).toFixed(2)} ${event.data.currency.toUpperCase()}`,
        invoiceUrl: event.data.hostedInvoiceUrl,
        graceEndsAt: event.data.graceEndsAt?.slice(0, 10) ?? null,
        billingUrl: `${deps.config.publicUrl}/dashboard/billing`,
      },
    })
  })

  // An outbound webhook endpoint switched off after failing for days: the owner hears of it, once per event.
  events.onEvent('webhook_endpoint.disabled', 'mail.webhook-disabled', (event) =>
    mailOwner(event, 'webhook-disabled', {
      url: event.data.url,
      reason: event.data.reason,
      failingSince: `${event.data.failingSince.slice(0, 16).replace('T', ' ')} UTC`,
      webhooksUrl: `${deps.config.publicUrl}/dashboard/webhooks`,
    }),
  )

  // A visitor waits for a person: the owner hears of it once per wait (the event fires only on the move to waiting).
  events.onEvent('conversation.waiting', 'mail.conversation-waiting', (event) =>
    mailOwner(event, 'conversation-waiting', async () => {
      const question =
        event.data.reason === 'unanswered'
          ? await deps.db
              .selectFrom('messages')
              .select('text')
              .where('conversation_id', '=', event.data.conversationId)
              .where('role', '=', 'visitor')
              .orderBy('seq', 'desc')
              .limit(1)
              .executeTakeFirst()
          : undefined
      return {
        product: event.data.product,
        reason: event.data.reason,
        question: question ? question.text.slice(0, 300) : null,
        conversationUrl: `${deps.config.publicUrl}/dashboard/conversations/${event.data.conversationId}`,
      }
    }),
  )

  events.onEvent('license.updated', 'mail.license-purchase', async (event) => {
    if (event.data.cause !== 'purchase') return
    const license = await deps.db.selectFrom('licenses').selectAll().where('id', '=', event.data.licenseId).executeTakeFirst()
    if (!license) return
    await sendMail(deps.db, deps.config, {
      to: license.email,
      template: 'license-updated',
      licenseId: license.id,
      dedupeKey: `license-updated:${event.id}`,
      data: {
        key: license.key,
        products: license.products,
        tier: license.tier,
        claimed: license.claimed_at !== null,
        registerUrl: registerUrl(deps.config.publicUrl, license.key),
        dashboardUrl: `${deps.config.publicUrl}/dashboard/`,
      },
    })
  })
}
