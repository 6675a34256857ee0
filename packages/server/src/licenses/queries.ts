// License rows: issued idempotently (unique source + order id), joined by the same buyer's next purchase, looked up by key.
import type { Kysely } from 'kysely'
import { audit } from '../platform/audit.js'
import type { Tier } from '../platform/config.js'
import { type Database, inTransaction, isUniqueViolation, type License } from '../platform/db.js'
import { emit } from '../platform/events.js'
import type { Product } from '../platform/products.js'
import { generateLicenseKey } from './license-key.js'
import { applyLicenseChange, findBuyerLicense, higherTier, lockBuyer } from './lifecycle.js'

export interface IssueLicenseInput {
  source: 'squarespace' | 'n8n' | 'cli' | 'demo' | 'stripe'
  orderId: string | null
  email: string
  products: Product[]
  tier: Tier
  actor?: string
}

export interface IssueResult {
  license: License
  /** A new license was made for this purchase. */
  created: boolean
  /** The purchase joined the buyer's existing license (same email): its products and a higher tier were added. */
  joined: boolean
}

/**
 * Issues a purchase: a new license for a new buyer, or — same email, any channel — the buyer's existing license
 * gains the order's products and a higher tier (no orphan license). Idempotent per order: a redelivery of the same
 * order returns the license it went to.
 */
export async function issueLicense(db: Kysely<Database>, input: IssueLicenseInput): Promise<IssueResult> {
  if (input.orderId !== null) {
    const existing = await findByOrder(db, input.source, input.orderId)
    if (existing) return { license: existing, created: false, joined: false }
  }
  const email = input.email.trim()
  const products = [...new Set(input.products)]
  try {
    return await inTransaction(db, async (trx) => {
      const now = new Date()
      // The demo license is nobody's purchase: it never joins, and nothing joins it.
      if (input.source !== 'demo') {
        await lockBuyer(trx, email)
        const current = await findBuyerLicense(trx, email)
        if (current) {
          if (input.orderId !== null) await recordOrder(trx, current.id, input, email, products)
          // A license suspended because its orders were all taken back comes back with a new purchase; one an
          // operator suspended (it still holds products) stays suspended.
          const status = current.status === 'suspended' && current.products.length === 0 ? 'active' : current.status
          const license = await applyLicenseChange(
            trx,
            current,
            { products: [...new Set([...(current.products as Product[]), ...products])], tier: higherTier(current.tier as Tier, input.tier), status },
            {
              cause: 'purchase',
              actor: input.actor ?? input.source,
              action: 'license.order_joined',
              source: input.source,
              ...(input.orderId !== null ? { orderId: input.orderId } : {}),
              meta: { orderProducts: products, orderTier: input.tier },
            },
            { now, always: true },
          )
          return { license, created: false, joined: true }
        }
      }
      const row = await trx
        .insertInto('licenses')
        .values({
          key: generateLicenseKey(),
          email,
          products,
          tier: input.tier,
          status: 'active',
          source: input.source,
          external_order_id: input.orderId,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      if (input.orderId !== null) await recordOrder(trx, row.id, input, email, products)
      await audit(trx, {
        licenseId: row.id,
        actor: input.actor ?? input.source,
        action: 'license.issued',
        target: row.key,
        meta: { orderId: input.orderId, products: row.products, tier: row.tier },
      })
      await emit(trx, {
        type: 'license.created',
        licenseId: row.id,
        data: {
          licenseId: row.id,
          source: row.source,
          orderId: row.external_order_id,
          products: row.products as Product[],
          tier: row.tier as Tier,
          status: row.status,
        },
      })
      return { license: row, created: true, joined: false }
    })
  } catch (err) {
    // A concurrent delivery of the same order won the unique constraint: answer with its license.
    if (input.orderId !== null && isUniqueViolation(err)) {
      const existing = await findByOrder(db, input.source, input.orderId)
      if (existing) return { license: existing, created: false, joined: false }
    }
    throw err
  }
}

const recordOrder = (trx: Kysely<Database>, licenseId: string, input: IssueLicenseInput, email: string, products: Product[]) =>
  trx
    .insertInto('license_orders')
    .values({ license_id: licenseId, source: input.source, order_id: input.orderId as string, email, products, tier: input.tier })
    .execute()

/** The license an order went to (its own, or the buyer's license it joined). */
export const findByOrder = (db: Kysely<Database>, source: string, orderId: string) =>
  db
    .selectFrom('license_orders')
    .innerJoin('licenses', 'licenses.id', 'license_orders.license_id')
    .selectAll('licenses')
    .where('license_orders.source', '=', source)
    .where('license_orders.order_id', '=', orderId)
    .executeTakeFirst()

export const findLicenseByKey = (db: Kysely<Database>, key: string) => db.selectFrom('licenses').selectAll().where('key', '=', key).executeTakeFirst()

export const findLicenseById = (db: Kysely<Database>, id: string) => db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirst()

export function publicLicense(l: License) {
  return {
    key: l.key,
    email: l.email,
    products: l.products as Product[],
    tier: l.tier as Tier,
    status: l.status,
    source: l.source,
    orderId: l.external_order_id,
    claimed: l.claimed_at !== null,
    createdAt: l.created_at.toISOString(),
  }
}
