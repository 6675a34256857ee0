// Product key rows, always scoped by license_id: another license's key is simply not found.
import type { Kysely } from 'kysely'
import type { Database, ProductKeyRow } from '../platform/db.js'
import { isPublishable, type Product } from '../platform/products.js'
import { generateProductKey, keyLookup, keyStart } from './format.js'

export async function createKey(db: Kysely<Database>, pepper: Buffer, licenseId: string, product: Product, allowedOrigins: string[]) {
  const key = generateProductKey(product)
  const publishable = isPublishable(product)
  const row = await db
    .insertInto('product_keys')
    .values({
      license_id: licenseId,
      product,
      kind: publishable ? 'publishable' : 'secret',
      lookup: keyLookup(pepper, key),
      plaintext: publishable ? key : null,
      start: keyStart(key),
      allowed_origins: allowedOrigins,
      expires_at: null,
      replaced_by: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return { key, row }
}

export const listKeys = (db: Kysely<Database>, licenseId: string) =>
  db.selectFrom('product_keys').selectAll().where('license_id', '=', licenseId).orderBy('created_at', 'desc').execute()

export const findKey = (db: Kysely<Database>, licenseId: string, id: string) =>
  db.selectFrom('product_keys').selectAll().where('license_id', '=', licenseId).where('id', '=', id).executeTakeFirst()

export const activeKeyFor = (db: Kysely<Database>, licenseId: string, product: string) =>
  db
    .selectFrom('product_keys')
    .selectAll()
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .where('status', '=', 'active')
    .where('expires_at', 'is', null)
    .orderBy('created_at', 'desc')
    .executeTakeFirst()

export function publicKey(row: ProductKeyRow, nowMs: number) {
  const expired = row.expires_at !== null && row.expires_at.getTime() <= nowMs
  return {
    id: row.id,
    product: row.product,
    kind: row.kind,
    key: row.plaintext,
    start: row.start,
    allowedOrigins: row.allowed_origins,
    status: row.status === 'active' && expired ? 'expired' : row.status,
    expiresAt: row.expires_at?.toISOString() ?? null,
    replacedBy: row.replaced_by,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  }
}
