// Stripe billing: Checkout and the Customer Portal for a license, the webhook events that keep its tier in step with
// its subscription, the grace period of a failed renewal, and the nightly reconciliation. The license's tier only
// ever changes here from the subscription as Stripe says it is now (fetched under the license's row lock), never
// from the copy an event carries: events arrive late, twice and out of order, and the current state does not.
import type { Kysely } from 'kysely'
import { dropLicenseCaches } from '../auth/license-caches.js'
import type { KeyResolver } from '../keys/resolver.js'
import { findLicenseById, issueLicense } from '../licenses/queries.js'
import { audit } from '../platform/audit.js'
import type { StripeConfig, Tier } from '../platform/config.js'
import type { Deps } from '../platform/context.js'
import { type BillingAccount, type Database, isUniqueViolation } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { enqueue, type JobHandler } from '../platform/jobs.js'
import { PRODUCTS } from '../platform/products.js'
import { createStripe, ENDED_STATUSES, GRACE_STATUSES, idOf, type Stripe, subscriptionFacts, tierFor, tierOfPrice } from './stripe.js'

export const GRACE_JOB = 'billing.grace'
export const RECONCILE_JOB = 'billing.reconcile'
/** The hour (UTC) the nightly reconciliation runs. */
const RECONCILE_HOUR_UTC = 3
/** How far back the reconciliation asks Stripe for events it failed to deliver (Stripe keeps events 30 days). */
const MISSED_EVENTS_WINDOW_S = 30 * 24 * 3600

export const PAID_TIERS = ['professional', 'business', 'enterprise'] as const
export type PaidTier = (typeof PAID_TIERS)[number]

/** The event types acted on; any other type is acknowledged and ignored. */
export const HANDLED_EVENTS = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
  'charge.refunded',
] as const

/** A field the sync changed: what the reconciliation records as a repair. */
export interface Change {
  field: string
  before: unknown
  after: unknown
}

export interface SyncResult {
  outcome: string
  licenseId: string | null
  changes: Change[]
}

interface ClaimedEvent {
  id: string
  type: string
  created: number
  via: 'webhook' | 'reconciliation'
}

interface SyncOptions {
  /** Claims the Stripe event id in the same transaction: a duplicate finds it taken and changes nothing. */
  claim?: ClaimedEvent
  reason: string
  /** Runs in the transaction after the subscription is applied (dunning events, first payment, refund mark). */
  after?: (trx: Kysely<Database>, account: BillingAccount, license: { id: string; email: string }) => Promise<void>
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null)
const ms = (d: Date | null | undefined): number | null => (d ? d.getTime() : null)

export class Billing {
  readonly stripe: Stripe

  constructor(
    private deps: Deps,
    private keys: KeyResolver,
    readonly config: StripeConfig,
  ) {
    this.stripe = createStripe(config)
  }

  // ── Checkout, Portal, summary ──────────────────────────────────────────────────────────────────────────────

  /** The license's Stripe customer, created once: the idempotency key makes concurrent first calls share one. */
  async ensureCustomer(licenseId: string): Promise<string> {
    const existing = await this.account(this.deps.db, licenseId)
    if (existing) return existing.stripe_customer_id
    const license = await findLicenseById(this.deps.db, licenseId)
    if (!license) throw new AppError('license_not_found', 'License not found')
    const customer = await this.call(() =>
      this.stripe.customers.create({ email: license.email, metadata: { license_id: licenseId } }, { idempotencyKey: `intelagent-customer-${licenseId}` }),
    )
    await this.deps.db
      .insertInto('billing_accounts')
      .values({ license_id: licenseId, stripe_customer_id: customer.id })
      .onConflict((oc) => oc.column('license_id').doNothing())
      .execute()
    const account = await this.account(this.deps.db, licenseId)
    if (!account) throw new Error('billing account vanished after insert')
    return account.stripe_customer_id
  }

