// /api/billing (the owner's plan, Checkout, Portal), the public pricing-page Checkout, the Stripe webhook and the
// operator's reconciliation log and figures. With STRIPE_SECRET_KEY unset every one answers 503 not_configured.
import { z } from '@hono/zod-openapi'
import { requireScope } from '../keys/scopes.js'
import type { Deps, Principal } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { enqueue } from '../platform/jobs.js'
import { enforce } from '../platform/ratelimit.js'
import { access, declareRoute, type Guard, json } from '../platform/route.js'
import { platformFigures } from './figures.js'
import { type Billing, PAID_TIERS, RECONCILE_JOB } from './service.js'

/** Public Checkout sessions per client address per minute. */
export const PRICING_CHECKOUTS_PER_MINUTE = 10

const TierSchema = z.enum(['starter', 'professional', 'business', 'enterprise'])
const PaidTierSchema = z.enum(PAID_TIERS).openapi({ description: 'The plan to subscribe to', example: 'business' })
const UrlSchema = z.object({ url: z.url().openapi({ example: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3' }) }).openapi('BillingRedirect')

export const BillingSchema = z
  .object({
    plan: TierSchema.openapi({ description: 'The tier the license is on now' }),
    status: z
      .string()
      .nullable()
      .openapi({ description: "Stripe's subscription status (active, trialing, past_due, canceled…); null without a subscription", example: 'active' }),
    subscriptionId: z.string().nullable(),
    currentPeriodEnd: z.iso.datetime({ offset: true }).nullable(),
    cancelAtPeriodEnd: z.boolean().openapi({ description: 'The plan ends at currentPeriodEnd and the license returns to starter' }),
    graceEndsAt: z.iso
      .datetime({ offset: true })
      .nullable()
      .openapi({ description: 'A renewal payment failed: the plan drops to starter at this time unless it is paid' }),
    purchasable: z.array(PaidTierSchema).openapi({ description: 'Plans a Checkout can be opened for on this server' }),
    invoices: z.array(
      z.object({
        id: z.string(),
        number: z.string().nullable(),
        amount: z.number().int().openapi({ description: 'In the currency’s minor unit (cents)', example: 4900 }),
        currency: z.string().openapi({ example: 'eur' }),
        status: z.string().openapi({ example: 'paid' }),
        hostedUrl: z.string().nullable().openapi({ description: "Stripe's page for the invoice (pay, download)" }),
        createdAt: z.iso.datetime({ offset: true }),
      }),
    ),
  })
  .openapi('Billing')

const getBilling = declareRoute({
  method: 'get',
  path: '/api/billing',
  operationId: 'getBilling',
  summary: 'The license’s plan, subscription status, period end, cancel-at-period-end and recent invoices',
  tag: 'billing',
  teamRole: 'admin',
  access: access.customer('billing:read'),
  errors: ['not_configured', 'upstream_failed', 'license_not_found'],
  responses: { 200: json(BillingSchema, 'The plan and subscription') },
})

const checkout = declareRoute({
  method: 'post',
  path: '/api/billing/checkout',
  operationId: 'createBillingCheckout',
  summary: 'Open a Stripe Checkout (subscription) for a paid plan; the plan changes when Stripe confirms payment',
  tag: 'billing',
  teamRole: 'admin',
  access: access.customer('billing:write'),
  errors: ['not_configured', 'upstream_failed', 'conflict', 'license_not_found'],
  request: { body: jsonBody(z.strictObject({ tier: PaidTierSchema })) },
  responses: { 200: json(UrlSchema, 'Send the buyer to this URL') },
})

const portal = declareRoute({
  method: 'post',
  path: '/api/billing/portal',
  operationId: 'createBillingPortal',
  summary: 'Open the Stripe Customer Portal (card, plan change, cancellation, invoices)',
  tag: 'billing',
  teamRole: 'admin',
  access: access.customer('billing:write'),
  errors: ['not_configured', 'upstream_failed', 'license_not_found'],
  responses: { 200: json(UrlSchema, 'Send the owner to this URL') },
})

const pricingCheckout = declareRoute({
  method: 'post',
  path: '/api/billing/pricing-checkout',
  operationId: 'createPricingCheckout',
  summary: 'A pricing page’s buy button: a Checkout for someone without a license; the license is emailed once paid',
  tag: 'billing',
  access: access.public,
  errors: ['not_configured', 'upstream_failed', 'rate_limited'],
  request: { body: jsonBody(z.strictObject({ tier: PaidTierSchema, email: z.email().max(320).optional() })) },
  responses: { 200: json(UrlSchema, 'Send the buyer to this URL') },
})

const plans = declareRoute({
  method: 'get',
  path: '/api/billing/plans',
  operationId: 'getBillingPlans',
  summary: 'Whether billing is on, and the plans a Checkout can be opened for (pricing pages, the dashboard)',
  tag: 'billing',
  access: access.public,
  responses: {
    200: json(
      z.object({ enabled: z.boolean().openapi({ description: 'false when the server has no STRIPE_SECRET_KEY' }), purchasable: z.array(PaidTierSchema) }),
      'Billing availability',
    ),
  },
})

const webhook = declareRoute({
  method: 'post',
  path: '/api/webhooks/stripe',
  operationId: 'stripeWebhook',
  summary: 'Stripe events (verified with Stripe-Signature); each event id is acted on once',
  tag: 'webhooks',
  access: access.signature('stripe'),
  errors: ['upstream_failed', 'invalid_json'],
  responses: {
    200: json(
      z.object({ received: z.literal(true), outcome: z.string().openapi({ example: 'applied', description: 'applied, duplicate, ignored, …' }) }),
      'Acknowledged',
    ),
  },
})

const RepairSchema = z.record(z.string(), z.unknown())
const ReconciliationSchema = z
  .object({
    id: z.uuid(),
    startedAt: z.iso.datetime({ offset: true }),
    finishedAt: z.iso.datetime({ offset: true }).nullable(),
    checked: z.number().int(),
    missedEvents: z.number().int(),
    repairs: z.array(RepairSchema),
    error: z.string().nullable(),
  })
  .openapi('BillingReconciliation')

const listReconciliations = declareRoute({
  method: 'get',
  path: '/api/admin/billing/reconciliations',
  operationId: 'listBillingReconciliations',
  summary: 'Nightly reconciliation runs with Stripe and what each repaired, newest first',
  tag: 'admin',
  access: access.operator,
  errors: ['not_configured'],
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(30) }) },
  responses: { 200: json(z.object({ reconciliations: z.array(ReconciliationSchema) }), 'Runs') },
})

const runReconciliation = declareRoute({
  method: 'post',
  path: '/api/admin/billing/reconciliations',
  operationId: 'runBillingReconciliation',
  summary: 'Run a reconciliation with Stripe now (a durable job)',
  tag: 'admin',
  access: access.operator,
  errors: ['not_configured'],
  responses: { 202: json(z.object({ jobId: z.string().nullable() }), 'Queued') },
})

export const FiguresSchema = z
  .object({
    activeLicenses: z.number().int(),
    activeByTier: z.record(z.string(), z.number().int()),
    payingSubscriptions: z.number().int(),
    revenue: z.array(
      z.object({
        currency: z.string(),
        mrr: z.number().int().openapi({ description: 'Monthly recurring revenue in minor units: active subscriptions and past_due ones inside their grace' }),
        arr: z.number().int().openapi({ description: 'MRR × 12' }),
      }),
    ),
    months: z
      .array(
        z.object({
          month: z.string().openapi({ example: '2026-11' }),
          new: z.number().int().openapi({ description: 'Subscriptions started this month (trials included)' }),
          churned: z.number().int().openapi({ description: 'Subscriptions that ended this month' }),
          mrr: z.record(z.string(), z.number().int()).openapi({
            description: 'MRR per currency at the month’s end (this month: now), from subscription dates and current prices',
            example: { eur: 19800 },
          }),
        }),
      )
      .openapi({ description: 'The last 12 months, oldest first' }),
    trialToPaid: z.object({
      trials: z.number().int(),
      ongoing: z.number().int().openapi({ description: 'Trials still running: neither converted nor lost yet' }),
      converted: z.number().int(),
      rate: z.number().nullable().openapi({ description: 'converted ÷ (trials − ongoing); null before any trial is decided' }),
    }),
  })
  .openapi('PlatformFigures')

const figures = declareRoute({
  method: 'get',
  path: '/api/admin/figures',
  operationId: 'getPlatformFigures',
  summary: 'Active licenses, MRR and ARR from subscription state, new and churned per month, trial-to-paid',
  tag: 'admin',
  access: access.operator,
  responses: { 200: json(FiguresSchema, 'Figures') },
})

/** Re-checks the declared scope until the declaration guard is installed (app.ts mounts authentication). */
const prefixMountedGuard: Guard = {
  async run(c, route, next) {
    const principal = c.get('principal') as Principal | undefined
    if (!principal) throw new AppError('unauthorized', 'Log in or send a secret key as a Bearer token')
    if (route.access.kind === 'customer') requireScope(principal, route.access.scope as Parameters<typeof requireScope>[1])
    if (route.access.kind === 'operator' && principal.role !== 'admin') throw new AppError('forbidden', 'Operators only')
    await next()
    return undefined
  },
}

export function billingRoutes(deps: Deps, billing: Billing | null) {
  const app = createRouter()
  for (const path of ['/api/billing', '/api/billing/checkout', '/api/billing/portal', '/api/admin/billing/*', '/api/admin/figures']) {
    app.use(path, async function billingGuard(c, next) {
      if (!c.get('guard')) c.set('guard', prefixMountedGuard)
      await next()
    })
  }
  const on = (): Billing => {
    if (!billing) throw new AppError('not_configured', 'Billing is off on this server (STRIPE_SECRET_KEY is not set)')
    return billing
  }

  app.openapi(getBilling, async (c) => c.json(await on().summary(tenantOf(c)), 200))

  app.openapi(checkout, async (c) => {
    const b = on()
    return c.json({ url: await b.checkout(tenantOf(c), c.req.valid('json').tier) }, 200)
  })

  app.openapi(portal, async (c) => {
    const b = on()
    return c.json({ url: await b.portal(tenantOf(c)) }, 200)
  })

  app.openapi(pricingCheckout, async (c) => {
    const b = on()
    // Public and each call costs a Stripe request: a few per minute per address is all a buyer needs.
    const ip = clientIp(c)
    await enforce(deps, c, [
      {
        policy: 'pricing_checkout',
        key: `ip:${ip}:pricing_checkout`,
        limit: Math.max(1, Math.floor(PRICING_CHECKOUTS_PER_MINUTE * deps.config.rateLimitScale)),
        windowMs: 60_000,
      },
    ])
    const { tier, email } = c.req.valid('json')
    return c.json({ url: await b.pricingCheckout(tier, email) }, 200)
  })

  app.openapi(plans, (c) => c.json({ enabled: billing !== null, purchasable: billing ? PAID_TIERS.filter((t) => billing.config.prices[t]) : [] }, 200))

  app.openapi(webhook, async (c) => {
    const b = on()
    // Verified on the exact bytes Stripe signed, before anything is parsed.
    const event = b.verify(await c.req.text(), c.req.header('stripe-signature'))
    const result = await b.handle(event, 'webhook')
    return c.json({ received: true as const, outcome: result.outcome }, 200)
  })

  app.openapi(listReconciliations, async (c) => {
    on()
    const rows = await deps.db.selectFrom('billing_reconciliations').selectAll().orderBy('started_at', 'desc').limit(c.req.valid('query').limit).execute()
    return c.json(
      {
        reconciliations: rows.map((r) => ({
          id: r.id,
          startedAt: r.started_at.toISOString(),
          finishedAt: r.finished_at?.toISOString() ?? null,
          checked: r.checked,
          missedEvents: r.missed_events,
          repairs: r.repairs as Record<string, unknown>[],
          error: r.error,
        })),
      },
      200,
    )
  })

  app.openapi(runReconciliation, async (c) => {
    on()
    const jobId = await enqueue(deps.db, RECONCILE_JOB, { day: 'now' }, { dedupeKey: `${RECONCILE_JOB}:now`, maxAttempts: 1 })
    return c.json({ jobId }, 202)
  })

  app.openapi(figures, async (c) => c.json(await platformFigures(deps.db, deps.clock.now()), 200))

  return app
}
