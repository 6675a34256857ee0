// /api/admin/licenses search, detail and plan changes: the operator's license console. Suspend and reactivate stay
// on POST /api/admin/licenses/{id}/status (operator/license-admin.ts).
import { z } from '@hono/zod-openapi'
import { dropLicenseCaches } from '../auth/license-caches.js'
import type { KeyResolver } from '../keys/resolver.js'
import { publicLicense } from '../licenses/queries.js'
import { actorOf, audit, listAudit } from '../platform/audit.js'
import { TIERS, type Tier } from '../platform/config.js'
import type { Deps } from '../platform/context.js'
import type { License } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { PRODUCTS, type Product } from '../platform/products.js'
import { seatLimit } from '../platform/roles.js'
import { access, declareRoute, json } from '../platform/route.js'
import { listMembers } from '../team/queries.js'
import type { Usage } from '../usage/meter.js'
import { usageReport } from '../usage/report.js'
import { UsageSchema } from '../usage/routes.js'
import {
  activeApiKeyCount,
  activeProductKeyCounts,
  findBillingAccount,
  findLicense,
  lockLicense,
  mailTotal,
  pendingInvitationList,
  recentMail,
  searchLicenses,
  setLicensePlan,
} from './queries.js'

const TAG = 'admin'
const STATUSES = ['active', 'suspended', 'revoked'] as const
const PAGE = 50

const LicenseSummary = z
  .object({
    id: z.uuid(),
    key: z.string(),
    email: z.string(),
    products: z.array(z.enum(PRODUCTS)),
    tier: z.enum(TIERS),
    status: z.enum(STATUSES),
    source: z.string(),
    orderId: z.string().nullable(),
    claimed: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .openapi('AdminLicense')

const summary = (l: License) => ({ id: l.id, ...publicLicense(l) })

const EMAILS = 20

const SubscriptionSchema = z
  .object({
    status: z
      .string()
      .nullable()
      .openapi({ description: "Stripe's subscription status; null when the license has a Stripe customer but no subscription", example: 'active' }),
    plan: z.string().nullable().openapi({ description: 'The tier its price maps to' }),
    priceId: z.string().nullable(),
    amount: z.number().int().nullable().openapi({ description: 'Per interval, in the currency’s minor unit' }),
    currency: z.string().nullable(),
    interval: z.string().nullable().openapi({ example: 'month' }),
    currentPeriodEnd: z.iso.datetime().nullable(),
    cancelAtPeriodEnd: z.boolean(),
    graceEndsAt: z.iso.datetime().nullable().openapi({ description: 'past_due: the plan drops to starter then unless paid' }),
    trialStart: z.iso.datetime().nullable(),
    startedAt: z.iso.datetime().nullable(),
    canceledAt: z.iso.datetime().nullable(),
    stripeCustomerId: z.string(),
    stripeSubscriptionId: z.string().nullable(),
    syncedAt: z.iso.datetime().nullable().openapi({ description: 'When Stripe last told us (webhook or reconciliation)' }),
  })
  .openapi('AdminSubscription')

const SentMailSchema = z
  .object({
    id: z.string(),
    to: z.string(),
    template: z.string().openapi({ example: 'license-issued' }),
    subject: z.string(),
    status: z.enum(['queued', 'sent', 'failed', 'kept']),
    createdAt: z.iso.datetime(),
    sentAt: z.iso.datetime().nullable(),
  })
  .openapi('AdminSentMail')

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString())

/** The cursor is the last row's id, opaque to clients: the next page continues after that row's (created_at, id). */
const encodeCursor = (id: string): string => Buffer.from(id).toString('base64url')
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (!z.uuid().safeParse(id).success) throw new AppError('validation_failed', 'cursor: not a cursor from a previous page')
  return id
}

