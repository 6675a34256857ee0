// The license lifecycle after issue: what a license holds is the union of its orders (license_orders), so a second
// purchase by the same buyer joins the license and a cancelled or refunded order takes back only what it granted.
// Every change is one transaction: the row, an audit entry and the events (license.updated, license.suspended).
import { type Kysely, sql } from 'kysely'
import { type AuditAction, audit } from '../platform/audit.js'
import { TIERS, type Tier } from '../platform/config.js'
import { type Database, inTransaction, type License } from '../platform/db.js'
import { type EventData, emit } from '../platform/events.js'
import type { Product } from '../platform/products.js'

export type Cause = NonNullable<EventData<'license.updated'>['cause']>

export interface LicensePatch {
  products?: Product[]
  tier?: Tier
  status?: License['status']
}

export interface ChangeMeta {
  cause: Cause
  actor: string
  action: AuditAction
  source?: string
  orderId?: string
  ip?: string | null
  meta?: Record<string, unknown>
}

export const higherTier = (a: Tier, b: Tier): Tier => (TIERS.indexOf(a) >= TIERS.indexOf(b) ? a : b)

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x))

/**
 * Applies a change to a license locked by the caller's transaction (`before` is the locked row): updates it, writes
 * the audit entry and the events. `always` emits license.updated even when nothing visible changed (a purchase that
 * granted what the license already held is still a purchase). Resolves to the row after the change.
 */
export async function applyLicenseChange(
  trx: Kysely<Database>,
  before: License,
  patch: LicensePatch,
  meta: ChangeMeta,
  options: { now: Date; always?: boolean },
): Promise<License> {
  const products = patch.products ? [...new Set(patch.products)] : (before.products as Product[])
  const tier = patch.tier ?? (before.tier as Tier)
  const status = patch.status ?? before.status
  const changes: ('products' | 'tier' | 'status')[] = []
  if (!sameSet(products, before.products)) changes.push('products')
  if (tier !== before.tier) changes.push('tier')
  if (status !== before.status) changes.push('status')
  if (changes.length === 0 && !options.always) return before
  const after = await trx
    .updateTable('licenses')
    .set({ products, tier, status, updated_at: options.now })
    .where('id', '=', before.id)
    .returningAll()
    .executeTakeFirstOrThrow()
  const suspended = status === 'suspended' && before.status !== 'suspended'
  // license.updated names the status only when it is not a suspension (that is license.suspended's).
  const updatedChanges = changes.filter((c) => c !== 'status' || !suspended)
  if (updatedChanges.length > 0 || options.always) {
    await emit(trx, {
      type: 'license.updated',
      licenseId: after.id,
      data: {
        licenseId: after.id,
        changes: updatedChanges.length > 0 ? updatedChanges : ['products'],
        status: after.status,
        claimed: after.claimed_at !== null,
        products: after.products as Product[],
        tier: after.tier as Tier,
        cause: meta.cause,
        ...(meta.source ? { source: meta.source } : {}),
        ...(meta.orderId ? { orderId: meta.orderId } : {}),
      },
    })
  }
  if (suspended) await emit(trx, { type: 'license.suspended', licenseId: after.id, data: { licenseId: after.id, previousStatus: before.status } })
  await audit(trx, {
    licenseId: after.id,
    actor: meta.actor,
    action: meta.action,
    target: after.key,
    ip: meta.ip ?? null,
    meta: {
      cause: meta.cause,
      ...(meta.source ? { source: meta.source } : {}),
      ...(meta.orderId ? { orderId: meta.orderId } : {}),
      before: { products: before.products, tier: before.tier, status: before.status },
      after: { products: after.products, tier: after.tier, status: after.status },
      ...meta.meta,
    },
  })
  return after
}

export const lockLicense = (trx: Kysely<Database>, id: string) => trx.selectFrom('licenses').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()

/** Serialises issuing for one buyer (two first purchases at once must not make two licenses). */
export async function lockBuyer(trx: Kysely<Database>, email: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`license-buyer:${email.trim().toLowerCase()}`}))`.execute(trx)
}

/** The license a new purchase by this email joins: not revoked, not the demo's; the registered one first, then the oldest. */
export const findBuyerLicense = (trx: Kysely<Database>, email: string) =>
  trx
    .selectFrom('licenses')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .where('status', '!=', 'revoked')
    .where('source', '!=', 'demo')
    .orderBy(sql`claimed_at is null`)
    .orderBy('created_at')
    .limit(1)
    .forUpdate()
    .executeTakeFirst()

export type OrderEnd = 'cancelled' | 'refunded'

/**
 * Takes back what one order granted: its products that no other active order of the license grants, and its tier
 * when no other active order holds that tier (the tier falls to the highest left, starter at least). A license with
 * no product left is suspended. Idempotent: an order already ended changes nothing. Resolves to the license after
 * the change, or undefined when the order is unknown or already ended.
 */
export async function endOrder(
  db: Kysely<Database>,
  input: { source: string; orderId: string; end: OrderEnd; actor: string; now: Date },
): Promise<{ before: License; after: License } | undefined> {
  return inTransaction(db, async (trx) => {
    const order = await trx
      .selectFrom('license_orders')
      .selectAll()
      .where('source', '=', input.source)
      .where('order_id', '=', input.orderId)
      .forUpdate()
      .executeTakeFirst()
    if (order?.status !== 'active') return undefined
    const before = await lockLicense(trx, order.license_id)
    if (!before) return undefined
    await trx.updateTable('license_orders').set({ status: input.end, ended_at: input.now }).where('id', '=', order.id).execute()
    const others = await trx
      .selectFrom('license_orders')
      .select(['products', 'tier'])
      .where('license_id', '=', before.id)
      .where('status', '=', 'active')
      .execute()
    const kept = new Set(others.flatMap((o) => o.products))
    const taken = order.products.filter((p) => !kept.has(p))
    const products = (before.products as Product[]).filter((p) => !taken.includes(p))
    const othersTier = others.reduce<Tier>((t, o) => higherTier(t, o.tier as Tier), 'starter')
    // The order's tier goes only if it is what set the license's tier (a tier from elsewhere — Stripe, an action — stays).
    const tier = order.tier === before.tier && othersTier !== before.tier ? othersTier : (before.tier as Tier)
    const status = products.length === 0 && before.status === 'active' ? 'suspended' : before.status
    const after = await applyLicenseChange(
      trx,
      before,
      { products, tier, status },
      {
        cause: input.end === 'refunded' ? 'order_refunded' : 'order_cancelled',
        actor: input.actor,
        action: 'license.order_cancelled',
        source: input.source,
        orderId: input.orderId,
        meta: { end: input.end, orderProducts: order.products, orderTier: order.tier },
      },
      { now: input.now, always: true },
    )
    return { before, after }
  })
}
