// A stand-in for Stripe's API over real HTTP (msw intercepts stripe-node's requests to STRIPE_API_URL), holding
// customers, subscriptions, Checkout sessions, invoices and undelivered events, and answering with Stripe's object
// shapes (API version 2026-10-28: the billing period lives on subscription items, an invoice names its subscription
// under parent.subscription_details). Webhook deliveries are signed with stripe-node's generateTestHeaderString.
import { randomBytes } from 'node:crypto'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import Stripe from 'stripe'

export const STRIPE_API = 'https://api.stripe.test'
export const STRIPE_WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`
export const PRICES = { professional: 'price_1ProMonthly000000000000', business: 'price_1BizMonthly000000000000', enterprise: 'price_1EntMonthly000000000000' }
export const PRICE_AMOUNTS: Record<string, number> = { [PRICES.professional]: 4900, [PRICES.business]: 14900, [PRICES.enterprise]: 49900 }

export const stripeEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  STRIPE_SECRET_KEY: 'sk_test_51Fake000000000000000000000000',
  STRIPE_WEBHOOK_SECRET,
  STRIPE_PRICE_PROFESSIONAL: PRICES.professional,
  STRIPE_PRICE_BUSINESS: PRICES.business,
  STRIPE_PRICE_ENTERPRISE: PRICES.enterprise,
  STRIPE_API_URL: STRIPE_API,
  STRIPE_MAX_NETWORK_RETRIES: '0',
  ...extra,
})

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`
const unix = (ms: number) => Math.floor(ms / 1000)

/** A form-encoded Stripe request body as nested keys: `metadata[license_id]` → { metadata: { license_id } }. */
function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of new URLSearchParams(body)) {
    const path = k.split(/\[|\]\[|\]/).filter(Boolean)
    let node = out as Record<string, unknown>
    path.forEach((p, i) => {
      if (i === path.length - 1) node[p] = v
      else {
        node[p] ??= {}
        node = node[p] as Record<string, unknown>
      }
    })
  }
  return out
}