const search = declareRoute({
  method: 'get',
  path: '/api/admin/licenses/search',
  operationId: 'searchLicenses',
  summary: 'Find licenses by key, buyer or member email, or order id, optionally by status and tier; newest first, keyset paginated',
  tag: TAG,
  access: access.operator,
  request: {
    query: z.object({
      q: z.string().trim().max(320).optional().openapi({ description: 'A license key (or its start), an email (or part of one), or an order id' }),
      status: z.enum(STATUSES).optional(),
      tier: z.enum(TIERS).optional(),
      cursor: z.string().max(200).optional().openapi({ description: '`nextCursor` of the previous page' }),
      limit: z.coerce.number().int().min(1).max(200).default(PAGE),
    }),
  },
  responses: { 200: json(z.object({ licenses: z.array(LicenseSummary), nextCursor: z.string().nullable() }), 'One page of licenses') },
})

const detail = declareRoute({
  method: 'get',
  path: '/api/admin/licenses/{id}',
  operationId: 'getLicense',
  summary: 'One license: products, key counts, usage this period, subscription, members and invitations, seats, emails sent and its recent audit trail',
  tag: TAG,
  access: access.operator,
  errors: ['not_found'],
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: json(
      z
        .object({
          license: LicenseSummary,
          keys: z.object({
            byProduct: z.record(z.string(), z.number().int()).openapi({ description: 'Active product keys per product' }),
            apiKeys: z.number().int().openapi({ description: 'Active API keys (intl_sk_)' }),
          }),
          seats: z.object({ used: z.number().int(), limit: z.number().int() }),
          usage: UsageSchema.pick({ periodStart: true, periodEnd: true, quotas: true }).openapi({
            description: 'This billing period, every quota of the plan',
          }),
          subscription: SubscriptionSchema.nullable().openapi({ description: 'As Stripe last told us; null when the license never had a Stripe customer' }),
          emails: z.object({
            total: z.number().int().openapi({ description: 'Every message about this license in the outbox' }),
            recent: z.array(SentMailSchema).openapi({ description: `The latest ${EMAILS}, newest first` }),
          }),
          members: z.array(
            z.object({
              id: z.uuid(),
              email: z.string(),
              name: z.string().nullable(),
              role: z.enum(['owner', 'admin', 'member']),
              joinedAt: z.iso.datetime(),
              lastSeenAt: z.iso.datetime().nullable(),
            }),
          ),
          invitations: z.array(z.object({ id: z.uuid(), email: z.string(), role: z.enum(['admin', 'member']), expiresAt: z.iso.datetime() })),
          audit: z.array(
            z.object({
              id: z.string(),
              actor: z.string().nullable(),
              action: z.string(),
              target: z.string().nullable(),
              meta: z.record(z.string(), z.unknown()),
              createdAt: z.iso.datetime(),
            }),
          ),
        })
        .openapi('AdminLicenseDetail'),
      'The license',
    ),
  },
})

const update = declareRoute({
  method: 'patch',
  path: '/api/admin/licenses/{id}',
  operationId: 'updateLicense',
  summary: 'Change a license’s tier and/or products; keys and sessions pick the change up at once on every instance',
  tag: TAG,
  access: access.operator,
  errors: ['not_found'],
  request: {
    params: z.object({ id: z.uuid() }),
    body: jsonBody(
      z
        .strictObject({ tier: z.enum(TIERS).optional(), products: z.array(z.enum(PRODUCTS)).min(1).max(PRODUCTS.length).optional() })
        .refine((b) => b.tier !== undefined || b.products !== undefined, 'give tier, products or both'),
    ),
  },
  responses: { 200: json(z.object({ license: LicenseSummary }), 'The license after the change') },
})

