// The operator license console through the HTTP API: search (key, buyer or member email, order id, status, tier)
// with keyset pages, a license's detail, and tier/product changes that apply at once; customers are refused.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer, newLicense, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { hashPassword } from '../account/password.js'

interface Summary {
  id: string
  key: string
  email: string
  tier: string
  status: string
  products: string[]
  orderId: string | null
}
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('operator license console', () => {
  let app: TestApp
  let ops: string

  beforeAll(async () => {
    // Seats set through PLANS, as an operator would: the limits below are the plan's, not a constant in the code.
    app = await createTestApp({ env: { PLANS: JSON.stringify({ professional: { quotas: { seats: 3 } }, business: { quotas: { seats: 10 } } }) } })
    const email = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const login = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { email, password: 'operator password' },
    })
    ops = ((await login.json()) as { token: string }).token
  })
  afterAll(async () => app.shutdown())

  const search = async (query: Record<string, string>) => {
    const res = await app.request(`/api/admin/licenses/search?${new URLSearchParams(query)}`, { token: ops })
    expect(res.status).toBe(200)
    return (await res.json()) as { licenses: Summary[]; nextCursor: string | null }
  }

  it('finds a license by key (or its start), buyer email, a member’s email and order id', async () => {
    const owner = await newCustomer(app, { email: `Buyer-${randomBytes(4).toString('hex')}@Shop.example` })
    const license = await app.deps.db.selectFrom('licenses').selectAll().where('id', '=', owner.licenseId).executeTakeFirstOrThrow()
    const inv = await app.request('/api/team/invitations', { method: 'POST', token: owner.token, json: { email: uniqueEmail('teammate') } })
    const token = new URL(((await inv.json()) as { acceptUrl: string }).acceptUrl).searchParams.get('token')
    const memberEmail = uniqueEmail('teammate')
    await app.deps.db.updateTable('team_invitations').set({ email: memberEmail }).where('license_id', '=', owner.licenseId).execute()
    expect((await app.request('/api/team/invitations/accept', { method: 'POST', json: { token, password: 'member password 1' } })).status).toBe(201)

    for (const q of [
      license.key,
      license.key.slice(0, 9).toLowerCase(),
      owner.email.toUpperCase(),
      owner.email.split('@')[0] as string,
      memberEmail,
      license.external_order_id as string,
    ]) {
      const { licenses } = await search({ q })
      expect(licenses.map((l) => l.id)).toContain(owner.licenseId)
    }
    const none = await search({ q: 'nobody-at-all@nowhere.example' })
    expect(none.licenses).toEqual([])
    // LIKE wildcards are plain characters in a query.
    expect((await search({ q: '%' })).licenses).toEqual([])
  })

  it('filters by status and tier and pages with a cursor, newest first, without repeats', async () => {
    const tag = `page-${randomBytes(4).toString('hex')}`
    const made = []
    for (let i = 0; i < 5; i++) made.push(await newLicense(app, { email: `${tag}-${i}@example.com`, tier: i % 2 ? 'business' : 'starter' }))
    await app.deps.db
      .updateTable('licenses')
      .set({ status: 'suspended' })
      .where('id', '=', made[4]?.id as string)
      .execute()
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { licenses: Summary[]; nextCursor: string | null } = await search({ q: tag, limit: '2', ...(cursor ? { cursor } : {}) })
      expect(page.licenses.length).toBeLessThanOrEqual(2)
      seen.push(...page.licenses.map((l) => l.id))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual(made.map((l) => l.id).reverse())
    expect((await search({ q: tag, tier: 'business' })).licenses.map((l) => l.email).sort()).toEqual([`${tag}-1@example.com`, `${tag}-3@example.com`])
    expect((await search({ q: tag, status: 'suspended' })).licenses.map((l) => l.id)).toEqual([made[4]?.id])
    const bad = await app.request('/api/admin/licenses/search?cursor=bm90LWEtY3Vyc29y', { token: ops })
    expect([bad.status, await codeOf(bad)]).toEqual([422, 'validation_failed'])
    const badTier = await app.request('/api/admin/licenses/search?tier=gold', { token: ops })
    expect(badTier.status).toBe(422)
  })

  it('shows a license’s products, key counts, members, seats and recent audit', async () => {
    const owner = await newCustomer(app, { tier: 'business', products: ['chatbot', 'setup-agent'] })
    await configure(app, owner, 'chatbot')
    await configure(app, owner, 'setup-agent')
    await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'ci', scopes: ['keys:read'] } })
    await app.request('/api/team/invitations', { method: 'POST', token: owner.token, json: { email: uniqueEmail('pending') } })
    const res = await app.request(`/api/admin/licenses/${owner.licenseId}`, { token: ops })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      license: { id: owner.licenseId, email: owner.email, tier: 'business', products: ['chatbot', 'setup-agent'], claimed: true },
      keys: { byProduct: { chatbot: 1, 'setup-agent': 1 }, apiKeys: 1 },
      seats: { used: 2, limit: 10 },
      members: [{ email: owner.email, role: 'owner' }],
    })
    expect((body.invitations as unknown[]).length).toBe(1)
    expect((body.audit as { action: string }[]).map((a) => a.action)).toEqual(
      expect.arrayContaining(['team.invitation_created', 'key.created', 'account.registered', 'license.issued']),
    )
    const missing = await app.request(`/api/admin/licenses/${crypto.randomUUID()}`, { token: ops })
    expect([missing.status, await codeOf(missing)]).toEqual([404, 'not_found'])
  })

  it('shows the license’s usage this period, its subscription with the Stripe ids, and the emails sent about it', async () => {
    const owner = await newCustomer(app, { tier: 'business', products: ['chatbot', 'sales-agent'] })
    await app.jobs.idle()
    const empty = (await (await app.request(`/api/admin/licenses/${owner.licenseId}`, { token: ops })).json()) as Record<string, unknown>
    expect(empty.subscription).toBeNull()
    // The license email went out when the license was issued (kept in the outbox: no SMTP here).
    expect(empty.emails).toMatchObject({ total: 1, recent: [{ to: owner.email, template: 'license-issued', status: 'kept' }] })

    // Usage counted through the API, a subscription as the Stripe webhook stores it.
    const made = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'ops', scopes: ['keys:read'] } })
    const apiKey = ((await made.json()) as { key: string }).key
    for (let i = 0; i < 3; i++) expect((await app.request('/api/products/keys', { token: apiKey })).status).toBe(200)
    const periodEnd = new Date(app.deps.clock.now() + 20 * 86_400_000)
    await app.deps.db
      .insertInto('billing_accounts')
      .values({
        license_id: owner.licenseId,
        stripe_customer_id: 'cus_ops_1',
        stripe_subscription_id: 'sub_ops_1',
        status: 'past_due',
        price_id: 'price_business',
        plan: 'business',
        amount: 14900,
        currency: 'eur',
        interval: 'month',
        interval_count: 1,
        current_period_end: periodEnd,
        cancel_at_period_end: true,
        grace_ends_at: new Date(app.deps.clock.now() + 7 * 86_400_000),
        started_at: new Date(app.deps.clock.now() - 40 * 86_400_000),
      })
      .execute()
    const body = (await (await app.request(`/api/admin/licenses/${owner.licenseId}`, { token: ops })).json()) as {
      usage: { periodStart: string; periodEnd: string; quotas: { quota: string; used: number; limit: number }[] }
      subscription: Record<string, unknown>
    }
    const quota = (q: string) => body.usage.quotas.find((x) => x.quota === q)
    expect(body.usage.quotas.map((q) => q.quota)).toEqual([
      'conversations',
      'messages',
      'aiReplies',
      'apiCalls',
      'enrichments',
      'knowledgePages',
      'products',
      'seats',
    ])
    expect(quota('apiCalls')?.used).toBe(3)
    expect(quota('products')).toMatchObject({ used: 2, limit: app.config.plans.business.quotas.products })
    expect(quota('seats')).toMatchObject({ used: 1, limit: 10 })
    expect(new Date(body.usage.periodEnd).getTime()).toBeGreaterThan(new Date(body.usage.periodStart).getTime())
    expect(body.subscription).toMatchObject({
      status: 'past_due',
      plan: 'business',
      amount: 14900,
      currency: 'eur',
      interval: 'month',
      currentPeriodEnd: periodEnd.toISOString(),
      cancelAtPeriodEnd: true,
      stripeCustomerId: 'cus_ops_1',
      stripeSubscriptionId: 'sub_ops_1',
      canceledAt: null,
    })
    expect(body.subscription.graceEndsAt).toEqual(expect.any(String))
  })

  it('changes tier and products with an event and an audit entry; the customer sees it on the next request', async () => {
    const owner = await newCustomer(app, { tier: 'starter', products: ['chatbot'] })
    // Warm the session cache with the old plan.
    expect(((await (await app.request('/api/auth/me', { token: owner.token })).json()) as { user: { tier: string } }).user.tier).toBe('starter')
    const res = await app.request(`/api/admin/licenses/${owner.licenseId}`, {
      method: 'PATCH',
      token: ops,
      json: { tier: 'business', products: ['chatbot', 'sales-agent'] },
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { license: Summary }).license).toMatchObject({ tier: 'business', products: ['chatbot', 'sales-agent'] })
    const me = (await (await app.request('/api/auth/me', { token: owner.token })).json()) as { user: { tier: string; products: string[] } }
    expect(me.user).toMatchObject({ tier: 'business', products: ['chatbot', 'sales-agent'] })
    const event = await app.deps.db
      .selectFrom('events')
      .select('data')
      .where('type', '=', 'license.updated')
      .where('license_id', '=', owner.licenseId)
      .execute()
    expect(event.map((e) => e.data)).toContainEqual(
      expect.objectContaining({ changes: ['tier', 'products'], tier: 'business', products: ['chatbot', 'sales-agent'] }),
    )
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select(['meta', 'actor_kind'])
      .where('license_id', '=', owner.licenseId)
      .where('action', '=', 'license.updated')
      .execute()
    expect(audit).toEqual([
      { actor_kind: 'session', meta: expect.objectContaining({ changes: ['tier', 'products'], from: { tier: 'starter', products: ['chatbot'] } }) },
    ])
    // The same change again changes nothing and records nothing.
    await app.request(`/api/admin/licenses/${owner.licenseId}`, { method: 'PATCH', token: ops, json: { tier: 'business' } })
    expect(
      await app.deps.db.selectFrom('audit_log').select('id').where('license_id', '=', owner.licenseId).where('action', '=', 'license.updated').execute(),
    ).toHaveLength(1)

    for (const json of [{}, { tier: 'gold' }, { products: [] }, { products: ['toaster'] }, { tier: 'business', extra: 1 }]) {
      const bad = await app.request(`/api/admin/licenses/${owner.licenseId}`, { method: 'PATCH', token: ops, json })
      expect([bad.status, await codeOf(bad)]).toEqual([422, 'validation_failed'])
    }
  })

  it('suspends and reactivates through the status route, which the detail then shows', async () => {
    const owner = await newCustomer(app)
    const suspend = await app.request(`/api/admin/licenses/${owner.licenseId}/status`, { method: 'POST', token: ops, json: { status: 'suspended' } })
    expect(suspend.status).toBe(200)
    expect(((await (await app.request(`/api/admin/licenses/${owner.licenseId}`, { token: ops })).json()) as { license: Summary }).license.status).toBe(
      'suspended',
    )
    expect((await app.request('/api/auth/me', { token: owner.token })).status).toBe(403)
    await app.request(`/api/admin/licenses/${owner.licenseId}/status`, { method: 'POST', token: ops, json: { status: 'active' } })
    expect((await app.request('/api/auth/me', { token: owner.token })).status).toBe(200)
  })

  it('is for operators only', async () => {
    const owner = await newCustomer(app)
    for (const [method, path] of [
      ['GET', '/api/admin/licenses/search'],
      ['GET', `/api/admin/licenses/${owner.licenseId}`],
      ['PATCH', `/api/admin/licenses/${owner.licenseId}`],
    ] as const) {
      const json = method === 'PATCH' ? { json: { tier: 'enterprise' } } : {}
      const asCustomer = await app.request(path, { method, token: owner.token, ...json })
      expect([asCustomer.status, await codeOf(asCustomer)]).toEqual([403, 'forbidden'])
      expect((await app.request(path, { method, ...json })).status).toBe(401)
    }
    const row = await app.deps.db.selectFrom('licenses').select('tier').where('id', '=', owner.licenseId).executeTakeFirstOrThrow()
    expect(row.tier).toBe('professional')
  })
})
