// Platform figures from subscription state, on a server of their own (so every figure is exact): subscriptions
// in each state reach it through signed Stripe webhooks against the fake Stripe, as in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newCustomer, uniqueEmail } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { createStripeFake, eventObject, type FakeEvent, PRICES, stripeEnv } from '../../test/stripe-fake.js'
import { hashPassword } from '../account/password.js'
import { isPaying, monthlyAmount } from './figures.js'

const fake = createStripeFake()
const DAY = 24 * 3600_000

interface Figures {
  activeLicenses: number
  activeByTier: Record<string, number>
  payingSubscriptions: number
  revenue: { currency: string; mrr: number; arr: number }[]
  months: { month: string; new: number; churned: number; mrr: Record<string, number> }[]
  trialToPaid: { trials: number; ongoing: number; converted: number; rate: number | null }
}

describe('platform figures', () => {
  let app: TestApp
  const clock = new ManualClock(Date.now())
  /** The 15th of the month `n` months before the clock's, and that month's key (2026-11). */
  const back = (n: number) => {
    const d = new Date(clock.now())
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 15))
  }
  const monthAgo = (n: number) => back(n).toISOString().slice(0, 7)
  const adminEmail = uniqueEmail('ops')

  const figures = async (): Promise<Figures> => {
    const login = await app.request('/api/auth/login', { method: 'POST', json: { email: adminEmail, password: 'operator password' } })
    const { token } = (await login.json()) as { token: string }
    const res = await app.request('/api/admin/figures', { token })
    expect(res.status).toBe(200)
    return (await res.json()) as Figures
  }
  const deliver = async (event: FakeEvent) => {
    const raw = JSON.stringify(event)
    const res = await app.request('/api/webhooks/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(raw, clock.now()) },
      body: raw,
    })
    expect(res.status).toBe(200)
  }
  /** A license with a Stripe customer (it opened Checkout) and a subscription Stripe now holds, delivered as `created`. */
  const subscription = async (tier: keyof typeof PRICES, options: { status?: string; trial?: boolean } = {}) => {
    const owner = await newCustomer(app, { tier: 'starter' })
    expect((await app.request('/api/billing/checkout', { method: 'POST', token: owner.token, json: { tier } })).status).toBe(200)
    const account = await app.deps.db
      .selectFrom('billing_accounts')
      .select('stripe_customer_id')
      .where('license_id', '=', owner.licenseId)
      .executeTakeFirstOrThrow()
    const sub = fake.subscribe({
      customer: account.stripe_customer_id,
      priceId: PRICES[tier],
      status: options.status ?? 'active',
      licenseId: owner.licenseId,
      now: clock.now(),
      trialStart: options.trial ? Math.floor(clock.now() / 1000) : null,
    })
    await deliver(eventObject('customer.subscription.created', fake.snapshot(sub), clock.now()))
    return { owner, sub }
  }
  const change = async (subId: string, patch: Parameters<typeof fake.update>[1], type = 'customer.subscription.updated') =>
    deliver(eventObject(type, fake.snapshot(fake.update(subId, patch)), clock.now()))

  beforeAll(async () => {
    fake.server.listen({ onUnhandledRequest: 'error' })
    app = await createTestApp({ clock, env: stripeEnv() })
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: adminEmail, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
  })
  afterAll(async () => {
    await app.shutdown()
    fake.server.close()
  })

  it('MRR counts active subscriptions and past_due ones in their grace; not trials, not past the grace, not canceled', async () => {
    const empty = await figures()
    expect(empty).toMatchObject({ payingSubscriptions: 0, revenue: [], trialToPaid: { trials: 0, converted: 0, rate: null } })

    await subscription('professional') // active: 49.00
    await subscription('business') // active: 149.00
    const trial = await subscription('enterprise', { status: 'trialing', trial: true }) // nothing paid yet
    const dunned = await subscription('business') // paid, then a renewal fails: past_due in grace
    await change(dunned.sub.id, { status: 'past_due' })
    const gone = await subscription('professional') // paid, then canceled
    await change(gone.sub.id, { status: 'canceled' }, 'customer.subscription.deleted')

    const f = await figures()
    expect(f.revenue).toEqual([{ currency: 'eur', mrr: 4900 + 14900 + 14900, arr: (4900 + 14900 + 14900) * 12 }])
    expect(f.payingSubscriptions).toBe(3)
    // Five licenses were issued and none suspended; the canceled one is back on starter, the trial is on enterprise.
    expect(f.activeLicenses).toBe(5)
    expect(f.activeByTier).toEqual({ professional: 1, business: 2, enterprise: 1, starter: 1 })
    const month = f.months.at(-1)
    expect(month).toMatchObject({ month: monthAgo(0), new: 5, churned: 1, mrr: { eur: 34700 } })
    expect(f.months).toHaveLength(12)
    expect(f.months[0]?.month).toBe(monthAgo(11))
    expect(f.trialToPaid).toEqual({ trials: 1, ongoing: 1, converted: 0, rate: null })

    // The trial converts: it pays from now on, and trial-to-paid says so.
    await change(trial.sub.id, { status: 'active' })
    const converted = await figures()
    expect(converted.revenue[0]?.mrr).toBe(34700 + 49900)
    expect(converted.trialToPaid).toEqual({ trials: 1, ongoing: 0, converted: 1, rate: 1 })

    // Eight days on the grace is over: the dunned subscription is no longer revenue though Stripe still says past_due.
    clock.advance(8 * DAY)
    const after = await figures()
    expect(after.revenue[0]?.mrr).toBe(4900 + 14900 + 49900)
    expect(after.payingSubscriptions).toBe(3)
  })

  it('keeps a 12-month MRR history from when each subscription was first paid and when it ended', async () => {
    const { owner } = await subscription('professional')
    // As if first paid four months ago; and another subscription that ran from six to two months ago.
    await app.deps.db
      .updateTable('billing_accounts')
      .set({ first_paid_at: back(4), started_at: back(4) })
      .where('license_id', '=', owner.licenseId)
      .execute()
    const ended = await subscription('business')
    await change(ended.sub.id, { status: 'canceled' }, 'customer.subscription.deleted')
    await app.deps.db
      .updateTable('billing_accounts')
      .set({ first_paid_at: back(6), started_at: back(6), canceled_at: back(2) })
      .where('license_id', '=', ended.owner.licenseId)
      .execute()
    const f = await figures()
    const at = (month: string) => f.months.find((m) => m.month === month)
    // Only these two have histories before last month (the first test's were paid within the last 8 days).
    expect(at(monthAgo(7))?.mrr).toEqual({})
    expect(at(monthAgo(6))?.mrr).toEqual({ eur: 14900 })
    expect(at(monthAgo(5))?.mrr).toEqual({ eur: 14900 })
    expect(at(monthAgo(4))?.mrr).toEqual({ eur: 14900 + 4900 })
    expect(at(monthAgo(3))?.mrr).toEqual({ eur: 14900 + 4900 })
    expect(at(monthAgo(2))?.mrr).toEqual({ eur: 4900 })
    expect(at(monthAgo(6))?.new).toBe(1)
    expect(at(monthAgo(2))?.churned).toBe(1)
    // The current month is the live figure.
    expect(f.months.at(-1)?.mrr).toEqual({ eur: f.revenue[0]?.mrr })
  })

  it('prices per year or per several months count their monthly share', () => {
    expect(monthlyAmount({ amount: '120000', interval: 'year', interval_count: 1 })).toBe(10000)
    expect(monthlyAmount({ amount: '9000', interval: 'month', interval_count: 3 })).toBe(3000)
    expect(monthlyAmount({ amount: null, interval: 'month', interval_count: 1 })).toBeNull()
    const now = Date.UTC(2026, 10, 5)
    expect(isPaying({ status: 'past_due', grace_ends_at: new Date(now + 1) }, now)).toBe(true)
    expect(isPaying({ status: 'past_due', grace_ends_at: new Date(now) }, now)).toBe(false)
    expect(isPaying({ status: 'past_due', grace_ends_at: null }, now)).toBe(false)
    expect(isPaying({ status: 'trialing', grace_ends_at: null }, now)).toBe(false)
  })
})
