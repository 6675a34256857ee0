// POST /api/webhooks/squarespace: verified order.create notifications become licenses.
import { z } from 'zod'
import { findByOrder, issueLicense } from '../licenses/queries.js'
import type { ProductMap, Tier } from '../platform/config.js'
import { TIERS } from '../platform/config.js'
import type { Deps } from '../platform/context.js'
import { isUniqueViolation } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { createRouter } from '../platform/http.js'
import { parseJsonBody } from '../platform/json.js'
import type { Product } from '../platform/products.js'
import { verifySquarespace } from './signature.js'

/** Far longer than processing can take (three 10 s fetches with backoff): a claim this old was abandoned. */
export const ABANDONED_AFTER_MS = 10 * 60_000

const notificationSchema = z.object({
  id: z.string().min(1).max(200),
  websiteId: z.string().optional(),
  subscriptionId: z.string().optional(),
  topic: z.string().min(1),
  createdOn: z.string().optional(),
  data: z
    .object({ orderId: z.string().min(1).max(200) })
    .passthrough()
    .optional(),
})

const orderSchema = z.object({
  id: z.string(),
  orderNumber: z.string().optional(),
  customerEmail: z.email(),
  testmode: z.boolean().optional(),
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

async function fetchOrder(deps: Deps, orderId: string): Promise<SquarespaceOrder> {
  const { apiUrl, apiKey } = deps.config.squarespace
  const res = await deps.fetch(`${apiUrl}/1.0/commerce/orders/${encodeURIComponent(orderId)}`, {
    headers: { Authorization: `Bearer ${apiKey ?? ''}`, 'User-Agent': 'Intelagent/1.0', Accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new Error(`Squarespace Orders API answered ${res.status}`)
  return orderSchema.parse(await res.json())
}

/** Fetches the order and issues its license; retried a few times because the notification is already acknowledged. */
async function processOrder(deps: Deps, eventRowId: string, orderId: string): Promise<void> {
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      if (!(await findByOrder(deps.db, 'squarespace', orderId))) {
        const order = await fetchOrder(deps, orderId)
        const { products, tier } = mapLineItems(order, deps.config.squarespace.productMap)
        if (products.length === 0) {
          await markEvent(deps, eventRowId, 'ignored', 'no line item maps to an Intelagent product')
          return
        }
        const { license, created } = await issueLicense(deps.db, { source: 'squarespace', orderId: order.id, email: order.customerEmail, products, tier })
        if (created) deps.logger.info('license issued', { source: 'squarespace', licenseId: license.id, orderId })
      }
      await markEvent(deps, eventRowId, 'processed', null)
      return
    } catch (err) {
      lastError = err
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt))
    }
  }
  await markEvent(deps, eventRowId, 'failed', String((lastError as Error)?.message ?? lastError))
  deps.logger.warn('squarespace order processing failed', { orderId, error: String((lastError as Error)?.message ?? lastError) })
}

async function markEvent(deps: Deps, id: string, status: string, error: string | null): Promise<void> {
  await deps.db
    .updateTable('webhook_events')
    .set({ status, error, processed_at: new Date(deps.clock.now()) })
    .where('id', '=', id)
    .execute()
}

export function squarespaceRoutes(deps: Deps) {
  const app = createRouter()

  app.post('/api/webhooks/squarespace', async (c) => {
    const secret = deps.config.squarespace.webhookSecret
    if (!secret) throw new AppError('not_configured', 'SQUARESPACE_WEBHOOK_SECRET is not set on this server')
    const raw = await c.req.text()
    verifySquarespace(secret, c.req.header('squarespace-signature'), raw)
    const note = parseJsonBody(notificationSchema, raw)
    if (note.topic !== 'order.create') return c.json({ received: true, ignored: note.topic }, 200)
    const orderId = note.data?.orderId
    if (!orderId) throw new AppError('validation_failed', 'data.orderId: required for order.create')

    let event: { id: string; status: string } | undefined
    try {
      event = await deps.db
        .insertInto('webhook_events')
        .values({ source: 'squarespace', event_id: note.id, topic: note.topic, payload: raw, error: null })
        .returning(['id', 'status'])
        .executeTakeFirstOrThrow()
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
      const claimed = await deps.db
        .updateTable('webhook_events')
        .set({ status: 'received', processed_at: new Date(deps.clock.now()) })
        .where('id', '=', seen.id)
        .where('status', '=', seen.status)
        .where('processed_at', seen.processed_at === null ? 'is' : '=', seen.processed_at)
        .executeTakeFirst()
      if (Number(claimed.numUpdatedRows) === 0) return c.json({ received: true, duplicate: true }, 200)
      event = seen
    }
    const eventId = event.id
    // Acknowledge at once; the order is fetched in the background.
    deps.tasks.run('squarespace.order', () => processOrder(deps, eventId, orderId))
    return c.json({ received: true }, 200)
  })

  return app
}
