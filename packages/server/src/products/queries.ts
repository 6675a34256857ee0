// SQL of the product key routes (products/routes.ts): key writes, always scoped by license_id where the handler did
// not already find the key in its license. The caller passes `db` (or its transaction).
import type { Db } from '../platform/db.js'

/** Replaces the allowed origins of a key the caller already found in its license; the row after the change. */
export const setOriginsById = (db: Db, id: string, allowedOrigins: string[]) =>
  db.updateTable('product_keys').set({ allowed_origins: allowedOrigins }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()

/** Replaces a key's allowed origins; the row after the change (throws when the license has no such key). */
export const setKeyOrigins = (db: Db, licenseId: string, id: string, allowedOrigins: string[]) =>
  db
    .updateTable('product_keys')
    .set({ allowed_origins: allowedOrigins })
    .where('id', '=', id)
    .where('license_id', '=', licenseId)
    .returningAll()
    .executeTakeFirstOrThrow()

/**
 * Marks a rotated key as replaced: it expires at `expiresAt`; given `revokedAt` (no grace period) it is revoked
 * at once as well.
 */
export async function retireKey(trx: Db, licenseId: string, id: string, retire: { expiresAt: Date; replacedBy: string; revokedAt?: Date }) {
  await trx
    .updateTable('product_keys')
    .set({
      expires_at: retire.expiresAt,
      replaced_by: retire.replacedBy,
      ...(retire.revokedAt ? { status: 'revoked', revoked_at: retire.revokedAt } : {}),
    })
    .where('id', '=', id)
    .where('license_id', '=', licenseId)
    .execute()
}

/** Revokes a key of the license; the revoked row, or undefined when the license has no such key. */
export const revokeKey = (db: Db, licenseId: string, id: string, now: Date) =>
  db
    .updateTable('product_keys')
    .set({ status: 'revoked', revoked_at: now })
    .where('id', '=', id)
    .where('license_id', '=', licenseId)
    .returningAll()
    .executeTakeFirst()
