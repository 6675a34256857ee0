import { createHmac, randomBytes } from 'node:crypto'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, ManualClock, SQUARESPACE_API, SQUARESPACE_SECRET_HEX, type TestApp } from '../../test/harness.js'
import { ABANDONED_AFTER_MS } from './squarespace.js'

// The order object as the Squarespace Orders API returns it (GET /1.0/commerce/orders/{id}).
function squarespaceOrder(id: string, email: string, lineItems: { sku: string | null; productName: string; price?: string }[]) {
  const money = (value: string) => ({ value, currency: 'USD' })
  const address = {
    firstName: 'Ada',
    lastName: 'Lovelace',
    address1: '8 Clarkson St',
    address2: null,
    city: 'New York',
    state: 'NY',
    countryCode: 'US',
    postalCode: '10014',
    phone: '555-555-5555',
  }
  return {
    id,
    orderNumber: String(1000 + Math.floor(Math.random() * 9000)),
    createdOn: '2026-11-24T10:15:00.000Z',
    modifiedOn: '2026-11-24T10:15:03.120Z',
    channel: 'web',
    testmode: false,
    customerEmail: email,
    billingAddress: address,
    shippingAddress: address,
    fulfillmentStatus: 'PENDING',
    lineItems: lineItems.map((item, i) => ({
      id: `${id}-li${i}`,
      variantId: randomBytes(12).toString('hex'),
      sku: item.sku,
      weight: 0,
      width: 0,
      length: 0,
      height: 0,
      productId: randomBytes(12).toString('hex'),
      productName: item.productName,
      quantity: 1,
      unitPricePaid: money(item.price ?? '49.00'),
      variantOptions: [],
      customizations: null,
      imageUrl: 'https://images.squarespace-cdn.com/content/v1/product.png',
      lineItemType: 'DIGITAL',
    })),
    internalNotes: [],
    shippingTotal: money('0.00'),
    discountTotal: money('0.00'),
    taxTotal: money('0.00'),
    refundedTotal: money('0.00'),
    subtotal: money('49.00'),
    grandTotal: money('49.00'),
    channelName: 'Squarespace',
    externalOrderReference: null,
    fulfilledOn: null,
    priceTaxInterpretation: 'EXCLUSIVE',
    shippingLines: [],
    discountLines: [],
    formSubmission: null,
    fulfillments: [],
  }
}

// The notification Squarespace POSTs to a webhook subscription.
const notification = (orderId: string, topic = 'order.create') => ({
  id: `ntf_${randomBytes(8).toString('hex')}`,
  websiteId: '5f2d4a7b8c9e0f1a2b3c4d5e',
  subscriptionId: '3b8f6c1e-5a2d-4e7f-9c0b-1d2e3f4a5b6c',
  topic,
  createdOn: new Date().toISOString(),
  data: { orderId },
})

const sign = (raw: string, secretHex = SQUARESPACE_SECRET_HEX) => createHmac('sha256', Buffer.from(secretHex, 'hex')).update(raw).digest('hex')

const orders = new Map<string, ReturnType<typeof squarespaceOrder>>()
const failing = new Set<string>()
const calls: { orderId: string; authorization: string | null }[] = []
let gate: Promise<void> | undefined

const server = setupServer(
  http.get(`${SQUARESPACE_API}/1.0/commerce/orders/:id`, async ({ params, request }) => {
    const orderId = String(params.id)
    calls.push({ orderId, authorization: request.headers.get('authorization') })
    if (gate) await gate
    if (failing.has(orderId)) return HttpResponse.json({ type: 'INTERNAL_ERROR', message: 'Something went wrong' }, { status: 500 })
    const order = orders.get(orderId)
    if (!order) return HttpResponse.json({ type: 'NOT_FOUND', message: 'Order not found' }, { status: 404 })
    return HttpResponse.json(order)
  }),
)

