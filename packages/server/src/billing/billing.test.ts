// Stripe billing end to end against a fake Stripe over real HTTP (msw): Checkout and Portal, every webhook path
// (duplicates, replays, out-of-order, cancellation, grace, refund, pricing-page buyers) and the reconciliation.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer, newLicense, uniqueEmail } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { chargeObject, checkoutSessionObject, createStripeFake, eventObject, type FakeEvent, invoiceObject, PRICES, stripeEnv } from '../../test/stripe-fake.js'
import { hashPassword } from '../account/password.js'
import { toDomainEvent } from '../platform/events.js'
import { PRICING_CHECKOUTS_PER_MINUTE } from './routes.js'
import { GRACE_JOB, RECONCILE_JOB } from './service.js'

const fake = createStripeFake()
const DAY = 24 * 3600_000

type ErrorBody = { error: { code: string; message: string } }
type Outcome = { received: true; outcome: string }

describe('Stripe billing', () => {
  let app: TestApp
  let clock: ManualClock
  let admin: string
  /** A fresh operator session (the grace test moves the clock past a session's lifetime). */
  const operator = async () => {
    const login = await app.request('/api/auth/login', { method: 'POST', json: { email: admin, password: 'operator password' } })
    return ((await login.json()) as { token: string }).token
  }

  const deliver = (event: FakeEvent, options: { signature?: string | null; at?: number } = {}) => {
    const raw = JSON.stringify(event)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    const signature = options.signature === undefined ? fake.sign(raw, options.at ?? clock.now()) : options.signature
    if (signature !== null) headers['stripe-signature'] = signature
    return app.request('/api/webhooks/stripe', { method: 'POST', headers, body: raw })
  }
  const outcome = async (event: FakeEvent) => {
    const res = await deliver(event)
    expect(res.status).toBe(200)
    return ((await res.json()) as Outcome).outcome
  }
  const license = (id: string) => app.deps.db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  const account = (id: string) => app.deps.db.selectFrom('billing_accounts').selectAll().where('license_id', '=', id).executeTakeFirstOrThrow()
  const eventsOf = async (licenseId: string, type: string) =>
    (await app.deps.db.selectFrom('events').selectAll().where('license_id', '=', licenseId).where('type', '=', type).orderBy('created_at').execute()).map(
      toDomainEvent,
    )

  /** A customer who opened Checkout (so the license has its Stripe customer) and a subscription Stripe now holds. */
  const subscribed = async (tier: keyof typeof PRICES = 'professional', status = 'active') => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const res = await app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier } })
    expect(res.status).toBe(200)
    const customer = (await account(owner.licenseId)).stripe_customer_id
    const sub = fake.subscribe({ customer, priceId: PRICES[tier], status, licenseId: owner.licenseId, now: clock.now() })
    return { owner, customer, sub }
  }

  beforeAll(async () => {
    fake.server.listen({ onUnhandledRequest: 'error' })
    clock = new ManualClock(Date.now())
    app = await createTestApp({ clock, env: stripeEnv({ JOBS_RETRY_BASE_MS: '5', JOBS_RETRY_MAX_MS: '20' }) })
    admin = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
  })
  afterEach(() => {
    fake.setFailing(false)
    fake.requests.length = 0
  })
  afterAll(async () => {
    await app.shutdown()
    fake.server.close()
  })

  describe('Checkout, Portal and the plan', () => {
    it('opens a subscription Checkout for the license, creating its Stripe customer once and reusing it', async () => {
      const owner = await newCustomer(app, { tier: 'starter' })
      const first = await app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier: 'business' } })
      expect(first.status).toBe(200)
      expect(((await first.json()) as { url: string }).url).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/)
      const second = await app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier: 'professional' } })
      expect(second.status).toBe(200)

      const created = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers')
      expect(created).toHaveLength(1)
      expect(created[0]?.body).toMatchObject({ email: owner.email, metadata: { license_id: owner.licenseId } })
      const checkouts = fake.requests.filter((r) => r.path === '/v1/checkout/sessions')
      expect(checkouts).toHaveLength(2)
      const customer = (await account(owner.licenseId)).stripe_customer_id
      expect(checkouts[0]?.body).toMatchObject({
        mode: 'subscription',
        customer,
        client_reference_id: owner.licenseId,
        line_items: { 0: { price: PRICES.business, quantity: '1' } },
        subscription_data: { metadata: { license_id: owner.licenseId } },
      })
      expect(checkouts[1]?.body).toMatchObject({ customer, line_items: { 0: { price: PRICES.professional } } })
    })

    it('says publicly that billing is on and which plans are for sale', async () => {
      const res = await app.request('/api/billing/plans')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ enabled: true, purchasable: ['professional', 'business', 'enterprise'] })
    })

    it('opens the Customer Portal for the license’s customer', async () => {
      const owner = await newCustomer(app, { tier: 'starter' })
      const res = await app.request('/api/billing/portal', { method: 'POST', token: owner.token })
      expect(res.status).toBe(200)
      expect(((await res.json()) as { url: string }).url).toMatch(/^https:\/\/billing\.stripe\.test\/p\/session\//)
      const portal = fake.requests.find((r) => r.path === '/v1/billing_portal/sessions')
      expect(portal?.body).toMatchObject({
        customer: (await account(owner.licenseId)).stripe_customer_id,
        return_url: 'http://intelagent.test/dashboard/billing',
      })
    })

    it('refuses a tier that is not for sale, a second subscription, no credentials and a key without billing scope', async () => {
      const owner = await newCustomer(app, { tier: 'starter' })
      const starter = await app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier: 'starter' } })
      expect(starter.status).toBe(422)
      expect(((await starter.json()) as ErrorBody).error.code).toBe('validation_failed')
      expect((await app.request('/api/billing')).status).toBe(401)
      const dataKey = (await configure(app, owner, 'data-enrichment')).key
      const scoped = await app.request('/api/billing', { token: dataKey })
      expect(scoped.status).toBe(403)
      expect(((await scoped.json()) as ErrorBody).error.code).toBe('insufficient_scope')

      const { owner: payer, sub } = await subscribed('professional')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))
      const again = await app.request('/api/billing/checkout', { method: 'POST', token: payer.token, json: { tier: 'business' } })
      expect(again.status).toBe(409)
    })

    it('answers 502 upstream_failed, not a 500, when Stripe fails', async () => {
      const owner = await newCustomer(app, { tier: 'starter' })
      fake.setFailing(true)
      const res = await app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier: 'business' } })
      expect(res.status).toBe(502)
      expect(((await res.json()) as ErrorBody).error.code).toBe('upstream_failed')
    })
  })

  describe('POST /api/webhooks/stripe', () => {
    it('checkout.session.completed moves the license to the price’s tier, with events, audit, and caches dropped at once', async () => {
      const { owner, customer, sub } = await subscribed('business')
      const dataKey = (await configure(app, owner, 'data-enrichment')).key
      expect((await app.keys.resolve(dataKey)).tier).toBe('starter')
      const me = async () => ((await (await app.request('/api/auth/me', { token: owner.token })).json()) as { user: { tier: string } }).user.tier
      expect(await me()).toBe('starter')

      const session = {
        id: 'cs_test_x',
        object: 'checkout.session',
        mode: 'subscription',
        client_reference_id: owner.licenseId,
        customer,
        subscription: sub.id,
        metadata: {},
      }
      expect(await outcome(eventObject('checkout.session.completed', session))).toBe('applied')

      expect((await license(owner.licenseId)).tier).toBe('business')
      // Every instance's caches were dropped: the key and the session now carry the new tier.
      expect((await app.keys.resolve(dataKey)).tier).toBe('business')
      expect(await me()).toBe('business')
      const [updated] = await eventsOf(owner.licenseId, 'subscription.updated')
      expect(updated?.data).toMatchObject({ subscriptionId: sub.id, status: 'active', tier: 'business', previousTier: 'starter', cancelAtPeriodEnd: false })
      const licenseUpdated = (await eventsOf(owner.licenseId, 'license.updated')).find((e) => (e.data as { changes: string[] }).changes.includes('tier'))
      expect(licenseUpdated?.data).toMatchObject({ changes: ['tier'], tier: 'business', previousTier: 'starter' })
      const audit = await app.deps.db
        .selectFrom('audit_log')
        .select(['action', 'meta'])
        .where('license_id', '=', owner.licenseId)
        .where('action', '=', 'billing.tier_changed')
        .execute()
      expect(audit).toHaveLength(1)
      expect(audit[0]?.meta).toMatchObject({ from: 'starter', to: 'business' })

      const billing = await app.request('/api/billing', { token: owner.token })
      expect(billing.status).toBe(200)
      expect(await billing.json()).toMatchObject({ plan: 'business', status: 'active', subscriptionId: sub.id, cancelAtPeriodEnd: false })
    })

    it('acts on the subscription as it is now: `updated` before `created` leaves the latest state', async () => {
      const { owner, sub } = await subscribed('professional', 'incomplete')
      const createdSnapshot = fake.snapshot(sub) // status incomplete, professional
      fake.update(sub.id, { status: 'active', priceId: PRICES.enterprise })
      const updatedSnapshot = fake.snapshot(sub)
      expect(await outcome(eventObject('customer.subscription.updated', updatedSnapshot))).toBe('applied')
      expect((await license(owner.licenseId)).tier).toBe('enterprise')
      // The older `created` arrives last carrying its stale copy (incomplete): the current state still wins.
      expect(await outcome(eventObject('customer.subscription.created', createdSnapshot))).toBe('applied')
      expect((await license(owner.licenseId)).tier).toBe('enterprise')
      expect((await account(owner.licenseId)).status).toBe('active')
    })

    it('acts once on concurrent duplicate deliveries, and a replay later changes nothing', async () => {
      const { owner, sub } = await subscribed('professional')
      const event = eventObject('customer.subscription.created', fake.snapshot(sub))
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => outcome(event)))
      expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1)
      expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(5)
      expect(await eventsOf(owner.licenseId, 'subscription.updated')).toHaveLength(1)
      expect((await license(owner.licenseId)).tier).toBe('professional')

      // Days later the subscription ended; a replay of the old event must not bring the plan back.
      fake.update(sub.id, { status: 'canceled' })
      expect(await outcome(eventObject('customer.subscription.deleted', fake.snapshot(sub)))).toBe('applied')
      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect(await outcome(event)).toBe('duplicate')
      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect(await app.deps.db.selectFrom('stripe_events').select('id').where('id', '=', event.id).execute()).toHaveLength(1)
    })

    it('refuses a bad, missing or stale signature with invalid_signature and changes nothing', async () => {
      const { owner, sub } = await subscribed('business')
      const event = eventObject('customer.subscription.created', fake.snapshot(sub))
      const tampered = await deliver(event, { signature: fake.sign(JSON.stringify({ ...event, id: 'evt_other' })) })
      const missing = await deliver(event, { signature: null })
      const stale = await deliver(event, { at: clock.now() - 10 * 60_000 })
      for (const res of [tampered, missing, stale]) {
        expect(res.status).toBe(401)
        expect(((await res.json()) as ErrorBody).error.code).toBe('invalid_signature')
      }
      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect(await app.deps.db.selectFrom('stripe_events').select('id').where('id', '=', event.id).execute()).toHaveLength(0)
    })

    it('acknowledges event types it does not act on with 200 ignored', async () => {
      expect(await outcome(eventObject('customer.created', { id: 'cus_x', object: 'customer' }))).toBe('ignored')
    })

    it('cancel at period end keeps the tier until Stripe ends it; the deletion then drops to starter at once', async () => {
      const { owner, sub } = await subscribed('business')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))
      fake.update(sub.id, { cancelAtPeriodEnd: true })
      expect(await outcome(eventObject('customer.subscription.updated', fake.snapshot(sub)))).toBe('applied')
      expect((await license(owner.licenseId)).tier).toBe('business')
      const billing = (await (await app.request('/api/billing', { token: owner.token })).json()) as { cancelAtPeriodEnd: boolean; currentPeriodEnd: string }
      expect(billing.cancelAtPeriodEnd).toBe(true)
      expect(new Date(billing.currentPeriodEnd).getTime()).toBe((sub.items.data[0]?.current_period_end ?? 0) * 1000)

      fake.update(sub.id, { status: 'canceled' })
      expect(await outcome(eventObject('customer.subscription.deleted', fake.snapshot(sub)))).toBe('applied')
      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect((await account(owner.licenseId)).canceled_at).not.toBeNull()
    })

    it('past_due keeps the tier through the grace period (dunning event), then a durable job drops it to starter', async () => {
      const { owner, sub } = await subscribed('professional')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))
      fake.update(sub.id, { status: 'past_due' })
      const failed = eventObject('invoice.payment_failed', invoiceObject(sub, 'open', { attempt: 1 }))
      expect(await outcome(failed)).toBe('applied')
      expect((await license(owner.licenseId)).tier).toBe('professional')
      const graceEndsAt = (await account(owner.licenseId)).grace_ends_at
      expect(graceEndsAt?.getTime()).toBe(clock.now() + 7 * DAY)
      const [dunning] = await eventsOf(owner.licenseId, 'billing.payment_failed')
      expect(dunning?.data).toMatchObject({ invoiceId: failed.data.object.id, attempt: 1, graceEndsAt: graceEndsAt?.toISOString() })

      const graceJob = () =>
        app.deps.db
          .selectFrom('jobs')
          .selectAll()
          .where('name', '=', GRACE_JOB)
          .where('payload', '@>', JSON.stringify({ licenseId: owner.licenseId }) as never)
          .orderBy('created_at', 'desc')
          .executeTakeFirstOrThrow()
      expect((await graceJob()).run_at.getTime()).toBe(graceEndsAt?.getTime())
      const runDueNow = async () => {
        const job = await graceJob()
        await app.deps.db
          .updateTable('jobs')
          .set({ run_at: new Date(Date.now() - 1000) })
          .where('id', '=', job.id)
          .execute()
        app.jobs.wake()
        await expect
          .poll(async () => (await app.deps.db.selectFrom('jobs').select('status').where('id', '=', job.id).executeTakeFirstOrThrow()).status, {
            timeout: 5000,
          })
          .toBe('done')
      }
      // The database says the job is due but this server's clock says the grace has not ended: nothing changes.
      clock.advance(3 * DAY)
      await runDueNow()
      expect((await license(owner.licenseId)).tier).toBe('professional')
      clock.advance(5 * DAY)
      await runDueNow()
      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect((await eventsOf(owner.licenseId, 'subscription.updated')).at(-1)?.data).toMatchObject({ reason: 'grace_ended', tier: 'starter' })
    })

    it('a payment within the grace period keeps the plan and ends the grace', async () => {
      const { owner, sub } = await subscribed('professional')
      fake.update(sub.id, { status: 'past_due' })
      await outcome(eventObject('customer.subscription.updated', fake.snapshot(sub)))
      expect((await account(owner.licenseId)).grace_ends_at).not.toBeNull()
      fake.update(sub.id, { status: 'active' })
      expect(await outcome(eventObject('invoice.paid', invoiceObject(sub, 'paid')))).toBe('applied')
      const a = await account(owner.licenseId)
      expect(a.grace_ends_at).toBeNull()
      expect(a.first_paid_at).not.toBeNull()
      expect((await license(owner.licenseId)).tier).toBe('professional')
    })

    it('a full refund ends the subscription in Stripe and drops the license to starter; a partial one changes nothing', async () => {
      const { owner, customer, sub } = await subscribed('enterprise')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))
      expect(await outcome(eventObject('charge.refunded', chargeObject(customer, 49900, 1000)))).toBe('ignored_partial_refund')
      expect((await license(owner.licenseId)).tier).toBe('enterprise')

      expect(await outcome(eventObject('charge.refunded', chargeObject(customer, 49900, 49900)))).toBe('applied')
      expect(fake.requests.some((r) => r.method === 'DELETE' && r.path === `/v1/subscriptions/${sub.id}`)).toBe(true)
      expect(fake.subscriptions.get(sub.id)?.status).toBe('canceled')
      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect((await account(owner.licenseId)).refunded_at).not.toBeNull()
    })

    it('limits public pricing-page Checkouts per address', async () => {
      const headers = { 'x-forwarded-for': '203.0.113.9' }
      const answers = []
      for (let i = 0; i < PRICING_CHECKOUTS_PER_MINUTE + 1; i++)
        answers.push((await app.request('/api/billing/pricing-checkout', { method: 'POST', headers, json: { tier: 'professional' } })).status)
      expect(answers.slice(0, PRICING_CHECKOUTS_PER_MINUTE).every((s) => s === 200)).toBe(true)
      expect(answers.at(-1)).toBe(429)
    })

    it('a pricing-page buyer without a license gets exactly one, even from concurrent duplicate deliveries', async () => {
      const pricing = await app.request('/api/billing/pricing-checkout', { method: 'POST', json: { tier: 'business' } })
      expect(pricing.status).toBe(200)
      expect(fake.requests.find((r) => r.path === '/v1/checkout/sessions')?.body).toMatchObject({
        mode: 'subscription',
        line_items: { 0: { price: PRICES.business } },
      })

      const email = uniqueEmail('buyer')
      const customer = `cus_buyer${Date.now()}`
      fake.customers.set(customer, { id: customer, email, metadata: {} })
      const sub = fake.subscribe({ customer, priceId: PRICES.business, now: clock.now() })
      const session = checkoutSessionObject({ customer, subscription: sub.id, email })
      // The subscription's own event may come first: nothing to link it to yet, and nothing is lost by that.
      expect(await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))).toBe('unknown_license')
      const event = eventObject('checkout.session.completed', session)
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => outcome(event)))
      expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1)

      const issued = await app.deps.db.selectFrom('licenses').selectAll().where('email', '=', email).execute()
      expect(issued).toHaveLength(1)
      expect(issued[0]).toMatchObject({ source: 'stripe', external_order_id: session.id, tier: 'business', status: 'active' })
      expect(await eventsOf(issued[0]?.id as string, 'license.created')).toHaveLength(1)
      expect((await account(issued[0]?.id as string)).stripe_subscription_id).toBe(sub.id)
    })
  })

  describe('reconciliation', () => {
    it('repairs drift and missed events, records what it repaired, and shows it to operators', async () => {
      const { owner, sub } = await subscribed('business')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))
      expect((await license(owner.licenseId)).tier).toBe('business')
      // The cancellation's event never arrived: Stripe lists it as undelivered.
      fake.update(sub.id, { status: 'canceled' })
      const lost = eventObject('customer.subscription.deleted', fake.snapshot(sub))
      fake.undelivered.push(lost)
      // And a second license drifted with no event at all.
      const drifted = await subscribed('professional')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(drifted.sub)))
      fake.update(drifted.sub.id, { priceId: PRICES.enterprise })

      const adminToken = await operator()
      const forbidden = await app.request('/api/admin/billing/reconciliations', { method: 'POST', token: owner.token })
      expect(forbidden.status).toBe(403)
      const run = await app.request('/api/admin/billing/reconciliations', { method: 'POST', token: adminToken })
      expect(run.status).toBe(202)
      const { jobId } = (await run.json()) as { jobId: string }
      app.jobs.wake()
      await expect
        .poll(async () => (await app.deps.db.selectFrom('jobs').select('status').where('id', '=', jobId).executeTakeFirstOrThrow()).status, { timeout: 10_000 })
        .toBe('done')

      expect((await license(owner.licenseId)).tier).toBe('starter')
      expect((await license(drifted.owner.licenseId)).tier).toBe('enterprise')
      const list = await app.request('/api/admin/billing/reconciliations', { token: adminToken })
      expect(list.status).toBe(200)
      const [latest] = ((await list.json()) as { reconciliations: { missedEvents: number; repairs: Record<string, unknown>[]; error: string | null }[] })
        .reconciliations
      expect(latest?.error).toBeNull()
      expect(latest?.missedEvents).toBe(1)
      expect(latest?.repairs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'missed_event', eventId: lost.id, licenseId: owner.licenseId }),
          expect.objectContaining({
            kind: 'drift',
            licenseId: drifted.owner.licenseId,
            changes: expect.arrayContaining([{ field: 'tier', before: 'professional', after: 'enterprise' }]),
          }),
        ]),
      )
      // The next nightly run is queued, once.
      const nightly = await app.deps.db.selectFrom('jobs').select(['run_at']).where('name', '=', RECONCILE_JOB).where('status', '=', 'queued').execute()
      expect(nightly.length).toBeGreaterThanOrEqual(1)
      expect(nightly.every((j) => j.run_at.getUTCHours() === 3)).toBe(true)
    })

    it('gives operators active licenses, MRR and ARR from subscription state, new and churned per month, trial-to-paid', async () => {
      const adminToken = await operator()
      const before = (await (await app.request('/api/admin/figures', { token: adminToken })).json()) as {
        revenue: { currency: string; mrr: number; arr: number }[]
        payingSubscriptions: number
      }
      const eurBefore = before.revenue.find((r) => r.currency === 'eur')?.mrr ?? 0
      const { sub } = await subscribed('business')
      await outcome(eventObject('customer.subscription.created', fake.snapshot(sub)))
      const res = await app.request('/api/admin/figures', { token: adminToken })
      expect(res.status).toBe(200)
      const figures = (await res.json()) as {
        activeLicenses: number
        payingSubscriptions: number
        revenue: { currency: string; mrr: number; arr: number }[]
        months: { month: string; new: number; churned: number }[]
        trialToPaid: { trials: number }
      }
      const eur = figures.revenue.find((r) => r.currency === 'eur')
      expect(eur?.mrr).toBe(eurBefore + 14900)
      expect(eur?.arr).toBe((eurBefore + 14900) * 12)
      expect(figures.payingSubscriptions).toBe(before.payingSubscriptions + 1)
      expect(figures.activeLicenses).toBeGreaterThan(0)
      expect(figures.months).toHaveLength(12)
      expect(figures.months.at(-1)?.new).toBeGreaterThan(0)
      const customer = await newCustomer(app)
      expect((await app.request('/api/admin/figures', { token: customer.token })).status).toBe(403)
    })
  })
})

describe('billing off (no STRIPE_SECRET_KEY)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => {
    await app.shutdown()
  })

  it('answers 503 not_configured on every billing route and queues no billing job', async () => {
    const owner = await newCustomer(app)
    const lic = await newLicense(app)
    expect(lic.id).toBeTruthy()
    const calls = [
      app.request('/api/billing', { token: owner.token }),
      app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier: 'business' } }),
      app.request('/api/billing/portal', { method: 'POST', token: owner.token }),
      app.request('/api/billing/pricing-checkout', { method: 'POST', json: { tier: 'business' } }),
      app.request('/api/webhooks/stripe', { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, body: '{}' }),
    ]
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(503)
      expect(((await res.json()) as ErrorBody).error.code).toBe('not_configured')
    }
    expect(await app.deps.db.selectFrom('jobs').select('id').where('name', 'like', 'billing.%').execute()).toHaveLength(0)
    const plans = await app.request('/api/billing/plans')
    expect(plans.status).toBe(200)
    expect(await plans.json()).toEqual({ enabled: false, purchasable: [] })
  })
})