export function price(priceId: string) {
  return {
    id: priceId,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: 1764000000,
    currency: 'eur',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: 'prod_Intelagent0001',
    recurring: { interval: 'month', interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' },
    tax_behavior: 'exclusive',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: PRICE_AMOUNTS[priceId] ?? 1000,
    unit_amount_decimal: String(PRICE_AMOUNTS[priceId] ?? 1000),
  }
}

export interface SubscriptionInput {
  customer: string
  priceId: string
  status?: string
  licenseId?: string
  cancelAtPeriodEnd?: boolean
  trialStart?: number | null
  periodEnd?: number
}

export function subscriptionObject(input: SubscriptionInput & { id?: string; now?: number }) {
  const now = unix(input.now ?? Date.now())
  const subId = input.id ?? id('sub')
  const periodEnd = input.periodEnd ?? now + 30 * 86400
  return {
    id: subId,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: now,
    billing_cycle_anchor_config: null,
    billing_mode: { type: 'flexible' },
    cancel_at: input.cancelAtPeriodEnd ? periodEnd : null,
    cancel_at_period_end: input.cancelAtPeriodEnd ?? false,
    canceled_at: null as number | null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically',
    created: now,
    currency: 'eur',
    customer: input.customer,
    days_until_due: null,
    default_payment_method: 'pm_1Card000000000000000000',
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null as number | null,
    invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
    items: {
      object: 'list',
      data: [
        {
          id: id('si'),
          object: 'subscription_item',
          created: now,
          current_period_end: periodEnd,
          current_period_start: periodEnd - 30 * 86400,
          discounts: [],
          metadata: {},
          price: price(input.priceId),
          quantity: 1,
          subscription: subId,
          tax_rates: [],
        },
      ],
      has_more: false,
      total_count: 1,
      url: `/v1/subscription_items?subscription=${subId}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata: input.licenseId ? { license_id: input.licenseId } : {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: now,
    status: input.status ?? 'active',
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: input.trialStart ?? null,
  }
}
export type FakeSubscription = ReturnType<typeof subscriptionObject>

export function invoiceObject(sub: FakeSubscription, status: 'paid' | 'open', extra: { attempt?: number; licenseId?: string } = {}) {
  const amount = sub.items.data[0]?.price.unit_amount ?? 0
  const invId = id('in')
  return {
    id: invId,
    object: 'invoice',
    account_country: 'DE',
    account_name: 'Intelagent',
    amount_due: amount,
    amount_paid: status === 'paid' ? amount : 0,
    amount_remaining: status === 'paid' ? 0 : amount,
    attempt_count: extra.attempt ?? 1,
    attempted: true,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created: sub.created,
    currency: 'eur',
    customer: sub.customer,
    customer_email: 'owner@example.com',
    hosted_invoice_url: `https://invoice.stripe.test/i/${invId}`,
    invoice_pdf: `https://pay.stripe.test/invoice/${invId}/pdf`,
    livemode: false,
    metadata: {},
    number: `INTL-${randomBytes(2).toString('hex').toUpperCase()}-0001`,
    parent: {
      quote_details: null,
      subscription_details: { metadata: extra.licenseId ? { license_id: extra.licenseId } : sub.metadata, subscription: sub.id },
      type: 'subscription_details',
    },
    period_end: sub.items.data[0]?.current_period_end ?? sub.created,
    period_start: sub.items.data[0]?.current_period_start ?? sub.created,
    status,
    subtotal: amount,
    total: amount,
  }
}

export function chargeObject(customer: string, amount: number, refunded: number) {
  return {
    id: id('ch'),
    object: 'charge',
    amount,
    amount_captured: amount,
    amount_refunded: refunded,
    balance_transaction: id('txn'),
    billing_details: { address: null, email: null, name: null, phone: null },
    captured: true,
    created: unix(Date.now()),
    currency: 'eur',
    customer,
    description: 'Subscription update',
    disputed: false,
    livemode: false,
    metadata: {},
    paid: true,
    payment_intent: id('pi'),
    payment_method: 'pm_1Card000000000000000000',
    receipt_url: 'https://pay.stripe.test/receipts/1',
    refunded: refunded >= amount,
    status: 'succeeded',
  }
}

export function checkoutSessionObject(input: { customer: string | null; subscription: string | null; licenseId?: string; email?: string }) {
  const sessionId = id('cs_test')
  return {
    id: sessionId,
    object: 'checkout.session',
    amount_subtotal: 4900,
    amount_total: 4900,
    cancel_url: 'http://intelagent.test/dashboard#billing',
    client_reference_id: input.licenseId ?? null,
    created: unix(Date.now()),
    currency: 'eur',
    customer: input.customer,
    customer_creation: input.licenseId ? null : 'always',
    customer_details: { address: null, email: input.email ?? null, name: 'Ada Lovelace', phone: null, tax_exempt: 'none', tax_ids: [] },
    customer_email: input.email ?? null,
    expires_at: unix(Date.now()) + 86400,
    livemode: false,
    metadata: input.licenseId ? { license_id: input.licenseId } : {},
    mode: 'subscription',
    payment_status: 'paid',
    status: 'complete',
    subscription: input.subscription,
    success_url: 'http://intelagent.test/dashboard#billing',
    url: null,
  }
}

export function eventObject<T>(type: string, object: T, createdMs = Date.now()) {
  return {
    id: id('evt'),
    object: 'event',
    api_version: '2026-10-28.endive',
    created: unix(createdMs),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  }
}
export type FakeEvent = ReturnType<typeof eventObject<unknown>>

/** The fake's state and the msw server answering for it. */
export function createStripeFake() {
  const customers = new Map<string, { id: string; email: string | null; metadata: Record<string, string> }>()
  const customerByIdempotencyKey = new Map<string, string>()
  const subscriptions = new Map<string, FakeSubscription>()
  const sessions = new Map<string, Record<string, unknown>>()
  const invoices: ReturnType<typeof invoiceObject>[] = []
  const undelivered: FakeEvent[] = []
  const requests: { method: string; path: string; body: Record<string, unknown>; idempotencyKey: string | null }[] = []
  const signer = new Stripe('sk_test_signer')
  let failing = false

  const list = (data: unknown[], url: string) => ({ object: 'list', data, has_more: false, url })
  const error = (status: number, message: string, type = 'invalid_request_error') => HttpResponse.json({ error: { type, message } }, { status })

  const server = setupServer(
    http.all(`${STRIPE_API}/*`, async ({ request }) => {
      const url = new URL(request.url)
      const raw = request.method === 'GET' || request.method === 'DELETE' ? url.searchParams.toString() : await request.clone().text()
      requests.push({ method: request.method, path: url.pathname, body: parseForm(raw), idempotencyKey: request.headers.get('idempotency-key') })
      if (!request.headers.get('authorization')?.startsWith('Bearer sk_test_')) return error(401, 'Invalid API Key provided', 'authentication_error')
      if (failing) return error(500, 'An unknown error occurred', 'api_error')
      return undefined
    }),
    http.post(`${STRIPE_API}/v1/customers`, async ({ request }) => {
      const key = request.headers.get('idempotency-key')
      const known = key ? customerByIdempotencyKey.get(key) : undefined
      if (known) return HttpResponse.json({ object: 'customer', ...customers.get(known) })
      const body = parseForm(await request.text())
      const customer = { id: id('cus'), email: (body.email as string) ?? null, metadata: (body.metadata as Record<string, string>) ?? {} }
      customers.set(customer.id, customer)
      if (key) customerByIdempotencyKey.set(key, customer.id)
      return HttpResponse.json({ object: 'customer', created: unix(Date.now()), livemode: false, ...customer })
    }),
    http.post(`${STRIPE_API}/v1/checkout/sessions`, async ({ request }) => {
      const body = parseForm(await request.text())
      const sessionId = id('cs_test')
      const session = { id: sessionId, object: 'checkout.session', ...body, url: `https://checkout.stripe.test/c/pay/${sessionId}` }
      sessions.set(sessionId, session)
      return HttpResponse.json(session)
    }),
    http.post(`${STRIPE_API}/v1/billing_portal/sessions`, async ({ request }) => {
      const body = parseForm(await request.text())
      if (!customers.has(body.customer as string)) return error(400, `No such customer: '${body.customer}'`)
      const portalId = id('bps')
      return HttpResponse.json({
        id: portalId,
        object: 'billing_portal.session',
        customer: body.customer,
        return_url: body.return_url,
        url: `https://billing.stripe.test/p/session/${portalId}`,
      })
    }),
    http.get(`${STRIPE_API}/v1/subscriptions/:id`, ({ params }) => {
      const sub = subscriptions.get(String(params.id))
      return sub ? HttpResponse.json(sub) : error(404, `No such subscription: '${params.id}'`)
    }),
    http.delete(`${STRIPE_API}/v1/subscriptions/:id`, ({ params }) => {
      const sub = subscriptions.get(String(params.id))
      if (!sub) return error(404, `No such subscription: '${params.id}'`)
      sub.status = 'canceled'
      sub.canceled_at = unix(Date.now())
      sub.ended_at = unix(Date.now())
      return HttpResponse.json(sub)
    }),
    http.get(`${STRIPE_API}/v1/invoices`, ({ request }) => {
      const customer = new URL(request.url).searchParams.get('customer')
      return HttpResponse.json(list(invoices.filter((i) => i.customer === customer).reverse(), '/v1/invoices'))
    }),
    http.get(`${STRIPE_API}/v1/events`, ({ request }) => {
      const q = new URL(request.url).searchParams
      if (q.get('delivery_success') !== 'false') return error(400, 'this fake answers only delivery_success=false')
      return HttpResponse.json(list([...undelivered].reverse(), '/v1/events'))
    }),
  )

  return {
    server,
    customers,
    subscriptions,
    sessions,
    invoices,
    undelivered,
    requests,
    setFailing(v: boolean) {
      failing = v
    },
    /** A subscription as it now is in Stripe. */
    subscribe(input: SubscriptionInput & { now?: number }): FakeSubscription {
      const sub = subscriptionObject(input)
      subscriptions.set(sub.id, sub)
      return sub
    },
    /** Changes a subscription in Stripe (what a customer does in the portal, or a renewal that fails). */
    update(subId: string, patch: Partial<{ status: string; cancelAtPeriodEnd: boolean; priceId: string }>): FakeSubscription {
      const sub = subscriptions.get(subId)
      if (!sub) throw new Error(`no subscription ${subId}`)
      if (patch.status !== undefined) {
        sub.status = patch.status
        if (patch.status === 'canceled') {
          sub.canceled_at = unix(Date.now())
          sub.ended_at = unix(Date.now())
        }
      }
      if (patch.cancelAtPeriodEnd !== undefined) {
        sub.cancel_at_period_end = patch.cancelAtPeriodEnd
        sub.cancel_at = patch.cancelAtPeriodEnd ? (sub.items.data[0]?.current_period_end ?? null) : null
      }
      if (patch.priceId !== undefined) {
        const item = sub.items.data[0]
        if (item) item.price = price(patch.priceId)
      }
      return sub
    },
    /** The Stripe-Signature header for a payload, as Stripe would send it at `nowMs`. */
    sign(payload: string, nowMs = Date.now()): string {
      return signer.webhooks.generateTestHeaderString({ payload, secret: STRIPE_WEBHOOK_SECRET, timestamp: unix(nowMs) })
    },
    /** A copy of the object as it is now: what an event carries (a snapshot that later goes stale). */
    snapshot<T>(o: T): T {
      return structuredClone(o)
    },
  }
}
export type StripeFake = ReturnType<typeof createStripeFake>