describe('POST /api/webhooks/squarespace', () => {
  let app: TestApp

  const deliver = (body: unknown, signature: string | null = sign(JSON.stringify(body)), target = app) => {
    const raw = JSON.stringify(body)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (signature !== null) headers['squarespace-signature'] = signature
    return target.request('/api/webhooks/squarespace', { method: 'POST', headers, body: raw })
  }
  const newOrder = (lineItems: Parameters<typeof squarespaceOrder>[2], email = `buyer-${randomBytes(4).toString('hex')}@example.com`) => {
    const order = squarespaceOrder(randomBytes(12).toString('hex'), email, lineItems)
    orders.set(order.id, order)
    return order
  }
  const licensesFor = (orderId: string) => app.deps.db.selectFrom('licenses').selectAll().where('external_order_id', '=', orderId).execute()
  const eventsFor = (eventId: string) => app.deps.db.selectFrom('webhook_events').selectAll().where('event_id', '=', eventId).execute()

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'error' })
    // Retries a few milliseconds apart, so a notification whose order never loads is dead within the test.
    app = await createTestApp({ fetch: (input, init) => globalThis.fetch(input, init), env: { JOBS_RETRY_BASE_MS: '5', JOBS_RETRY_MAX_MS: '20' } })
  })
  afterEach(() => {
    calls.length = 0
    gate = undefined
  })
  afterAll(async () => {
    await app.shutdown()
    server.close()
  })

  it('acknowledges at once, then fetches the order with the API key and issues one license with the mapped products, tier and email', async () => {
    const order = newOrder([
      { sku: 'INTL-SUITE', productName: 'Intelagent Suite', price: '199.00' },
      { sku: 'TSHIRT-L', productName: 'Intelagent T-shirt' },
    ])
    const note = notification(order.id)
    // Hold the Orders API until the webhook has answered: the answer must not wait for it.
    let release = () => {}
    gate = new Promise<void>((r) => {
      release = r
    })
    const started = performance.now()
    const res = await deliver(note)
    expect(res.status).toBe(200)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await licensesFor(order.id)).toHaveLength(0)
    release()
    await app.jobs.idle()

    expect(calls).toEqual([{ orderId: order.id, authorization: 'Bearer sq-test-key' }])
    const licenses = await licensesFor(order.id)
    expect(licenses).toHaveLength(1)
    const license = licenses[0]!
    expect(license).toMatchObject({ source: 'squarespace', email: order.customerEmail, tier: 'professional', status: 'active', claimed_at: null })
    expect([...license.products].sort()).toEqual(['chatbot', 'data-enrichment', 'sales-agent', 'setup-agent'])
    expect(license.key).toMatch(/^INTL-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    const [event] = await eventsFor(note.id)
    expect(event?.status).toBe('processed')
    const audit = await app.deps.db.selectFrom('audit_log').selectAll().where('license_id', '=', license.id).execute()
    expect(audit.map((a) => a.action)).toContain('license.issued')
  })

  it('maps by product name when the SKU is unknown, case-insensitively', async () => {
    const order = newOrder([{ sku: null, productName: 'Intelagent CHATBOT' }])
    expect((await deliver(notification(order.id))).status).toBe(200)
    await app.jobs.idle()
    const [license] = await licensesFor(order.id)
    expect(license?.products).toEqual(['chatbot'])
    expect(license?.tier).toBe('starter')
  })

  it('refuses a wrong signature with 401 invalid_signature and does nothing', async () => {
    const order = newOrder([{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    const note = notification(order.id)
    const wrongSecret = sign(JSON.stringify(note), randomBytes(32).toString('hex'))
    for (const signature of [wrongSecret, sign(JSON.stringify({ ...note, id: 'other' })), 'not-hex', '']) {
      const res = await deliver(note, signature)
      expect(res.status).toBe(401)
      const body = (await res.json()) as { error: { code: string; requestId: string } }
      expect(body.error.code).toBe('invalid_signature')
      expect(body.error.requestId).toBeTruthy()
    }
    await app.jobs.idle()
    expect(calls).toHaveLength(0)
    expect(await eventsFor(note.id)).toHaveLength(0)
    expect(await licensesFor(order.id)).toHaveLength(0)
  })

  it('refuses an unsigned notification with 401', async () => {
    const order = newOrder([{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    const res = await deliver(notification(order.id), null)
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_signature')
    await app.jobs.idle()
    expect(calls).toHaveLength(0)
  })

  it('acknowledges and ignores topics other than order.create and order.update, whatever their data', async () => {
    for (const note of [
      { ...notification('x', 'extension.uninstall'), data: { websiteId: '5f2d4a7b8c9e0f1a2b3c4d5e' } },
      { ...notification('x', 'inventory.update'), data: undefined },
    ]) {
      const res = await deliver(note)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ received: true, ignored: note.topic })
      expect(await eventsFor(note.id)).toHaveLength(0)
    }
    await app.jobs.idle()
    expect(calls).toHaveLength(0)
  })

  it('issues no license when no line item maps to a product', async () => {
    const order = newOrder([
      { sku: 'MUG-01', productName: 'Coffee mug' },
      { sku: null, productName: 'Gift card' },
    ])
    const note = notification(order.id)
    expect((await deliver(note)).status).toBe(200)
    await app.jobs.idle()
    expect(calls).toHaveLength(1)
    expect(await licensesFor(order.id)).toHaveLength(0)
    const [event] = await eventsFor(note.id)
    expect(event?.status).toBe('ignored')
  })

  it('marks the event failed when the Orders API keeps failing, and a redelivery of the same notification then succeeds', async () => {
    const order = newOrder([{ sku: 'INTL-DATA', productName: 'Intelagent Data Enrichment' }])
    const note = notification(order.id)
    failing.add(order.id)
    expect((await deliver(note)).status).toBe(200)
    await app.jobs.idle()
    expect(calls.length).toBeGreaterThanOrEqual(2)
    expect(await licensesFor(order.id)).toHaveLength(0)
    const [failed] = await eventsFor(note.id)
    expect(failed?.status).toBe('failed')
    expect(failed?.error).toMatch(/500/)

    failing.delete(order.id)
    const again = await deliver(note)
    expect(again.status).toBe(200)
    await app.jobs.idle()
    const licenses = await licensesFor(order.id)
    expect(licenses).toHaveLength(1)
    expect(licenses[0]?.products).toEqual(['data-enrichment'])
    const events = await eventsFor(note.id)
    expect(events).toHaveLength(1)
    expect(events[0]?.status).toBe('processed')
  })

  it('treats a redelivery of a processed notification as a duplicate', async () => {
    const order = newOrder([{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
    const note = notification(order.id)
    expect((await deliver(note)).status).toBe(200)
    await app.jobs.idle()
    const res = await deliver(note)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ duplicate: true })
    await app.jobs.idle()
    expect(calls).toHaveLength(1)
    expect(await licensesFor(order.id)).toHaveLength(1)
  })

  it('reprocesses a notification whose processing was claimed over ten minutes ago and never finished', async () => {
    const clock = new ManualClock(Date.now())
    const other = await createTestApp({ clock, sharedDeps: app.deps, fetch: (input, init) => globalThis.fetch(input, init) })
    try {
      const order = newOrder([{ sku: 'INTL-AGNT', productName: 'Intelagent Setup Agent' }])
      const note = notification(order.id)
      const licenses = () => other.deps.db.selectFrom('licenses').select('id').where('external_order_id', '=', order.id).execute()
      // As if an instance had stored the notification and died before processing it.
      await other.deps.db
        .insertInto('webhook_events')
        .values({ source: 'squarespace', event_id: note.id, topic: note.topic, payload: JSON.stringify(note), error: null })
        .execute()
      const early = await deliver(note, undefined, other)
      expect(await early.json()).toMatchObject({ duplicate: true })
      await other.jobs.idle()
      expect(await licenses()).toHaveLength(0)

      // From the real now: setting up the second instance can take seconds on a busy machine.
      clock.advance(Date.now() - clock.now() + ABANDONED_AFTER_MS + 1000)
      const [late, racing] = await Promise.all([deliver(note, undefined, other), deliver(note, undefined, other)])
      expect([late.status, racing.status]).toEqual([200, 200])
      const bodies = [await late.json(), await racing.json()] as { duplicate?: boolean }[]
      // Of two simultaneous redeliveries exactly one takes the abandoned claim over.
      expect(bodies.filter((b) => b.duplicate)).toHaveLength(1)
      await other.jobs.idle()
      expect(await licenses()).toHaveLength(1)
      const event = await other.deps.db.selectFrom('webhook_events').select('status').where('event_id', '=', note.id).executeTakeFirstOrThrow()
      expect(event.status).toBe('processed')
    } finally {
      await other.shutdown()
    }
  })

  it('answers 503 not_configured when no webhook secret is set', async () => {
    const bare = await createTestApp({ env: { SQUARESPACE_WEBHOOK_SECRET: '' }, sharedDeps: app.deps })
    try {
      const order = newOrder([{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot' }])
      const res = await deliver(notification(order.id), undefined, bare)
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_configured')
    } finally {
      await bare.shutdown()
    }
  })

  it('yields exactly one license and one event row from 200 concurrent deliveries of the same notification', async () => {
    const order = newOrder([{ sku: 'INTL-SALE', productName: 'Intelagent Sales Agent' }])
    const note = notification(order.id)
    const responses = await Promise.all(Array.from({ length: 200 }, () => deliver(note)))
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200))
    await app.jobs.idle()
    expect(await licensesFor(order.id)).toHaveLength(1)
    expect(await eventsFor(note.id)).toHaveLength(1)
    expect(calls).toHaveLength(1)
  })
})