export function operatorRoutes(deps: Deps, keys: KeyResolver, usage: Usage) {
  const app = createRouter()

  app.openapi(search, async (c) => {
    const { q, status, tier, cursor, limit } = c.req.valid('query')
    const rows = await searchLicenses(deps.db, { q, status, tier, after: cursor ? decodeCursor(cursor) : undefined }, limit + 1)
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return c.json({ licenses: page.map(summary), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null }, 200)
  })

  app.openapi(detail, async (c) => {
    const { id } = c.req.valid('param')
    const license = await findLicense(deps.db, id)
    if (!license) throw notFound('License')
    const now = new Date(deps.clock.now())
    // The calls this instance counted in memory are written first (src/usage/meter.ts, Behind).
    await usage.writeAllBehind(id)
    const [productKeys, apiKeys, members, invitations, entries, usageNow, account, mailCount, mail] = await Promise.all([
      activeProductKeyCounts(deps.db, id),
      activeApiKeyCount(deps.db, id, now),
      listMembers(deps.db, id),
      pendingInvitationList(deps.db, id, now),
      listAudit(deps.db, id, 20),
      usageReport(deps, license),
      findBillingAccount(deps.db, id),
      mailTotal(deps.db, id),
      recentMail(deps.db, id, EMAILS),
    ])
    return c.json(
      {
        license: summary(license),
        keys: { byProduct: Object.fromEntries(productKeys.map((k) => [k.product, Number(k.n)])), apiKeys: Number(apiKeys.n) },
        seats: { used: members.length + invitations.length, limit: seatLimit(deps.config.plans, license.tier) },
        usage: { periodStart: usageNow.periodStart, periodEnd: usageNow.periodEnd, quotas: usageNow.quotas },
        subscription: account
          ? {
              status: account.status,
              plan: account.plan,
              priceId: account.price_id,
              amount: account.amount === null ? null : Number(account.amount),
              currency: account.currency,
              interval: account.interval,
              currentPeriodEnd: iso(account.current_period_end),
              cancelAtPeriodEnd: account.cancel_at_period_end,
              graceEndsAt: iso(account.grace_ends_at),
              trialStart: iso(account.trial_start),
              startedAt: iso(account.started_at),
              canceledAt: iso(account.canceled_at),
              stripeCustomerId: account.stripe_customer_id,
              stripeSubscriptionId: account.stripe_subscription_id,
              syncedAt: iso(account.synced_at),
            }
          : null,
        emails: {
          total: Number(mailCount.n),
          recent: mail.map((m) => ({
            id: m.id,
            to: m.to_email,
            template: m.template,
            subject: m.subject,
            status: m.status,
            createdAt: m.created_at.toISOString(),
            sentAt: iso(m.sent_at),
          })),
        },
        members: members.map((m) => ({
          id: m.id,
          email: m.email,
          name: m.name,
          role: m.team_role ?? 'member',
          joinedAt: m.created_at.toISOString(),
          lastSeenAt: m.last_seen_at ? new Date(m.last_seen_at).toISOString() : null,
        })),
        invitations: invitations.map((i) => ({ id: i.id, email: i.email, role: i.role, expiresAt: i.expires_at.toISOString() })),
        audit: entries.map((e) => ({
          id: String(e.id),
          actor: e.actor,
          action: e.action,
          target: e.target,
          meta: e.meta as Record<string, unknown>,
          createdAt: e.created_at.toISOString(),
        })),
      },
      200,
    )
  })

  app.openapi(update, async (c) => {
    const { id } = c.req.valid('param')
    const body = c.req.valid('json')
    const result = await deps.db.transaction().execute(async (trx) => {
      const before = await lockLicense(trx, id)
      if (!before) return undefined
      const products = body.products ? [...new Set(body.products)] : before.products
      const tier = body.tier ?? before.tier
      const changes: ('tier' | 'products')[] = []
      if (tier !== before.tier) changes.push('tier')
      if (products.length !== before.products.length || products.some((p) => !before.products.includes(p))) changes.push('products')
      if (changes.length === 0) return { before, after: before, changes }
      const after = await setLicensePlan(trx, id, { tier, products }, new Date(deps.clock.now()))
      await emit(trx, {
        type: 'license.updated',
        licenseId: id,
        data: {
          licenseId: id,
          changes,
          status: after.status,
          claimed: after.claimed_at !== null,
          tier: after.tier as Tier,
          products: after.products as Product[],
        },
      })
      await audit(trx, {
        licenseId: id,
        ...actorOf(c.get('principal')),
        action: 'license.updated',
        target: after.key,
        ip: clientIp(c),
        meta: { changes, from: { tier: before.tier, products: before.products }, to: { tier: after.tier, products: after.products } },
      })
      return { before, after, changes }
    })
    if (!result) throw notFound('License')
    if (result.changes.length > 0) {
      // Resolved keys and cached sessions carry the tier and products: drop them on every instance.
      await dropLicenseCaches(deps, keys, id)
    }
    return c.json({ license: summary(result.after) }, 200)
  })

  return app
}