  private priceOf(tier: PaidTier): string {
    const price = this.config.prices[tier]
    if (!price) throw new AppError('not_configured', `No Stripe price is configured for ${tier} (STRIPE_PRICE_${tier.toUpperCase()})`)
    return price
  }

  async checkout(licenseId: string, tier: PaidTier): Promise<string> {
    const price = this.priceOf(tier)
    const account = await this.account(this.deps.db, licenseId)
    if (account?.stripe_subscription_id && account.status && !ENDED_STATUSES.includes(account.status))
      throw new AppError('conflict', 'This license already has a subscription: change its plan in the billing portal (POST /api/billing/portal)')
    const customer = await this.ensureCustomer(licenseId)
    const base = this.deps.config.publicUrl
    const session = await this.call(() =>
      this.stripe.checkout.sessions.create({
        mode: 'subscription',
        customer,
        client_reference_id: licenseId,
        line_items: [{ price, quantity: 1 }],
        subscription_data: { metadata: { license_id: licenseId } },
        metadata: { license_id: licenseId },
        success_url: `${base}/dashboard/billing?checkout=done`,
        cancel_url: `${base}/dashboard/billing`,
      }),
    )
    if (!session.url) throw new AppError('upstream_failed', 'Stripe did not return a Checkout URL')
    return session.url
  }

