// POST /api/webhooks/squarespace: verified order.create notifications become licenses, and order.update ones with a
// cancellation or full refund take back what their order granted (squarespace-updates.ts). The notification row
// and the durable job that fetches the order are written in one transaction, so an acknowledged order is never
// lost. Every other topic is acknowledged and ignored.

import { z } from '@hono/zod-openapi'
import type { Kysely } from 'kysely'
import { findByOrder, issueLicense } from '../licenses/queries.js'
import type { ProductMap, Tier } from '../platform/config.js'
import { TIERS } from '../platform/config.js'
import type { Deps } from '../platform/context.js'
import { type Database, isUniqueViolation } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { createRouter, jsonBody } from '../platform/http.js'
import { enqueue, type JobHandler } from '../platform/jobs.js'
import { parseJsonBody } from '../platform/json.js'
import type { Product } from '../platform/products.js'
import { access, declareRoute, json, mountRaw } from '../platform/route.js'
import { verifySquarespace } from '../platform/signature.js'
import { SquarespaceAck, SquarespaceNotification, SquarespaceSignatureHeaders } from './schemas.js'

/**
 * A notification stored without a job (before durable jobs existed) and still unprocessed this long after its
 * claim is taken over by a redelivery. Where a job does exist, the dedupe key makes the takeover a no-op.
 */
export const ABANDONED_AFTER_MS = 10 * 60_000

export const SQUARESPACE_ORDER_JOB = 'squarespace.order'
/** With the default backoff (1 s doubling, capped at 5 min) about 25 minutes of an unreachable Orders API. */
export const SQUARESPACE_ORDER_ATTEMPTS = 12
export interface OrderJob {
  eventRowId: string
  orderId: string
}

export const SQUARESPACE_UPDATE_JOB = 'squarespace.order-update'
/** The topics that fetch an order, each with its job. */
const ORDER_TOPICS: Record<string, string> = { 'order.create': SQUARESPACE_ORDER_JOB, 'order.update': SQUARESPACE_UPDATE_JOB }

/** Enqueued in the transaction that records (or takes over) the notification. */
const enqueueOrder = (trx: Kysely<Database>, topic: string, job: OrderJob) =>
  enqueue(trx, ORDER_TOPICS[topic] ?? SQUARESPACE_ORDER_JOB, job, { dedupeKey: `squarespace:${job.eventRowId}`, maxAttempts: SQUARESPACE_ORDER_ATTEMPTS })

const squarespaceWebhook = declareRoute({
  method: 'post',
  path: '/api/webhooks/squarespace',
  operationId: 'squarespaceWebhook',
  summary:
    'Squarespace order notification (order.create issues, order.update cancels or refunds): acknowledged once a durable job to fetch the order is committed',
  tag: 'webhooks',
  access: access.signature('squarespace'),
  request: { headers: SquarespaceSignatureHeaders, body: jsonBody(SquarespaceNotification) },
  responses: { 200: json(SquarespaceAck, 'Received (or a duplicate, or a topic that issues nothing)') },
})
const orderData = z.looseObject({ orderId: z.string().min(1).max(200) })

const money = z.object({ value: z.string(), currency: z.string().optional() }).nullish()

const orderSchema = z.object({
  id: z.string(),
  orderNumber: z.string().optional(),
  customerEmail: z.email(),
  testmode: z.boolean().optional(),
  fulfillmentStatus: z.string().optional(),
  grandTotal: money,
  refundedTotal: money,
  lineItems: z.array(
    z.object({
      sku: z.string().nullish(),
      productName: z.string().nullish(),
      quantity: z.number().optional(),
    }),
  ),
})
export type SquarespaceOrder = z.infer<typeof orderSchema>

/** Maps line items to products by SKU first, then product name (case-insensitive); the highest tier wins. */
export function mapLineItems(order: SquarespaceOrder, map: ProductMap): { products: Product[]; tier: Tier } {
  const lower = new Map(Object.entries(map).map(([k, v]) => [k.toLowerCase(), v]))
  const products = new Set<Product>()
  let tier: Tier = 'starter'
  for (const item of order.lineItems) {
    const entry = (item.sku ? lower.get(item.sku.toLowerCase()) : undefined) ?? (item.productName ? lower.get(item.productName.toLowerCase()) : undefined)
    if (!entry) continue
    for (const p of entry.products) products.add(p)
    if (entry.tier && TIERS.indexOf(entry.tier) > TIERS.indexOf(tier)) tier = entry.tier
  }
  return { products: [...products], tier }
}

/** Cancelled, or refunded in full: the order grants nothing. A partial refund leaves the order standing. */
export function orderWithdrawn(order: SquarespaceOrder): 'cancelled' | 'refunded' | null {
  if (order.fulfillmentStatus?.toUpperCase() === 'CANCELED') return 'cancelled'
  const total = Number(order.grandTotal?.value ?? Number.NaN)
  const refunded = Number(order.refundedTotal?.value ?? 0)
  if (Number.isFinite(total) && total > 0 && refunded >= total) return 'refunded'
  return null
}

