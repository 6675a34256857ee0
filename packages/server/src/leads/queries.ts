// SQL of the leads list; the caller passes `db` (or its transaction).
import { sql } from 'kysely'
import type { Db } from '../platform/db.js'
import type { Cursor } from '../platform/pagination.js'

/** One page of a product's leads, newest first. */
export async function listLeads(db: Db, licenseId: string, product: string, limit: number, after: Cursor | undefined) {
  let q = db.selectFrom('leads').selectAll().where('license_id', '=', licenseId).where('product', '=', product)
  if (after) q = q.where(sql<boolean>`(created_at, id) < (${new Date(after.t)}, ${after.id}::uuid)`)
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
}
