// billing.get / checkout / portal through the SDK, against the real server app in process and the Stripe fake (msw).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { createStripeFake, eventObject, PRICES, stripeEnv } from '../../server/test/stripe-fake.js'
import { APIError, Intelagent, PermissionError, ValidationError } from '../src/index.js'

const fake = createStripeFake()
let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (options: { apiKey?: string; token?: string }) =>
  new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0, ...options })

beforeAll(async () => {
  fake.server.listen({ onUnhandledRequest: 'error' })
  app = await createTestApp({ env: stripeEnv() })
})
afterAll(async () => {
  await app?.shutdown()
  fake.server.close()
})

describe('SDK billing against the real server', () => {
  it('opens Checkout and the Portal, and reads the plan once Stripe says it is paid', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const sdk = client({ token: owner.token })
    expect(await client({}).billing.plans()).toEqual({ enabled: true, purchasable: ['professional', 'business', 'enterprise'] })
    // The plan table with its features, public: what the dashboard disables on a plan without them.
    const catalog = await client({}).billing.catalog()
    expect(catalog.plans.map((p) => p.tier)).toEqual(['starter', 'professional', 'business', 'enterprise'])
    expect(catalog.plans[0]?.features.aiEngines).toBe(false)
    expect(catalog.features.find((f) => f.id === 'identity')?.firstTier).toBe('professional')
    const before = await sdk.billing.get()
    expect(before).toMatchObject({ plan: 'starter', status: null, cancelAtPeriodEnd: false, invoices: [] })
    expect(before.purchasable).toEqual(['professional', 'business', 'enterprise'])

    const { url } = await sdk.billing.checkout({ tier: 'business' })
    expect(url).toMatch(/^https:\/\/checkout\.stripe\.test\//)
    expect((await sdk.billing.portal()).url).toMatch(/^https:\/\/billing\.stripe\.test\//)

    const customer = [...fake.customers.values()].find((c) => c.metadata.license_id === owner.licenseId)
    if (!customer) throw new Error('no Stripe customer was created')
    const sub = fake.subscribe({ customer: customer.id, priceId: PRICES.business, licenseId: owner.licenseId })
    const raw = JSON.stringify(eventObject('customer.subscription.created', sub))
    const res = await app.request('/api/webhooks/stripe', { method: 'POST', headers: { 'stripe-signature': fake.sign(raw) }, body: raw })
    expect(res.status).toBe(200)

    const after = await sdk.billing.get()
    expect(after).toMatchObject({ plan: 'business', status: 'active', subscriptionId: sub.id })
    expect(after.currentPeriodEnd).not.toBeNull()
  })

  it('raises typed errors: a tier not for sale, a key without billing scope, Stripe down', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const sdk = client({ token: owner.token })
    await expect(sdk.billing.checkout({ tier: 'starter' as 'business' })).rejects.toBeInstanceOf(ValidationError)
    const { key } = await configure(app, owner, 'data-enrichment')
    await expect(client({ apiKey: key }).billing.get()).rejects.toBeInstanceOf(PermissionError)
    fake.setFailing(true)
    try {
      await expect(sdk.billing.portal()).rejects.toMatchObject({ constructor: APIError, status: 502, code: 'upstream_failed' })
    } finally {
      fake.setFailing(false)
    }
  })
})
