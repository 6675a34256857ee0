import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { n8nSigned, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, SQUARESPACE_API, type TestApp } from '../../test/harness.js'
import { signSquarespace, squarespaceNotification, squarespaceOrder, type TestOrder } from '../../test/squarespace.js'

const orders = new Map<string, TestOrder>()
const server = setupServer(
  http.get(`${SQUARESPACE_API}/1.0/commerce/orders/:id`, ({ params }) => {
    const order = orders.get(String(params.id))
    return order ? HttpResponse.json(order) : HttpResponse.json({ type: 'NOT_FOUND', message: 'Order not found' }, { status: 404 })
  }),
)

describe('the license lifecycle: same buyer, cancellations and refunds', () => {
  let app: TestApp

  const deliver = async (orderId: string, topic = 'order.create') => {
    const raw = JSON.stringify(squarespaceNotification(orderId, topic))
    const res = await app.request('/api/webhooks/squarespace', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'squarespace-signature': signSquarespace(raw) },
      body: raw,
    })
    expect(res.status).toBe(200)
    await app.jobs.idle()
    return res
  }
  const newOrder = (email: string, lineItems: Parameters<typeof squarespaceOrder>[2]) => {
    const order = squarespaceOrder(randomBytes(12).toString('hex'), email, lineItems)
    orders.set(order.id, order)
    return order
  }
  const n8nOrder = async (body: Record<string, unknown>) => {
    const { raw, signature } = n8nSigned(body)
    const res = await app.request('/api/webhooks/n8n/licenses', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-intelagent-signature': signature },
      body: raw,
    })
    await app.jobs.idle()
    return res
  }
  const licensesOf = (email: string) =>
    app.deps.db
      .selectFrom('licenses')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .execute()
  // Events of one transaction share its timestamp: ordered by type within it.
  const eventsOf = (licenseId: string) =>
    app.deps.db.selectFrom('events').select(['type', 'data']).where('license_id', '=', licenseId).orderBy('created_at').orderBy('type').execute()
  const mailOf = (licenseId: string) =>
    app.deps.db.selectFrom('mail_outbox').select(['template', 'to_email']).where('license_id', '=', licenseId).orderBy('created_at').execute()
  const sorted = (xs: readonly string[]) => [...xs].sort()

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'error' })
    app = await createTestApp({ fetch: (input, init) => globalThis.fetch(input, init), env: { JOBS_RETRY_BASE_MS: '5', JOBS_RETRY_MAX_MS: '20' } })
  })
  afterAll(async () => {
    await app.shutdown()
    server.close()
  })

  it('joins a second Squarespace purchase by the same buyer to their license: products, higher tier, event, audit, email', async () => {
    const email = uniqueEmail('again')
    const first = newOrder(email, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    await deliver(first.id)
    const [license] = await licensesOf(email)
    expect(license).toMatchObject({ products: ['chatbot'], tier: 'starter' })

    const second = newOrder(email.toUpperCase(), [{ sku: 'INTL-SUITE', productName: 'Intelagent Suite' }])
    await deliver(second.id)
    const after = await licensesOf(email)
    expect(after).toHaveLength(1)
    expect(after[0]?.id).toBe(license?.id)
    expect(sorted(after[0]?.products ?? [])).toEqual(['chatbot', 'data-enrichment', 'sales-agent', 'setup-agent'])
    expect(after[0]?.tier).toBe('professional')

    const events = await eventsOf(license!.id)
    expect(events.map((e) => e.type)).toEqual(['license.created', 'license.updated'])
    expect(events[1]?.data).toMatchObject({ changes: ['products', 'tier'], cause: 'purchase', source: 'squarespace', orderId: second.id, tier: 'professional' })
    const audit = await app.deps.db.selectFrom('audit_log').select(['action', 'meta']).where('license_id', '=', license!.id).orderBy('created_at').execute()
    expect(audit.map((a) => a.action)).toEqual(['license.issued', 'license.order_joined'])
    expect(await mailOf(license!.id)).toEqual([
      { template: 'license-issued', to_email: email },
      { template: 'license-updated', to_email: email },
    ])
  })

  it('keeps a purchase for a different email a new license', async () => {
    const a = uniqueEmail('a')
    const b = uniqueEmail('b')
    await deliver(newOrder(a, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }]).id)
    await deliver(newOrder(b, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }]).id)
    const [la] = await licensesOf(a)
    const [lb] = await licensesOf(b)
    expect(la?.id).toBeTruthy()
    expect(lb?.id).toBeTruthy()
    expect(la?.id).not.toBe(lb?.id)
  })

  it('joins across channels (n8n after Squarespace) and the registered owner sees the new products at once', async () => {
    const email = uniqueEmail('cross')
    await deliver(newOrder(email, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }]).id)
    const [license] = await licensesOf(email)
    const reg = await app.request('/api/auth/register', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { email, password: 'correct horse battery', license_key: license!.key },
    })
    expect(reg.status).toBe(201)
    const { token } = (await reg.json()) as { token: string }
    const me = async () => ((await (await app.request('/api/auth/me', { token })).json()) as { user: { products: string[]; tier: string } }).user
    expect(await me()).toMatchObject({ products: ['chatbot'], tier: 'starter' })

    const res = await n8nOrder({ orderId: `n8n-${randomBytes(6).toString('hex')}`, email, products: ['data-enrichment'], tier: 'business' })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { license: { key: string } }).license.key).toBe(license!.key)
    expect(await licensesOf(email)).toHaveLength(1)
    expect(sorted((await me()).products)).toEqual(['chatbot', 'data-enrichment'])
    expect((await me()).tier).toBe('business')
  })

  it('joins two n8n orders by the same buyer, even sent at once', async () => {
    const email = uniqueEmail('n8n')
    const results = await Promise.all(
      (['chatbot', 'sales-agent', 'setup-agent'] as const).map((p) => n8nOrder({ orderId: `n8n-${randomBytes(6).toString('hex')}`, email, products: [p] })),
    )
    expect(sorted(results.map((r) => String(r.status)))).toEqual(['200', '200', '201'])
    const licenses = await licensesOf(email)
    expect(licenses).toHaveLength(1)
    expect(sorted(licenses[0]?.products ?? [])).toEqual(['chatbot', 'sales-agent', 'setup-agent'])
  })

  it('takes back what a cancelled order granted, then suspends the license when a refund leaves nothing', async () => {
    const email = uniqueEmail('cancel')
    const base = newOrder(email, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    const suite = newOrder(email, [{ sku: 'INTL-SUITE', productName: 'Intelagent Suite', price: '199.00' }])
    await deliver(base.id)
    await deliver(suite.id)
    const [license] = await licensesOf(email)

    // A partial refund changes nothing.
    suite.refundedTotal = { value: '50.00', currency: 'USD' }
    await deliver(suite.id, 'order.update')
    expect((await licensesOf(email))[0]).toMatchObject({ tier: 'professional', status: 'active' })

    suite.fulfillmentStatus = 'CANCELED'
    await deliver(suite.id, 'order.update')
    let [now] = await licensesOf(email)
    expect(now).toMatchObject({ products: ['chatbot'], tier: 'starter', status: 'active' })
    // A second notification about the same cancellation changes nothing more.
    await deliver(suite.id, 'order.update')

    base.refundedTotal = { ...base.grandTotal }
    await deliver(base.id, 'order.update')
    ;[now] = await licensesOf(email)
    expect(now).toMatchObject({ products: [], status: 'suspended' })

    const events = (await eventsOf(license!.id)).map((e) => [e.type, (e.data as { cause?: string }).cause ?? null])
    expect(events).toEqual([
      ['license.created', null],
      ['license.updated', 'purchase'],
      ['license.updated', 'order_cancelled'],
      ['license.suspended', null],
      ['license.updated', 'order_refunded'],
    ])
    const orderRows = await app.deps.db.selectFrom('license_orders').select(['order_id', 'status']).where('license_id', '=', license!.id).execute()
    expect(Object.fromEntries(orderRows.map((o) => [o.order_id, o.status]))).toEqual({ [base.id]: 'refunded', [suite.id]: 'cancelled' })
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select('action')
      .where('license_id', '=', license!.id)
      .where('action', '=', 'license.order_cancelled')
      .execute()
    expect(audit).toHaveLength(2)

    // The same buyer buys again: the license comes back with the new order's products.
    await deliver(newOrder(email, [{ sku: 'INTL-DATA', productName: 'Intelagent Data Enrichment' }]).id)
    ;[now] = await licensesOf(email)
    expect(now).toMatchObject({ id: license!.id, products: ['data-enrichment'], status: 'active' })
  })

  it('keeps a product another active order still grants', async () => {
    const email = uniqueEmail('overlap')
    const one = newOrder(email, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    const two = newOrder(email, [
      { sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' },
      { sku: 'INTL-SALE', productName: 'Intelagent Sales Agent' },
    ])
    await deliver(one.id)
    await deliver(two.id)
    one.fulfillmentStatus = 'CANCELED'
    await deliver(one.id, 'order.update')
    expect(sorted((await licensesOf(email))[0]?.products ?? [])).toEqual(['chatbot', 'sales-agent'])
  })

  it('issues nothing for an order cancelled before its notification was processed, and ignores updates of unknown orders', async () => {
    const email = uniqueEmail('late')
    const order = newOrder(email, [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    order.fulfillmentStatus = 'CANCELED'
    await deliver(order.id)
    await deliver(order.id, 'order.update')
    expect(await licensesOf(email)).toHaveLength(0)
    const rows = await app.deps.db
      .selectFrom('webhook_events')
      .select(['topic', 'status'])
      .where('source', '=', 'squarespace')
      .where(sqlOrder(order.id))
      .execute()
    expect(rows.map((r) => r.status)).toEqual(['ignored', 'ignored'])
  })
})

// webhook_events keeps the notification; its data names the order.
const sqlOrder = (orderId: string) => sql<boolean>`payload->'data'->>'orderId' = ${orderId}`