  /** A Checkout for someone without a license (a pricing page): the license is issued when Stripe says it is paid. */
  async pricingCheckout(tier: PaidTier, email: string | undefined): Promise<string> {
    const price = this.priceOf(tier)
    const base = this.deps.config.publicUrl
    const session = await this.call(() =>
      this.stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price, quantity: 1 }],
        ...(email ? { customer_email: email } : {}),
        success_url: `${base}/dashboard#register`,
        cancel_url: `${base}/`,
      }),
    )
    if (!session.url) throw new AppError('upstream_failed', 'Stripe did not return a Checkout URL')
    return session.url
  }

  async portal(licenseId: string): Promise<string> {
    const customer = await this.ensureCustomer(licenseId)
    const session = await this.call(() =>
      this.stripe.billingPortal.sessions.create({ customer, return_url: `${this.deps.config.publicUrl}/dashboard/billing` }),
    )
    return session.url
  }

  async summary(licenseId: string) {
    const license = await findLicenseById(this.deps.db, licenseId)
    if (!license) throw new AppError('license_not_found', 'License not found')
    const account = await this.account(this.deps.db, licenseId)
    const invoices = account
      ? (await this.call(() => this.stripe.invoices.list({ customer: account.stripe_customer_id, limit: 12 }))).data.map((i) => ({
          id: i.id,
          number: i.number,
          amount: i.status === 'paid' ? i.amount_paid : i.amount_due,
          currency: i.currency,
          status: i.status ?? 'draft',
          hostedUrl: i.hosted_invoice_url ?? null,
          createdAt: new Date(i.created * 1000).toISOString(),
        }))
      : []
    return {
      plan: license.tier as Tier,
      status: account?.status ?? null,
      subscriptionId: account?.stripe_subscription_id ?? null,
      currentPeriodEnd: iso(account?.current_period_end),
      cancelAtPeriodEnd: account?.cancel_at_period_end ?? false,
      graceEndsAt: iso(account?.grace_ends_at),
      /** Tiers a Checkout can be opened for on this server. */
      purchasable: PAID_TIERS.filter((t) => this.config.prices[t]),
      invoices,
    }
  }

  // ── Webhook events ─────────────────────────────────────────────────────────────────────────────────────────

  /** Verifies the signature on the raw body (throws invalid_signature) and returns Stripe's event. */
  verify(raw: string, header: string | undefined): Stripe.Event {
    const secret = this.config.webhookSecret
    if (!secret) throw new AppError('not_configured', 'STRIPE_WEBHOOK_SECRET is not set on this server')
    if (!header) throw new AppError('invalid_signature', 'Missing Stripe-Signature header')
    try {
      return this.stripe.webhooks.constructEvent(raw, header, secret, undefined, undefined, this.deps.clock.now())
    } catch {
      throw new AppError('invalid_signature', 'Stripe-Signature does not match this body and STRIPE_WEBHOOK_SECRET (or is older than five minutes)')
    }
  }

  /** Acts on one event once; answers what it did ('duplicate' for an id already acted on, 'ignored' for other types). */
  async handle(event: Stripe.Event, via: 'webhook' | 'reconciliation'): Promise<SyncResult> {
    if (!(HANDLED_EVENTS as readonly string[]).includes(event.type)) return { outcome: 'ignored', licenseId: null, changes: [] }
    const seen = await this.deps.db.selectFrom('stripe_events').select('id').where('id', '=', event.id).executeTakeFirst()
    if (seen) return { outcome: 'duplicate', licenseId: null, changes: [] }
    const claim: ClaimedEvent = { id: event.id, type: event.type, created: event.created, via }
    const none = (outcome: string) => this.claimOnly(claim, null, outcome)
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = event.data.object
        if (session.mode !== 'subscription') return none('ignored_not_subscription')
        const subId = idOf(session.subscription)
        const customerId = idOf(session.customer)
        let licenseId = session.client_reference_id ?? session.metadata?.license_id ?? null
        if (!licenseId) {
          const issued = await this.issueForBuyer(session, subId)
          if (!issued) return none('ignored_no_email')
          licenseId = issued
        }
        if (!(await this.licenseExists(licenseId))) return none('unknown_license')
        return this.sync(licenseId, customerId, subId, { claim, reason: event.type })
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const sub = event.data.object
        const customerId = idOf(sub.customer)
        const licenseId = await this.licenseFor(sub.metadata?.license_id, customerId)
        // A pricing-page buyer's subscription can arrive before its Checkout: the Checkout event links it.
        if (!licenseId) return none('unknown_license')
        return this.sync(licenseId, customerId, sub.id, { claim, reason: event.type })
      }
      case 'invoice.paid':
      case 'invoice.payment_failed': {
        const invoice = event.data.object
        const details = invoice.parent?.subscription_details
        const subId = idOf(details?.subscription)
        const customerId = idOf(invoice.customer)
        const licenseId = await this.licenseFor(details?.metadata?.license_id, customerId)
        if (!subId || !licenseId) return none(subId ? 'unknown_license' : 'ignored_not_subscription')
        const paid = event.type === 'invoice.paid'
        return this.sync(licenseId, customerId, subId, {
          claim,
          reason: event.type,
          after: async (trx, account, license) => {
            if (paid) {
              if (invoice.amount_paid > 0 && !account.first_paid_at)
                await trx
                  .updateTable('billing_accounts')
                  .set({ first_paid_at: new Date(this.deps.clock.now()) })
                  .where('license_id', '=', licenseId)
                  .execute()
              return
            }
            // Dunning: the owner hears of each failed attempt (the mailer consumes this event).
            await emit(trx, {
              type: 'billing.payment_failed',
              licenseId,
              data: {
                licenseId,
                email: invoice.customer_email ?? license.email,
                invoiceId: invoice.id,
                amountDue: invoice.amount_due,
                currency: invoice.currency,
                attempt: invoice.attempt_count,
                hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
                graceEndsAt: iso(account.grace_ends_at),
              },
            })
          },
        })
      }
      case 'charge.refunded': {
        const charge = event.data.object
        const customerId = idOf(charge.customer)
        const account = customerId
          ? await this.deps.db.selectFrom('billing_accounts').selectAll().where('stripe_customer_id', '=', customerId).executeTakeFirst()
          : undefined
        if (!account?.stripe_subscription_id) return none('unknown_license')
        // Part of a payment given back (a goodwill credit) leaves the plan alone; the whole of it ends the plan.
        if (!charge.refunded) return this.claimOnly(claim, account.license_id, 'ignored_partial_refund')
        const subId = account.stripe_subscription_id
        const current = await this.call(() => this.stripe.subscriptions.retrieve(subId))
        // Ended in Stripe too, so neither Stripe nor the reconciliation brings the refunded plan back.
        if (!ENDED_STATUSES.includes(current.status))
          await this.call(() => this.stripe.subscriptions.cancel(subId, {}, { idempotencyKey: `intelagent-refund-${charge.id}` }))
        return this.sync(account.license_id, customerId, subId, {
          claim,
          reason: event.type,
          after: async (trx) => {
            await trx
              .updateTable('billing_accounts')
              .set({ refunded_at: new Date(this.deps.clock.now()) })
              .where('license_id', '=', account.license_id)
              .execute()
          },
        })
      }
      default:
        return { outcome: 'ignored', licenseId: null, changes: [] }
    }
  }

  /**
   * A pricing-page buyer: a new license exactly like a Squarespace order (issued once per Checkout session, even
   * for concurrent duplicate deliveries: the unique source + order id decides), on the tier the subscription pays for.
   */
  private async issueForBuyer(session: Stripe.Checkout.Session, subId: string | null): Promise<string | null> {
    const email = session.customer_details?.email ?? session.customer_email
    if (!email) return null
    let tier: Tier = 'starter'
    if (subId) {
      const sub = await this.call(() => this.stripe.subscriptions.retrieve(subId))
      tier = tierFor(this.config, sub, 'starter', null, this.deps.clock.now())
    }
    const { license, created } = await issueLicense(this.deps.db, { source: 'stripe', orderId: session.id, email, products: [...PRODUCTS], tier })
    if (created) this.deps.logger.info('license issued', { source: 'stripe', licenseId: license.id, checkoutSession: session.id })
    return license.id
  }

  private async licenseExists(id: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return false
    return (await findLicenseById(this.deps.db, id)) !== undefined
  }

  /** The license a Stripe object belongs to: its metadata when we put it there, else its customer's account. */
  private async licenseFor(metadataLicense: string | undefined | null, customerId: string | null): Promise<string | null> {
    if (metadataLicense && (await this.licenseExists(metadataLicense))) return metadataLicense
    if (!customerId) return null
    const row = await this.deps.db.selectFrom('billing_accounts').select('license_id').where('stripe_customer_id', '=', customerId).executeTakeFirst()
    return row?.license_id ?? null
  }

  private async claimOnly(claim: ClaimedEvent, licenseId: string | null, outcome: string): Promise<SyncResult> {
    const r = await this.deps.db
      .insertInto('stripe_events')
      .values({ id: claim.id, type: claim.type, license_id: licenseId, outcome, via: claim.via, stripe_created_at: new Date(claim.created * 1000) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    return { outcome: r ? outcome : 'duplicate', licenseId, changes: [] }
  }

  // ── The one place a subscription becomes a tier ──────────────────────────────────────────────────────────

  /**
   * Applies the subscription's current state to the license: claim the event (if any), lock the license row,
   * fetch the subscription from Stripe under that lock (so of two racing syncs the later one applies the later
   * state), write the account, the tier, the events and the audit entries in one transaction, then drop the
   * license's caches on every instance.
   */
  async sync(licenseId: string, customerId: string | null, subId: string | null, options: SyncOptions, attempt = 1): Promise<SyncResult> {
    const drop: { license: { id: string; key: string } | null } = { license: null }
    let result: SyncResult
    try {
      result = await this.deps.db.transaction().execute(async (trx) => {
        const claim = options.claim
        if (claim) {
          const r = await trx
            .insertInto('stripe_events')
            .values({
              id: claim.id,
              type: claim.type,
              license_id: licenseId,
              outcome: 'applied',
              via: claim.via,
              stripe_created_at: new Date(claim.created * 1000),
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .executeTakeFirst()
          if (!r) return { outcome: 'duplicate', licenseId, changes: [] }
        }
        const license = await trx.selectFrom('licenses').selectAll().where('id', '=', licenseId).forUpdate().executeTakeFirst()
        if (!license) return { outcome: 'unknown_license', licenseId, changes: [] }
        const sub = subId ? await this.call(() => this.stripe.subscriptions.retrieve(subId)) : null
        const applied = await this.apply(trx, license, customerId, sub, options.reason)
        if (applied.account && options.after) await options.after(trx, applied.account, license)
        if (claim && applied.outcome !== 'applied')
          await trx.updateTable('stripe_events').set({ outcome: applied.outcome }).where('id', '=', claim.id).execute()
        if (applied.changes.some((c) => c.field === 'tier')) drop.license = { id: license.id, key: license.key }
        return { outcome: applied.outcome, licenseId, changes: applied.changes }
      })
    } catch (err) {
      // Two first deliveries for a license without an account raced on its insert: the loser simply runs again.
      if (isUniqueViolation(err) && attempt < 3) return this.sync(licenseId, customerId, subId, options, attempt + 1)
      throw err
    }
    if (drop.license) await dropLicenseCaches(this.deps, this.keys, drop.license.id)
    return result
  }

  private async apply(
    trx: Kysely<Database>,
    license: { id: string; key: string; tier: string; status: string; claimed_at: Date | null },
    customerId: string | null,
    sub: Stripe.Subscription | null,
    reason: string,
  ): Promise<{ outcome: string; changes: Change[]; account: BillingAccount | null }> {
    let account = await this.account(trx, license.id)
    if (!account) {
      const customer = customerId ?? (sub ? idOf(sub.customer) : null)
      if (!customer) return { outcome: 'no_customer', changes: [], account: null }
      const owner = await trx.selectFrom('billing_accounts').select('license_id').where('stripe_customer_id', '=', customer).executeTakeFirst()
      if (owner) return { outcome: 'customer_of_another_license', changes: [], account: null }
      account = await trx
        .insertInto('billing_accounts')
        .values({ license_id: license.id, stripe_customer_id: customer })
        .returningAll()
        .executeTakeFirstOrThrow()
    }
    if (!sub) return { outcome: 'applied', changes: [], account }
    // A late event about a subscription that has since been replaced (ended, then a new one bought) changes nothing.
    const current = account.stripe_subscription_id
    if (current && current !== sub.id && account.status && !ENDED_STATUSES.includes(account.status) && ENDED_STATUSES.includes(sub.status))
      return { outcome: 'stale_subscription', changes: [], account }

    const now = this.deps.clock.now()
    const facts = subscriptionFacts(sub)
    const inGrace = GRACE_STATUSES.includes(sub.status)
    const graceEndsAt = inGrace ? (account.grace_ends_at ?? new Date(now + this.config.graceMs)) : null
    const before = license.tier as Tier
    const tier = tierFor(this.config, sub, before, graceEndsAt, now)
    if (!tierOfPrice(this.config, facts.priceId) && !ENDED_STATUSES.includes(sub.status))
      this.deps.logger.warn('stripe subscription on a price this server does not map to a tier', { licenseId: license.id, priceId: facts.priceId })
    const ended = ENDED_STATUSES.includes(sub.status)
    const paying = sub.status === 'active' || sub.status === 'trialing' || inGrace

    const next = {
      stripe_subscription_id: sub.id,
      status: sub.status,
      price_id: facts.priceId,
      plan: tierOfPrice(this.config, facts.priceId) ?? null,
      amount: facts.amount,
      currency: facts.currency,
      interval: facts.interval,
      interval_count: facts.intervalCount,
      current_period_end: facts.currentPeriodEnd,
      cancel_at_period_end: sub.cancel_at_period_end,
      grace_ends_at: graceEndsAt,
      trial_start: sub.trial_start ? new Date(sub.trial_start * 1000) : account.trial_start,
      first_paid_at: account.first_paid_at ?? (sub.status === 'active' ? new Date(now) : null),
      started_at: account.started_at ?? (paying ? new Date(sub.start_date * 1000) : null),
      canceled_at: ended ? (account.canceled_at ?? new Date((sub.ended_at ?? sub.canceled_at ?? Math.floor(now / 1000)) * 1000)) : null,
    }
    const changes: Change[] = []
    const compare = (field: string, a: unknown, b: unknown) => {
      if (a !== b) changes.push({ field, before: a, after: b })
    }
    compare('subscription', account.stripe_subscription_id, next.stripe_subscription_id)
    compare('status', account.status, next.status)
    compare('cancelAtPeriodEnd', account.cancel_at_period_end, next.cancel_at_period_end)
    compare('currentPeriodEnd', iso(account.current_period_end), iso(next.current_period_end))
    compare('graceEndsAt', iso(account.grace_ends_at), iso(next.grace_ends_at))
    compare('price', account.price_id, next.price_id)
    compare('tier', before, tier)

    const updated = await trx
      .updateTable('billing_accounts')
      .set({ ...next, synced_at: new Date(now), updated_at: new Date(now) })
      .where('license_id', '=', license.id)
      .returningAll()
      .executeTakeFirstOrThrow()

    // A new grace period gets its durable deadline: at its end the job drops the tier unless Stripe says paid.
    if (graceEndsAt && ms(account.grace_ends_at) !== graceEndsAt.getTime()) {
      await enqueue(
        trx,
        GRACE_JOB,
        { licenseId: license.id, graceEndsAt: graceEndsAt.getTime() },
        { runAt: graceEndsAt, dedupeKey: `${GRACE_JOB}:${license.id}:${graceEndsAt.getTime()}`, maxAttempts: 20 },
      )
    }

    if (tier !== before) {
      await trx
        .updateTable('licenses')
        .set({ tier, updated_at: new Date(now) })
        .where('id', '=', license.id)
        .execute()
      await emit(trx, {
        type: 'license.updated',
        licenseId: license.id,
        data: {
          licenseId: license.id,
          changes: ['tier'],
          status: license.status as 'active',
          claimed: license.claimed_at !== null,
          tier,
          previousTier: before,
        },
      })
      await audit(trx, {
        licenseId: license.id,
        actor: 'stripe',
        action: 'billing.tier_changed',
        target: license.key,
        meta: { from: before, to: tier, reason, subscription: sub.id, status: sub.status },
      })
    }
    if (changes.length > 0) {
      await emit(trx, {
        type: 'subscription.updated',
        licenseId: license.id,
        data: {
          licenseId: license.id,
          subscriptionId: sub.id,
          status: sub.status,
          tier,
          previousTier: before,
          cancelAtPeriodEnd: sub.cancel_at_period_end,
          currentPeriodEnd: iso(next.current_period_end),
          graceEndsAt: iso(graceEndsAt),
          reason,
        },
      })
      await audit(trx, {
        licenseId: license.id,
        actor: 'stripe',
        action: 'billing.subscription_updated',
        target: sub.id,
        meta: { reason, changes: changes.map((c) => c.field), status: sub.status, cancelAtPeriodEnd: sub.cancel_at_period_end },
      })
    }
    return { outcome: 'applied', changes, account: updated }
  }

  // ── Grace period and reconciliation (durable jobs) ────────────────────────────────────────────────────────

  graceJob(): JobHandler<{ licenseId: string; graceEndsAt: number }> {
    return {
      run: async ({ licenseId, graceEndsAt }) => {
        const account = await this.account(this.deps.db, licenseId)
        // Paid meanwhile (grace cleared) or a newer grace period with its own job: nothing to do here.
        if (!account?.stripe_subscription_id || ms(account.grace_ends_at) !== graceEndsAt) return
        if (this.deps.clock.now() < graceEndsAt) {
          // Woken before its time (clocks differ between hosts): look again at the deadline.
          await enqueue(this.deps.db, GRACE_JOB, { licenseId, graceEndsAt }, { runAt: new Date(graceEndsAt) })
          return
        }
        await this.sync(licenseId, account.stripe_customer_id, account.stripe_subscription_id, { reason: 'grace_ended' })
      },
    }
  }

  reconcileJob(): JobHandler<{ day: string }> {
    return {
      run: async () => {
        await this.reconcile()
        await this.scheduleReconcile(this.deps.db, 1)
      },
    }
  }

  /** Enqueues the nightly run (once per day across instances, by its dedupe key). */
  async scheduleReconcile(db: Kysely<Database>, daysAhead = 0): Promise<void> {
    const now = new Date(this.deps.clock.now())
    const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + daysAhead, RECONCILE_HOUR_UTC))
    if (at.getTime() <= now.getTime()) at.setUTCDate(at.getUTCDate() + 1)
    const day = at.toISOString().slice(0, 10)
    await enqueue(db, RECONCILE_JOB, { day }, { runAt: at, dedupeKey: `${RECONCILE_JOB}:${day}`, maxAttempts: 3 })
  }

  /**
   * Events Stripe could not deliver are fetched and handled (a pricing-page buyer's license is issued even if
   * every delivery failed), then every license with a subscription is compared with Stripe's current state and
   * any drift is repaired. What was repaired is kept for the operator.
   */
  async reconcile(): Promise<{ id: string; checked: number; missedEvents: number; repairs: unknown[] }> {
    const started = new Date(this.deps.clock.now())
    const run = await this.deps.db
      .insertInto('billing_reconciliations')
      .values({ started_at: started, repairs: '[]' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const repairs: Record<string, unknown>[] = []
    let missedEvents = 0
    let checked = 0
    let error: string | null = null
    try {
      const since = Math.floor(this.deps.clock.now() / 1000) - MISSED_EVENTS_WINDOW_S
      const missed: Stripe.Event[] = []
      for await (const event of this.stripe.events.list({ delivery_success: false, created: { gte: since }, limit: 100 })) missed.push(event)
      // Oldest first: a license issued by a missed Checkout exists before its subscription's events are looked at.
      missed.sort((a, b) => a.created - b.created)
      for (const event of missed) {
        const r = await this.handle(event, 'reconciliation')
        if (r.outcome === 'duplicate' || r.outcome === 'ignored') continue
        missedEvents++
        repairs.push({ kind: 'missed_event', eventId: event.id, type: event.type, licenseId: r.licenseId, outcome: r.outcome, changes: r.changes })
      }
      const accounts = await this.deps.db
        .selectFrom('billing_accounts')
        .select(['license_id', 'stripe_customer_id', 'stripe_subscription_id'])
        .where('stripe_subscription_id', 'is not', null)
        .execute()
      for (const a of accounts) {
        checked++
        const r = await this.sync(a.license_id, a.stripe_customer_id, a.stripe_subscription_id, { reason: 'reconciliation' })
        if (r.changes.length > 0) repairs.push({ kind: 'drift', licenseId: a.license_id, subscriptionId: a.stripe_subscription_id, changes: r.changes })
      }
    } catch (err) {
      error = String((err as Error)?.message ?? err).slice(0, 1000)
    }
    await this.deps.db
      .updateTable('billing_reconciliations')
      .set({ finished_at: new Date(this.deps.clock.now()), checked, missed_events: missedEvents, repairs: JSON.stringify(repairs), error })
      .where('id', '=', run.id)
      .execute()
    if (error) throw new Error(`billing reconciliation failed: ${error}`)
    if (repairs.length > 0) this.deps.logger.info('billing reconciliation repaired drift', { run: run.id, repairs: repairs.length })
    return { id: run.id, checked, missedEvents, repairs }
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────────────────────────

  private account(db: Kysely<Database>, licenseId: string): Promise<BillingAccount | undefined> {
    return db.selectFrom('billing_accounts').selectAll().where('license_id', '=', licenseId).executeTakeFirst()
  }

  /** A Stripe call: its failures (network, 5xx, a refused request) answer 502 upstream_failed, never a 500. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof AppError) throw err
      const e = err as { type?: string; message?: string; statusCode?: number }
      this.deps.logger.warn('stripe call failed', { type: e.type, status: e.statusCode, error: e.message })
      throw new AppError('upstream_failed', `Stripe refused or could not be reached: ${e.message ?? 'unknown error'}`)
    }
  }
}