export async function fetchOrder(deps: Deps, orderId: string): Promise<SquarespaceOrder> {
  const { apiUrl, apiKey } = deps.config.squarespace
  const res = await deps.fetch(`${apiUrl}/1.0/commerce/orders/${encodeURIComponent(orderId)}`, {
    headers: { Authorization: `Bearer ${apiKey ?? ''}`, 'User-Agent': 'Intelagent/1.0', Accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new Error(`Squarespace Orders API answered ${res.status}`)
  return orderSchema.parse(await res.json())
}

/** Fetches the order and issues its license; a failure is retried by the job, and a dead job marks the event failed. */
export function squarespaceOrderJob(deps: Deps): JobHandler<OrderJob> {
  return {
    async run({ eventRowId, orderId }) {
      // Idempotent: a rerun (the last run's worker died after issuing) finds the license by its order.
      if (!(await findByOrder(deps.db, 'squarespace', orderId))) {
        const order = await fetchOrder(deps, orderId)
        // Fetched now, not when it was placed: an order cancelled or refunded meanwhile issues nothing.
        const withdrawn = orderWithdrawn(order)
        if (withdrawn) {
          await markEvent(deps, deps.db, eventRowId, 'ignored', `the order was ${withdrawn} before it was processed`)
          return
        }
        const { products, tier } = mapLineItems(order, deps.config.squarespace.productMap)
        if (products.length === 0) {
          await markEvent(deps, deps.db, eventRowId, 'ignored', 'no line item maps to an Intelagent product')
          return
        }
        const { license, created } = await issueLicense(deps.db, { source: 'squarespace', orderId: order.id, email: order.customerEmail, products, tier })
        if (created) deps.logger.info('license issued', { source: 'squarespace', licenseId: license.id, orderId })
      }
      await markEvent(deps, deps.db, eventRowId, 'processed', null)
    },
    async onDead(trx, { eventRowId, orderId }, error) {
      await markEvent(deps, trx, eventRowId, 'failed', error)
      deps.logger.warn('squarespace order processing failed', { orderId, error })
    },
  }
}

export async function markEvent(deps: Deps, db: Kysely<Database>, id: string, status: string, error: string | null): Promise<void> {
  await db
    .updateTable('webhook_events')
    .set({ status, error, processed_at: new Date(deps.clock.now()) })
    .where('id', '=', id)
    .execute()
}

export function squarespaceRoutes(deps: Deps) {
  const app = createRouter()

  mountRaw(app, squarespaceWebhook, async (c) => {
    const secret = deps.config.squarespace.webhookSecret
    if (!secret) throw new AppError('not_configured', 'SQUARESPACE_WEBHOOK_SECRET is not set on this server')
    const raw = await c.req.text()
    verifySquarespace(secret, c.req.header('squarespace-signature'), raw)
    const note = parseJsonBody(SquarespaceNotification, raw)
    if (!ORDER_TOPICS[note.topic]) return c.json({ received: true, ignored: note.topic }, 200)
    const data = orderData.safeParse(note.data)
    if (!data.success) throw new AppError('validation_failed', `data.orderId: required for ${note.topic}`)
    const orderId = data.data.orderId

    try {
      await deps.db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('webhook_events')
          .values({ source: 'squarespace', event_id: note.id, topic: note.topic, payload: raw, error: null })
          .returning(['id'])
          .executeTakeFirstOrThrow()
        await enqueueOrder(trx, note.topic, { eventRowId: row.id, orderId })
      })
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      const seen = await deps.db
        .selectFrom('webhook_events')
        .select(['id', 'status', 'created_at', 'processed_at'])
        .where('source', '=', 'squarespace')
        .where('event_id', '=', note.id)
        .executeTakeFirstOrThrow()
      // A redelivery of a notification we failed to process gets another go, and so does one whose processing
      // was claimed long ago and never finished (the instance died); anything else is a duplicate.
      const claimedAt = (seen.processed_at ?? seen.created_at).getTime()
      const abandoned = seen.status === 'received' && claimedAt < deps.clock.now() - ABANDONED_AFTER_MS
      if (seen.status !== 'failed' && !abandoned) return c.json({ received: true, duplicate: true }, 200)
      // processed_at doubles as "claimed at" while the status is received; matching it makes the claim single-winner.
      const claimed = await deps.db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('webhook_events')
          .set({ status: 'received', processed_at: new Date(deps.clock.now()) })
          .where('id', '=', seen.id)
          .where('status', '=', seen.status)
          .where('processed_at', seen.processed_at === null ? 'is' : '=', seen.processed_at)
          .executeTakeFirst()
        if (Number(r.numUpdatedRows) === 0) return false
        await enqueueOrder(trx, note.topic, { eventRowId: seen.id, orderId })
        return true
      })
      if (!claimed) return c.json({ received: true, duplicate: true }, 200)
    }
    // Acknowledged once the job is committed; a worker (this instance's or another's) fetches the order.
    return c.json({ received: true }, 200)
  })

  return app
}
