// License rows: issued idempotently (unique source + order id), looked up by key.
import type { Kysely } from 'kysely'
import { audit } from '../audit/log.js'
import type { Tier } from '../platform/config.js'
import { type Database, isUniqueViolation, type License } from '../platform/db.js'
import { emit } from '../platform/events.js'
import type { Product } from '../platform/products.js'
import { generateLicenseKey } from './license-key.js'

export interface IssueLicenseInput {
  source: 'squarespace' | 'n8n' | 'cli' | 'demo' | 'stripe'
  orderId: string | null
  email: string
  products: Product[]
  tier: Tier
  actor?: string
}

/** Creates the license, or returns the one an earlier delivery of the same order created. */
export async function issueLicense(db: Kysely<Database>, input: IssueLicenseInput): Promise<{ license: License; created: boolean }> {
  if (input.orderId !== null) {
    const existing = await findByOrder(db, input.source, input.orderId)
    if (existing) return { license: existing, created: false }
  }
  try {
    const license = await db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('licenses')
        .values({
          key: generateLicenseKey(),
          email: input.email.trim(),
          products: [...new Set(input.products)],
          tier: input.tier,
          status: 'active',
          source: input.source,
          external_order_id: input.orderId,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
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
      return row
    })
    return { license, created: true }
  } catch (err) {
    // A concurrent delivery of the same order won the unique constraint: answer with its license.
    if (input.orderId !== null && isUniqueViolation(err)) {
      const existing = await findByOrder(db, input.source, input.orderId)
      if (existing) return { license: existing, created: false }
    }
    throw err
  }
}

export const findByOrder = (db: Kysely<Database>, source: string, orderId: string) =>
  db.selectFrom('licenses').selectAll().where('source', '=', source).where('external_order_id', '=', orderId).executeTakeFirst()

export const findLicenseByKey = (db: Kysely<Database>, key: string) => db.selectFrom('licenses').selectAll().where('key', '=', key).executeTakeFirst()

export const findLicenseById = (db: Kysely<Database>, id: string) => db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirst()

export function publicLicense(l: License) {
  return {
    key: l.key,
    email: l.email,
    products: l.products,
    tier: l.tier,
    status: l.status,
    source: l.source,
    orderId: l.external_order_id,
    claimed: l.claimed_at !== null,
    createdAt: l.created_at.toISOString(),
  }
}
